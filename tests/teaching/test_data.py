"""course.teaching.data: the events schema and the generator's formats, quirks and determinism."""
from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from course.teaching import data

REPO = Path(__file__).resolve().parents[2]
TIME_RE = re.compile(rb"2019-1[01]-\d\d \d\d:\d\d:\d\d UTC")
PRICE_RE = re.compile(rb"\d+\.\d\d")
UUID_RE = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
# The committed samples and the commands in datasets/README.md that made them.
SAMPLES = {
    "2019-Oct-sample.csv": "--rows 14000 --out datasets/events/2019-Oct-sample.csv",
    "2019-Nov-sample-noheader.csv": "--rows 1000 --seed 11 --start 2019-11-01 --no-header --lf "
                                    "--out datasets/events/2019-Nov-sample-noheader.csv",
}


def split(raw: bytes, eol: bytes = b"\r\n", header: bool = True):
    """File bytes -> (header line or None, complete rows as field lists, last partial line)."""
    lines = raw.split(eol)
    head = lines.pop(0) if header else None
    last = lines.pop()  # the truncated line, or b"" when the file ends with a line end
    return head, [line.split(b",") for line in lines], last


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """50,000 rows with quirks, generated once for the proportion tests."""
    path = tmp_path_factory.mktemp("gen") / "events.csv"
    report = data.generate(path, 50_000)
    return path, report, split(path.read_bytes())


# ---------------------------------------------------------------------------- schema

def test_schema_constants_agree():
    assert data.COLUMNS == ("event_time", "event_type", "product_id", "category_id", "category_code",
                            "brand", "price", "user_id", "user_session")
    assert data.EVENT_TYPES == ("view", "cart", "purchase")
    ddl = [part.strip().split(" ", 1) for part in re.split(r",(?![^(]*\))", data.SPARK_SCHEMA_DDL)]
    assert tuple(name for name, _ in ddl) == data.COLUMNS
    types = dict(ddl)
    assert types["category_id"] == "BIGINT" and 2053013552326770905 < 2**63 - 1
    assert types["price"] == "DECIMAL(10,2)"
    assert tuple(data.PANDAS_DTYPES) == data.COLUMNS


def test_import_stays_light():
    code = "import sys, course.teaching.data; print(sorted({'numpy', 'pandas', 'pyspark'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ----------------------------------------------------------------------- determinism

def test_same_arguments_same_bytes_other_seed_other_bytes(tmp_path):
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    data.generate(a, 3000, seed=3)
    data.generate(b, 3000, seed=3)
    data.generate(c, 3000, seed=4)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_committed_samples_are_what_the_documented_commands_write(tmp_path):
    readme = (REPO / "datasets" / "README.md").read_text()
    assert data.sample_path() == REPO / "datasets" / "events" / "2019-Oct-sample.csv"
    for name, args in SAMPLES.items():
        assert f"python -m course.teaching.data {args}" in readme
        committed = REPO / "datasets" / "events" / name
        assert committed.stat().st_size < 2_000_000
        argv = args.split()
        argv[argv.index("--out") + 1] = str(tmp_path / name)
        assert data.main(argv) == 0
        assert (tmp_path / name).read_bytes() == committed.read_bytes(), f"{name}: regenerate it"


# --------------------------------------------------------------------------- format

def test_header_crlf_and_no_final_newline(big):
    path, _, (head, rows, last) = big
    raw = path.read_bytes()
    assert head == ",".join(data.COLUMNS).encode()
    assert raw.count(b"\n") == raw.count(b"\r\n") == len(rows) + 1
    assert not raw.endswith(b"\n")
    assert all(len(r) == 9 for r in rows)


def test_truncated_last_line_with_quirks_only(tmp_path, big):
    _, report, (_, rows, last) = big
    fields = last.split(b",")
    assert len(fields) == 8 and report.truncated_lines == 1
    assert TIME_RE.fullmatch(fields[0]) and 1 <= len(fields[7]) < 9  # user_id cut short

    clean = tmp_path / "clean.csv"
    report = data.generate(clean, 5000, quirks=False)
    raw = clean.read_bytes()
    _, rows, last = split(raw)
    assert raw.endswith(b"\r\n") and last == b"" and len(rows) == 5000
    assert report.truncated_lines == report.duplicates == report.zero_prices == 0
    assert all(float(r[6]) > 0 for r in rows)
    assert len(set(map(tuple, rows))) == len(rows)


def test_fields_look_like_the_real_files(big):
    _, _, (_, rows, _) = big
    for r in rows[:: 7]:
        assert TIME_RE.fullmatch(r[0]) and r[1].decode() in data.EVENT_TYPES
        assert PRICE_RE.fullmatch(r[6]) and UUID_RE.fullmatch(r[8])
        assert len(r[3]) == 19 and 7 <= len(r[2]) <= 8 and len(r[7]) == 9
        assert r[4] == b"" or re.fullmatch(rb"[a-z_]+(\.[a-z_]+)+", r[4])
    assert all(PRICE_RE.fullmatch(r[6]) for r in rows)


def test_timestamps_sorted_and_within_days(tmp_path, big):
    _, _, (_, rows, _) = big
    times = [r[0] for r in rows]
    assert times == sorted(times)
    assert times[0] >= b"2019-10-01 00:00:00" and times[-1] < b"2019-11-01"
    path = tmp_path / "nov.csv"
    data.generate(path, 2000, start="2019-11-01", days=2)
    times = [r[0] for r in split(path.read_bytes())[1]]
    assert times == sorted(times) and times[0] >= b"2019-11-01" and times[-1] < b"2019-11-03"


# ---------------------------------------------------------------------- proportions

def test_quirk_proportions_match_the_real_head(big):
    _, report, (_, rows, _) = big
    n = len(rows)
    assert n == report.rows == 50_000
    assert 0.12 < sum(r[5] == b"" for r in rows) / n < 0.165          # real 14.2 %
    assert 0.30 < sum(r[4] == b"" for r in rows) / n < 0.36           # real 33.0 %
    assert 0.0003 < sum(r[6] == b"0.00" for r in rows) / n < 0.0025   # real 0.11 %
    assert 3 <= report.duplicates <= 40                               # real 5 in 17,434
    types = Counter(r[1] for r in rows)
    assert 0.94 < types[b"view"] / n < 0.98
    assert 0.015 < types[b"cart"] / n < 0.03
    assert 0.01 < types[b"purchase"] / n < 0.025
    assert types[b"purchase"] <= types[b"cart"] <= types[b"view"]


def test_duplicates_are_verbatim_copies_right_after_the_row(big):
    path, report, _ = big
    lines = path.read_bytes().split(b"\r\n")[1:-1]
    repeats = [i for i in range(1, len(lines)) if lines[i] == lines[i - 1]]
    assert len(repeats) == report.duplicates > 0
    assert len(set(lines)) == len(lines) - report.duplicates  # no copy anywhere else


def test_funnel_carts_and_purchases_follow_a_view_in_the_session(big):
    _, _, (_, rows, _) = big
    seen, users, same_second = set(), {}, 0
    last_view = {}
    for r in rows:
        key = (r[8], r[2])
        assert users.setdefault(r[8], r[7]) == r[7]  # a session belongs to one user
        if r[1] == b"view":
            seen.add(key)
            last_view[key] = r[0]
        else:
            assert key in seen, "cart or purchase of a product the session never viewed"
            same_second += r[1] == b"cart" and last_view[key] == r[0]
    assert same_second >= 1  # view/cart pairs sharing (user_session, event_time, product_id)


def test_report_matches_the_file(big):
    path, report, (_, rows, _) = big
    types = Counter(r[1] for r in rows)
    assert (report.views, report.carts, report.purchases) == (types[b"view"], types[b"cart"], types[b"purchase"])
    assert report.zero_prices == sum(r[6] == b"0.00" for r in rows)
    assert report.empty_brand == sum(r[5] == b"" for r in rows)
    assert report.empty_category_code == sum(r[4] == b"" for r in rows)
    assert report.bytes == path.stat().st_size
    assert report.first_event == rows[0][0].decode() and report.last_event == rows[-1][0].decode()


def test_pandas_reads_the_declared_types(big):
    pd = pytest.importorskip("pandas")
    path, _, _ = big
    df = pd.read_csv(path, dtype=data.PANDAS_DTYPES)
    assert tuple(df.columns) == data.COLUMNS and len(df) == 50_001  # with the truncated line
    assert str(df.category_id.dtype) == "int64" and df.category_id.min() > 2 * 10**18
    ts = pd.to_datetime(df.event_time, format="%Y-%m-%d %H:%M:%S UTC", utc=True)
    assert ts.is_monotonic_increasing and ts.notna().all()
    assert df.user_session.isna().sum() == 1 and df.brand.isna().mean() > 0.1
    assert ((df.price * 100 - (df.price * 100).round()).abs() < 1e-6).all()  # whole cents


# -------------------------------------------------------------------- layout options

def test_several_files_are_consecutive_slices_of_one_stream(tmp_path):
    single = tmp_path / "one.csv"
    data.generate(single, 3000, seed=5)
    folder = tmp_path / "parts"
    data.generate(folder, 3000, seed=5, files=4)   # a stale part-00003 must go next time
    report = data.generate(folder, 3000, seed=5, files=3)
    parts = sorted(folder.iterdir())
    assert [p.name for p in parts] == ["part-00000.csv", "part-00001.csv", "part-00002.csv"]
    assert report.files == 3 and report.truncated_lines == 3 and report.rows == 3000
    pieces = [split(p.read_bytes()) for p in parts]
    assert all(head == ",".join(data.COLUMNS).encode() for head, _, _ in pieces)
    assert [len(rows) for _, rows, _ in pieces] == [1000, 1000, 1000]
    assert sum((rows for _, rows, _ in pieces), []) == split(single.read_bytes())[1]
    for (_, _, cut), (_, nxt, _) in zip(pieces, pieces[1:]):
        assert b",".join(nxt[0]).startswith(cut)  # each file is cut inside the next one's first row


def test_no_header_and_lf(tmp_path):
    path = tmp_path / "nov.csv"
    data.generate(path, 500, header=False, crlf=False)
    raw = path.read_bytes()
    assert b"\r" not in raw and TIME_RE.match(raw)
    _, rows, last = split(raw, b"\n", header=False)
    assert len(rows) == 500 and len(last.split(b",")) == 8


def test_progress_is_reported_up_to_the_total(tmp_path):
    calls = []
    data.generate(tmp_path / "p.csv", 250_000, quirks=False, progress=lambda d, t: calls.append((d, t)))
    assert len(calls) >= 2 and calls[-1] == (250_000, 250_000)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_an_interrupted_run_leaves_no_files(tmp_path):
    def stop(done, total):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        data.generate(tmp_path / "parts", 250_000, files=2, progress=stop)
    assert list((tmp_path / "parts").iterdir()) == []


@pytest.mark.parametrize("kwargs, message", [
    ({"rows": 0}, "rows must be at least 1"),
    ({"rows": 10, "files": 11}, "files must be between 1 and rows"),
    ({"rows": 10, "days": 0}, "days must be at least 1"),
    ({"rows": 10, "seed": -1}, "seed must be 0 or more"),
    ({"rows": 10, "start": "October"}, "start must be a date"),
])
def test_generate_rejects_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.generate(tmp_path / "x.csv", **kwargs)
    assert not any(tmp_path.iterdir())


# ------------------------------------------------------------------------------- CLI

def test_cli_writes_and_prints_one_summary_line(tmp_path, capsys):
    out = tmp_path / "sub" / "e.csv"
    assert data.main(["--rows", "1200", "--out", str(out), "--seed", "2", "--days", "3", "--no-quirks"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("\n") == 1 and "wrote 1,200 rows" in captured.out
    assert captured.err == ""  # no progress when stderr is not a terminal
    assert out.read_bytes().endswith(b"\r\n")


@pytest.mark.parametrize("argv, message", [
    (["--rows", "0", "--out", "x.csv"], "rows must be at least 1"),
    (["--rows", "ten", "--out", "x.csv"], "invalid int value"),
    (["--rows", "10"], "--out"),
    (["--rows", "10", "--out", "x", "--files", "0"], "files must be between"),
    (["--rows", "10", "--out", "x.csv", "--days", "-1"], "days must be at least 1"),
    (["--rows", "10", "--out", "x.csv", "--start", "2019-13-01"], "start must be a date"),
    (["--rows", "10", "--out", "x.csv", "--bogus"], "unrecognized arguments"),
    (["--rows", "10", "--out", "."], "is a folder"),
])
def test_cli_bad_arguments_exit_2_with_a_message(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert data.main(argv) == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_module_entry_point_exit_code(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "course.teaching.data", "--rows", "-5", "--out", str(tmp_path / "x.csv")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "rows must be at least 1" in bad.stderr
