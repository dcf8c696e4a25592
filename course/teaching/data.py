"""The e-commerce events schema and a deterministic generator of look-alike files.

The course data is the Kaggle / REES46 "eCommerce behavior data from multi category
store" event log. Learners' clones do not have it, so the kit writes files with the
same columns, formats and quirks: `generate()` streams any number of rows in
constant memory and is byte-for-byte deterministic for the same arguments.

Importing this module is cheap (no numpy, no pyspark): notebooks read the schema
constants at the top of every run.

    python -m course.teaching.data --rows 1000000 --out /tmp/events.csv
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import math
import os
import sys
import time
from pathlib import Path

# --------------------------------------------------------------------------- schema

COLUMNS = (
    "event_time",     # "2019-10-01 00:00:04 UTC"
    "event_type",     # view / cart / purchase
    "product_id",
    "category_id",    # 19 digits, still below 2**63
    "category_code",  # dotted taxonomy, often empty
    "brand",          # lower case, often empty
    "price",          # two decimals, sometimes 0.00
    "user_id",
    "user_session",   # UUID
)
# The multi-category store's Oct/Nov 2019 files hold these three only; later
# months (and the sibling cosmetics data set) add remove_from_cart.
EVENT_TYPES = ("view", "cart", "purchase")

# Bronze keeps event_time as text (it ends in " UTC"); Silver parses it with
# to_timestamp(event_time, EVENT_TIME_FORMAT), whose `z` reads the zone: a quoted
# 'UTC' literal would silently use the session time zone instead. Ids are BIGINT:
# category_id needs 64 bits, the others leave room for later months. Empty fields
# read as NULL; the truncated last line reads as a row with a short user_id and a
# NULL user_session.
SPARK_SCHEMA_DDL = (
    "event_time STRING, event_type STRING, product_id BIGINT, category_id BIGINT, "
    "category_code STRING, brand STRING, price DECIMAL(10,2), user_id BIGINT, "
    "user_session STRING"
)
EVENT_TIME_FORMAT = "yyyy-MM-dd HH:mm:ss z"  # Spark datetime pattern
PANDAS_DTYPES = {
    "event_time": "string", "event_type": "string", "product_id": "int64",
    "category_id": "int64", "category_code": "string", "brand": "string",
    "price": "float64", "user_id": "int64", "user_session": "string",
}

from course.teaching.data_shape import (  # noqa: E402 (after the schema it describes)
    CHUNK_ROWS, DUP_EXTRA, DUP_GROUP_RATE, EVENTS_PER_USER, GAP_MEDIAN_S, GAP_SIGMA, P_BUY_AFTER_CART,
    P_BUY_AFTER_VIEW, P_CART, REPEAT_VIEW, SAME_CATEGORY, SAME_SECOND_CART, SESSION_NB, catalog, pad,
)

HEADER = ",".join(COLUMNS)


@dataclasses.dataclass
class GenerateReport:
    """What `generate` wrote. Counts are over complete rows (truncated lines apart)."""
    path: str
    files: int
    rows: int
    duplicates: int           # extra verbatim copies
    zero_prices: int
    truncated_lines: int
    bytes: int
    seconds: float
    views: int = 0
    carts: int = 0
    purchases: int = 0
    empty_brand: int = 0
    empty_category_code: int = 0
    first_event: str = ""
    last_event: str = ""

    def summary(self) -> str:
        rate = self.rows / self.seconds if self.seconds else 0.0
        return (f"wrote {self.rows:,} rows to {self.path} ({self.files} file"
                f"{'s' if self.files > 1 else ''}, {self.bytes / 1e6:,.1f} MB) in "
                f"{self.seconds:.1f} s ({rate:,.0f} rows/s); duplicates {self.duplicates:,}, "
                f"zero prices {self.zero_prices:,}, truncated lines {self.truncated_lines}")


def sample_path() -> Path:
    """The committed sample (with quirks) that ships in `datasets/events/`."""
    return Path(__file__).resolve().parents[2] / "datasets" / "events" / "2019-Oct-sample.csv"


def default_days(rows: int, start: str = "2019-10-01") -> int:
    """The rest of the start's month when there are rows enough, else ~200 rows a day."""
    first = dt.date.fromisoformat(start)
    month_days = ((first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - first).days
    return max(1, min(month_days, rows // 200))


# --------------------------------------------------------------------------- catalog

@functools.lru_cache(maxsize=4)
def _time_tables(first_day: dt.date, days: int):
    """'YYYY-MM-DD ' per day and 'HH:MM:SS UTC,' per second of the day, as byte tables."""
    import numpy as np

    day_text = b"".join((first_day + dt.timedelta(d)).isoformat().encode() + b" " for d in range(days + 1))
    day_tab = np.frombuffer(day_text, np.uint8).reshape(days + 1, 11)
    s = np.arange(86400)
    digits = np.stack([s // 36000, s // 3600 % 10, s // 600 % 6, s // 60 % 10, s // 10 % 6, s % 10], 1)
    hms = np.empty((86400, 13), np.uint8)
    hms[:, [0, 1, 3, 4, 6, 7]] = digits + 48
    hms[:, [2, 5]] = ord(":")
    hms[:, 8:] = np.frombuffer(b" UTC,", np.uint8)
    return day_tab, hms


def _session_text(np, rng, n: int, users: int, eol: bytes):
    """Per session the row tail 'user_id,uuid<eol>' as an (n, 46 + len(eol)) table."""
    # Users: a bijective scramble of an index into the real 512,000,000-555,500,000
    # range; squaring a uniform makes low indices (heavy users) come back more often.
    idx = (rng.random(n) ** 2 * users).astype(np.int64)
    uid = 512_000_000 + (idx * 1_000_003 + 7_654_321) % 43_500_000
    out = np.empty((n, 46 + len(eol)), np.uint8)
    out[:, :9] = uid[:, None] // 10 ** np.arange(8, -1, -1) % 10 + 48
    out[:, 9] = ord(",")
    raw = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    raw[:, 6] = raw[:, 6] & 0x0F | 0x40                     # UUID version 4
    raw[:, 8] = raw[:, 8] & 0x3F | 0x80                     # RFC 4122 variant
    hexd = np.frombuffer(b"0123456789abcdef", np.uint8)
    nib = np.empty((n, 32), np.uint8)
    nib[:, 0::2], nib[:, 1::2] = hexd[raw >> 4], hexd[raw & 15]
    out[:, 10:46] = ord("-")
    for a, b, c in ((0, 8, 10), (8, 12, 19), (12, 16, 24), (16, 20, 29), (20, 32, 34)):
        out[:, c:c + b - a] = nib[:, a:b]              # 8-4-4-4-12 hex digits
    out[:, 46:] = np.frombuffer(eol, np.uint8)
    return out


def _events(seed: int, total: int, days: int, first_day: dt.date, quirks: bool, eol: bytes):
    """Yield blocks of time-sorted rows: (row bytes, row ends, event types, zero, no_brand,
    no_code, is_duplicate). Blocks follow the day; the last yields what is left."""
    import numpy as np

    cdf, cat_lo, cat_hi, cat_cdf, segments, seg_len, zero, no_brand, no_code = catalog(quirks)
    day_tab, hms = _time_tables(first_day, days)
    et_tab, et_len = pad([t.encode() + b"," for t in EVENT_TYPES])
    span = days * 86400
    # Traffic follows the day: peak at 15:00 UTC (18:00 in Moscow), a quarter of
    # that at 03:00 UTC (an assumption; the head only shows the night).
    minutes = np.arange(days * 1440)
    rate = 0.6 + 0.35 * np.cos(2 * np.pi * (minutes % 1440 / 1440 - 15 / 24))
    cum = np.concatenate([[0.0], np.cumsum(rate)])
    cum /= cum[-1]
    edges = np.arange(len(cum)) * 60.0
    blocks = max(1, math.ceil(total / CHUNK_ROWS))
    q = np.linspace(0.0, 1.0, blocks + 1)
    planned = np.diff(np.round(q * total).astype(np.int64))
    bound = np.interp(q, cum, edges)
    users = max(64, total // EVENTS_PER_USER)
    mu = np.log(np.array(GAP_MEDIAN_S, float))
    carry = None

    for k in range(blocks):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, k)))
        n = int(planned[k])
        # Sessions: draw lengths until they cover n events, trim the last one.
        length = 1 + rng.negative_binomial(*SESSION_NB, n // 3 + 16)
        while length.sum() < n:
            length = np.concatenate([length, 1 + rng.negative_binomial(*SESSION_NB, n // 3 + 16)])
        ends = np.cumsum(length)
        s = int(np.searchsorted(ends, n)) + 1
        length = length[:s]
        length[-1] -= int(ends[s - 1]) - n
        first = np.zeros(n, bool)
        head = np.concatenate([[0], np.cumsum(length)[:-1]])
        first[head] = True
        sess = np.repeat(np.arange(s), length)

        # Funnel: a later event may cart the product just seen; a purchase follows a
        # cart (often) or a view (rarely). Carts and purchases reuse the product.
        cart = ~first & (rng.random(n) < P_CART)
        after_cart = np.roll(cart, 1) & ~first
        buy = ~first & ~cart & (rng.random(n) < np.where(after_cart, P_BUY_AFTER_CART, P_BUY_AFTER_VIEW))
        etype = cart.astype(np.int8) + 2 * buy.astype(np.int8)

        # Products: mostly the session's category, by popularity; some views re-open
        # the previous product. Copies are resolved with a running maximum of sources.
        scat = np.searchsorted(cat_cdf, rng.random(s), side="right").clip(0, len(cat_cdf) - 1)
        ecat = scat[sess]
        u = rng.random(n)
        local = rng.random(n) < SAME_CATEGORY
        u = np.where(local, cat_lo[ecat] + u * (cat_hi[ecat] - cat_lo[ecat]), u)
        prod = np.searchsorted(cdf, u, side="right").clip(0, len(cdf) - 1)
        copy = ~first & ((etype > 0) | (rng.random(n) < REPEAT_VIEW))
        src = np.maximum.accumulate(np.where(copy, 0, np.arange(n)))
        prod = prod[src]

        # Times: session start follows the day's traffic; gaps are log-normal per type.
        start = np.interp(rng.uniform(q[k], q[k + 1], s), cum, edges)
        gap = np.exp(mu[etype] + GAP_SIGMA * rng.standard_normal(n)).clip(1, 1800)
        gap[first | ((etype == 1) & (rng.random(n) < SAME_SECOND_CART))] = 0
        off = np.cumsum(gap)
        off -= np.repeat(off[head], length)
        last = off[np.cumsum(length) - 1]
        squeeze = np.where(start + last > span - 1, (span - 1 - start) / np.maximum(last, 1), 1.0)
        t = np.floor(np.repeat(start, length) + off * squeeze[sess]).astype(np.int64)
        tail = _session_text(np, rng, s, users, eol)[sess]

        if carry is not None:
            t, etype, prod, tail = (np.concatenate([a, b]) for a, b in zip(carry, (t, etype, prod, tail)))
        order = np.argsort(t, kind="stable")
        t, etype, prod, tail = t[order], etype[order], prod[order], tail[order]
        cut = len(t) if k == blocks - 1 else int(np.searchsorted(t, bound[k + 1]))
        carry = t[cut:], etype[cut:], prod[cut:], tail[cut:]
        t, etype, prod, tail = t[:cut], etype[:cut], prod[:cut], tail[:cut]

        dup = np.zeros(cut, bool)
        if quirks and cut:
            # Some rows come again verbatim, right after themselves (same second).
            extra = np.where(rng.random(cut) < DUP_GROUP_RATE, rng.choice(DUP_EXTRA, cut), 0)
            take = np.repeat(np.arange(cut), 1 + extra)
            dup = np.r_[False, take[1:] == take[:-1]]
            t, etype, prod, tail = t[take], etype[take], prod[take], tail[take]

        # Rows as bytes: a padded (rows, width) table squeezed by a mask of real bytes.
        m, pw, tw = len(t), segments.shape[1], tail.shape[1]
        table = np.empty((m, 24 + 9 + pw + tw), np.uint8)
        table[:, :11] = day_tab[t // 86400]
        table[:, 11:24] = hms[t % 86400]
        table[:, 24:33] = et_tab[etype]
        table[:, 33:33 + pw] = segments[prod]
        table[:, 33 + pw:] = tail
        keep = np.ones(table.shape, bool)
        keep[:, 24:33] = np.arange(9) < et_len[etype][:, None]
        keep[:, 33:33 + pw] = np.arange(pw) < seg_len[prod][:, None]
        row_ends = np.cumsum(24 + et_len[etype] + seg_len[prod] + tw)
        text = table[keep]
        del table, keep, tail  # hold only what the caller needs while suspended
        yield text, row_ends, etype, zero[prod], no_brand[prod], no_code[prod], dup


# ---------------------------------------------------------------------------- writer

def generate(path, rows: int, seed: int = 7, days: int | None = None, start: str = "2019-10-01",
             quirks: bool = True, header: bool = True, crlf: bool = True, files: int = 1,
             progress=None) -> GenerateReport:
    """Write `rows` events as CSV like the real monthly files; same arguments, same bytes.

    - Events are sorted by event_time and spread over `days` days from `start`
      (default: `default_days(rows, start)`).
    - `files` > 1 makes `path` a folder of part-00000.csv ... (consecutive time
      slices, each with its own header and quirks).
    - quirks=True (as the real head): verbatim duplicate rows, zero prices, and after
      the last complete row a line cut short (8 fields, no line end) that repeats the
      start of the row that would come next. quirks=False: none of those, and the
      file ends with a line end. Empty brand / category_code are data, not quirks.
    - `progress(rows_done, rows_total)` is called after each block.
    """
    rows, seed, files = int(rows), int(seed), int(files)
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    if seed < 0:
        raise ValueError(f"seed must be 0 or more, got {seed}")
    if files < 1 or files > rows:
        raise ValueError(f"files must be between 1 and rows ({rows}), got {files}")
    try:
        first_day = dt.date.fromisoformat(str(start))
    except ValueError:
        raise ValueError(f"start must be a date like 2019-10-01, got {start!r}") from None
    days = default_days(rows, first_day.isoformat()) if days is None else int(days)
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")

    import numpy as np

    began = time.perf_counter()
    eol = b"\r\n" if crlf else b"\n"
    target = Path(path)
    if files == 1:
        if target.is_dir():
            raise ValueError(f"{target} is a folder; give a file name (or --files > 1)")
        targets = [target]
        target.parent.mkdir(parents=True, exist_ok=True)
    else:
        target.mkdir(parents=True, exist_ok=True)
        targets = [target / f"part-{i:05d}.csv" for i in range(files)]
        for old in target.glob("part-[0-9][0-9][0-9][0-9][0-9].csv"):
            if old not in targets:                      # left by a bigger earlier run
                old.unlink()
    # File f holds rows [bounds[f], bounds[f+1]). One row more is generated so that
    # every file can end on a cut-short copy of the row that follows it.
    bounds = [rows * i // files for i in range(files + 1)]
    report = GenerateReport(str(target), files, rows, 0, 0, 0, 0, 0.0)
    cutter = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2,)))
    stream = _events(seed, rows + 1, days, first_day, quirks, eol)
    temps = [t.with_name(f".{t.name}.tmp") for t in targets]  # moved in place when whole
    done, f, out = 0, 0, None
    try:
        for buf, ends, etype, zero, no_brand, no_code, dup in stream:
            starts = np.r_[0, ends[:-1]]
            i = 0
            while i < len(ends) and f < files:
                if out is None:
                    out = open(temps[f], "wb", buffering=1 << 20)
                    if header:
                        out.write(HEADER.encode() + eol)
                j = min(len(ends), i + bounds[f + 1] - done)
                if j > i:
                    out.write(buf[starts[i]:ends[j - 1]])
                    counts = np.bincount(etype[i:j], minlength=3)
                    report.views += int(counts[0])
                    report.carts += int(counts[1])
                    report.purchases += int(counts[2])
                    report.zero_prices += int(zero[i:j].sum())
                    report.empty_brand += int(no_brand[i:j].sum())
                    report.empty_category_code += int(no_code[i:j].sum())
                    report.duplicates += int(dup[i:j].sum())
                    report.first_event = report.first_event or bytes(buf[starts[i]:starts[i] + 23]).decode()
                    report.last_event = bytes(buf[starts[j - 1]:starts[j - 1] + 23]).decode()
                    done, i = done + j - i, j
                if done == bounds[f + 1] and i < len(ends):
                    if quirks:  # 7 whole fields and part of user_id, no line end
                        nxt = bytes(buf[starts[i]:ends[i]])
                        seventh = [p for p, ch in enumerate(nxt) if ch == 44][6]
                        out.write(nxt[:seventh + 1 + int(cutter.integers(1, 9))])
                        report.truncated_lines += 1
                    out.close()
                    out, f = None, f + 1
            if progress is not None:
                progress(done, rows)
            if f == files:
                break
        if f < files:
            raise RuntimeError("the event stream ended early")  # cannot happen: one row spare
        for tmp, final in zip(temps, targets):
            os.replace(tmp, final)
    finally:
        stream.close()
        if out is not None:
            out.close()
        for tmp in temps:  # what a failed or interrupted run leaves: no half files
            tmp.unlink(missing_ok=True)
    report.bytes = sum(t.stat().st_size for t in targets)
    report.seconds = time.perf_counter() - began
    return report


# ------------------------------------------------------------------------------- CLI

def _progress_line(stream):
    """One self-overwriting line on a terminal, at most ~5 updates a second."""
    began, last = time.perf_counter(), [0.0]

    def show(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] < 0.2 and done < total:
            return
        last[0] = now
        rate = done / max(now - began, 1e-9)
        stream.write(f"\r  {done:>13,} / {total:,} rows  {done / total:4.0%}  {rate:,.0f} rows/s ")
        stream.flush()
    return show


def main(argv: list[str] | None = None) -> int:
    """`python -m course.teaching.data --rows N --out PATH ...`; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m course.teaching.data",
        description="Write e-commerce events shaped like the Kaggle REES46 files.")
    parser.add_argument("--rows", type=int, required=True, help="complete rows to write")
    parser.add_argument("--out", required=True, help="CSV file, or folder when --files > 1")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--days", type=int, help="days to spread over (default: a month, fewer for small runs)")
    parser.add_argument("--start", default="2019-10-01", help="first day (default 2019-10-01)")
    parser.add_argument("--files", type=int, default=1, help="split into this many part files")
    parser.add_argument("--no-quirks", action="store_true", help="no duplicates, zero prices or truncated line")
    parser.add_argument("--no-header", action="store_true", help="no header line (like the real Nov file)")
    parser.add_argument("--lf", action="store_true", help="LF line ends instead of CRLF")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage and the error
        return int(exc.code or 0)
    tty = sys.stderr.isatty()
    try:
        report = generate(args.out, args.rows, seed=args.seed, days=args.days, start=args.start,
                          quirks=not args.no_quirks, header=not args.no_header, crlf=not args.lf,
                          files=args.files, progress=_progress_line(sys.stderr) if tty else None)
    except ValueError as exc:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{parser.prog}: error: cannot write {args.out}: {exc}", file=sys.stderr)
        return 1
    if tty:
        sys.stderr.write("\r\033[K")
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
