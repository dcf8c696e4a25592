"""`runner.py grade CLASS_DIR`: a purpose-made class, graded for real (tests/class_fixtures.py)."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

import class_fixtures as cf
from course.teaching import exercises
from course.teaching.classgrade import learner as learner_mod
from course.teaching.classgrade import report
from course.teaching.classgrade.model import Check, NotebookResult, Problem
from course.cli import main

REPO = Path(__file__).resolve().parents[2]
HIDDEN_SOURCE_LINE = "is the funnel grouped by all three columns?"


def read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def sections(html: str) -> dict[str, BeautifulSoup]:
    soup = BeautifulSoup(html, "html.parser")
    return {s.h2.get_text(): s for s in soup.find_all("section")}


# --------------------------------------------------------------------------- hidden checks

def test_a_hidden_check_is_not_released_but_is_graded_right_after_the_visible_check():
    for path in exercises.EXERCISES_DIR.glob("*.ipynb"):
        assert HIDDEN_SOURCE_LINE not in path.read_text(encoding="utf-8")
    refs = learner_mod.references()
    assert [len(r.hidden) for r in refs.values()] == [0, 0, 1]
    graded, missing = learner_mod.graded_notebook(cf.solved("03_gold.ipynb"), refs["03_gold.ipynb"])
    assert missing == []
    tagged = [(c.metadata.get("tags"), c.source.splitlines()[0]) for c in graded.cells
              if c.cell_type == "code" and exercises.is_check(c)]
    assert tagged == [(["check", "nbval-check-output"], "# Check: the gold tables add up to silver."),
                      (["check", "nbval-check-output", "hidden"],
                       "# Hidden check (instructor's copy only, not in the exercise): one funnel row per "
                       "(event_date, category_code, brand), rates from the counts.")]
    nbformat.validate(graded)
    # a learner who deleted the visible check still gets it, and the hidden one, graded
    learner_nb = cf.solved("03_gold.ipynb")
    learner_nb.cells = [c for c in learner_nb.cells if not exercises.is_check(c)]
    graded, missing = learner_mod.graded_notebook(learner_nb, refs["03_gold.ipynb"])
    assert missing == ["Check: the gold tables add up to silver."]
    assert [c for c in graded.cells if exercises.is_hidden(c)]


# --------------------------------------------------------------------------- the practical

def test_the_practical_is_graded_from_the_learners_bundle_and_history(tmp_path):
    cf.perfect(tmp_path / "ada")
    result = learner_mod.grade_practical(tmp_path / "ada", tmp_path / "work-ada")
    assert (result.status, result.checks_passed, result.checks_total) == ("passed", 5, 5)
    assert result.checks[4].actual.splitlines()[-1] == "the run is now SUCCESS, under the same run id"

    cf.partial(tmp_path / "bea")  # no schedule, no history
    result = learner_mod.grade_practical(tmp_path / "bea", tmp_path / "work-bea")
    assert (result.status, result.checks_passed, result.checks_total) == ("failed", 3, 5)
    assert [(c.title, c.passed) for c in result.checks] == [("own-job", True),
        ("dependent-tasks", True), ("job-cluster", True), ("schedule", False), ("repair", False)]
    assert result.checks[4].message == ("`my-medallion` has never run here: run it with "
                                        f"`python runner.py --job {tmp_path / 'bea' / 'databricks.yml'}`")
    assert result.note == "no run history handed in (history.db)"

    (tmp_path / "cal").mkdir()
    (tmp_path / "cal" / "databricks.yml").write_text(
        "bundle: {name: b}\nresources: {jobs: {x: {tasks: [{task_key: a, depends_on: [{task_key: nope}]}]}}}")
    result = learner_mod.grade_practical(tmp_path / "cal", tmp_path / "work-cal")
    assert result.status == "invalid" and str(tmp_path / "cal" / "databricks.yml") in result.note
    assert "nope" in result.note

    (tmp_path / "dee").mkdir()
    result = learner_mod.grade_practical(tmp_path / "dee", tmp_path / "work-dee")
    assert (result.status, result.note) == ("missing", "no databricks.yml in the folder")


# --------------------------------------------------------------------------- command line

@pytest.mark.parametrize("make, problem", [
    (lambda tmp: tmp / "nowhere", "nowhere: no such folder"),
    (lambda tmp: (tmp / "a-file").write_text("x") and tmp / "a-file", "a-file: not a folder"),
    (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", "empty: no learner folders in it"),
])
def test_a_bad_class_folder_is_exit_2_naming_it(tmp_path, capsys, make, problem):
    path = make(tmp_path)
    assert main(["grade", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and problem in err and str(path) in err


def test_bad_options_are_exit_2(tmp_path):
    (tmp_path / "class" / "ada").mkdir(parents=True)
    for option in (["--jobs", "0"], ["--timeout", "-1"], ["--timeout", "soon"]):
        with pytest.raises(SystemExit) as exit_:
            main(["grade", str(tmp_path / "class"), *option])
        assert exit_.value.code == 2


def test_learners_who_need_no_spark_are_graded_at_once(tmp_path, capsys):
    root = cf.make_class(tmp_path / "class", {"eve": cf.corrupt, "fay": cf.empty})
    out = tmp_path / "report"
    assert main(["grade", str(root), "--out", str(out), "--jobs", "2"]) == 1
    stdout = capsys.readouterr().out
    assert "eve: 01_bronze invalid, 02_silver missing, 03_gold missing, day8_streaming invalid, practical missing" in stdout
    assert read_csv(out / "grades.csv") == [
        ["learner", "notebook", "checks_passed", "checks_total", "status", "seconds"],
        ["eve", "01_bronze.ipynb", "0", "0", "invalid", "0.0"],
        ["eve", "02_silver.ipynb", "0", "0", "missing", "0.0"],
        ["eve", "03_gold.ipynb", "0", "0", "missing", "0.0"],
        ["eve", "day8_streaming.ipynb", "0", "0", "invalid", "0.0"],
        ["eve", "practical", "0", "0", "missing", "0.0"],
        ["fay", "01_bronze.ipynb", "0", "0", "missing", "0.0"],
        ["fay", "02_silver.ipynb", "0", "0", "missing", "0.0"],
        ["fay", "03_gold.ipynb", "0", "0", "missing", "0.0"],
        ["fay", "practical", "0", "0", "missing", "0.0"],
    ]
    eve = sections((out / "report.html").read_text())["eve"]
    assert [p.get_text() for p in eve.find_all("p")] == [
        f"{root / 'eve' / '01_bronze.ipynb'}: not a notebook (Notebook does not appear to be JSON: "
        "'{\"cells\": [ this is not JSON')",
        "not run: 01_bronze.ipynb did not pass",
        "not run: 01_bronze.ipynb did not pass",
        f"{root / 'eve' / 'day8_streaming.ipynb'}: not one of this course's notebooks "
        "(they are 01_bronze.ipynb, 02_silver.ipynb, 03_gold.ipynb)",
        "no databricks.yml in the folder"]
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["eve.md", "fay.md"]
    assert "| fay | missing | missing | missing |  | missing |" in (out / "summary.md").read_text()
    assert list((root / "fay").iterdir()) == []  # the hand-ins are never written to


# --------------------------------------------------------------------------- the report

def test_feedback_never_shows_a_hidden_check_and_the_html_escapes_what_learners_wrote():
    rows = [NotebookResult("<b>ann</b>", "03_gold.ipynb", "failed", 1, 3, 12.0, checks=[
        Check("visible one", True, False, "", "ok\n", "ok\n"),
        Check("visible two", False, False, "AssertionError: expected 214 purchases, got 0: is the event type "
              "spelled `purchase`?", "✓ 214 purchases\n", "AssertionError: expected 214 purchases, got 0"),
        Check("SECRET hidden title", False, True, "AssertionError: SECRET hidden message", "SECRET expected",
              "SECRET actual")]),
        NotebookResult("<b>ann</b>", "01_bronze.ipynb", "error", 0, 1, 3.0,
                       error=Problem(5, "TODO: write", "x = <script>", "NameError", "name 'y' is not defined"))]
    feedback = report.feedback_markdown(rows)
    assert "SECRET" not in feedback
    assert "1 of 3 checks passed (1 of them held by your instructor: 0 passed)." in feedback
    assert "expected 214 purchases, got 0: is the event type spelled `purchase`?" in feedback
    assert "NameError: name 'y' is not defined" in feedback
    html = report.report_html(rows, "class <1>")
    assert "<b>ann</b>" not in html and "&lt;b&gt;ann&lt;/b&gt;" in html and "<script>" not in html
    section = sections(html)["<b>ann</b>"]
    failed = [[td.get_text() for td in tr.find_all("td")] for tr in section.find_all("tr")[1:]]
    assert failed == [
        ["visible two", "AssertionError: expected 214 purchases, got 0: is the event type spelled `purchase`?",
         "✓ 214 purchases\n", "AssertionError: expected 214 purchases, got 0"],
        ["hidden SECRET hidden title", "AssertionError: SECRET hidden message", "SECRET expected", "SECRET actual"]]
    assert "http" not in html.replace("http-equiv", "") and "<script" not in html and "<link" not in html


# --------------------------------------------------------------------------- the whole class, for real

@pytest.mark.slow
def test_a_class_is_graded_into_a_csv_an_html_report_and_feedback(tmp_path):
    # Two classes graded at the same time. The timeout must let an honest notebook finish on a
    # loaded 2-core machine; the endless loop costs exactly its timeout, so it is graded in a
    # class of its own under a short one (only bronze's quick first cells, no Spark job, run
    # before the loop), and its wait overlaps the other learners' work instead of adding to it.
    timeout = float(os.environ.get("DAY7_TEST_GRADE_TIMEOUT", "180"))
    short = float(os.environ.get("DAY7_TEST_LOOP_TIMEOUT", "60"))
    honest = cf.make_class(tmp_path / "class", {"ada": cf.perfect, "cal": cf.partial, "dee": cf.syntax_error,
                                                "eve": cf.corrupt, "fay": cf.empty})
    stuck = cf.make_class(tmp_path / "stuck", {"bob": cf.endless_loop})

    def grade(root: Path, seconds: float) -> tuple[subprocess.Popen, Path]:
        out = root.with_name(root.name + "-report")
        command = [sys.executable, str(REPO / "runner.py"), "grade", str(root), "--out", str(out),
                   "--timeout", f"{seconds:g}", "--jobs", "2"]
        with open(tmp_path / f"{root.name}.log", "w") as log:
            return subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT), out

    graders = [grade(stuck, short), grade(honest, timeout)]
    try:
        for process, _ in graders:
            assert process.wait(timeout=timeout * 8 + 600) == 1, (tmp_path / "stuck.log").read_text() + \
                (tmp_path / "class.log").read_text()
    finally:
        for process, _ in graders:
            if process.poll() is None:  # the test failed or timed out: no grader outlives it
                process.kill()
                process.wait()
    (_, stuck_report), (_, honest_report) = graders
    assert (tmp_path / "stuck.log").read_text().splitlines()[-1] == \
        f"0 of 1 learners passed everything; report: {stuck_report / 'report.html'}"
    assert (tmp_path / "class.log").read_text().splitlines()[-1] == \
        f"1 of 5 learners passed everything; report: {honest_report / 'report.html'}"
    check_class_report(honest_report, timeout)
    check_stuck_report(stuck_report, short)


def check_class_report(out: Path, timeout: float) -> None:
    rows = read_csv(out / "grades.csv")
    assert rows[0] == ["learner", "notebook", "checks_passed", "checks_total", "status", "seconds"]
    seconds = {(r[0], r[1]): float(r[5]) for r in rows[1:]}
    assert [r[:5] for r in rows[1:]] == [
        ["ada", "01_bronze.ipynb", "1", "1", "passed"],
        ["ada", "02_silver.ipynb", "1", "1", "passed"],
        ["ada", "03_gold.ipynb", "2", "2", "passed"],
        ["ada", "practical", "5", "5", "passed"],
        ["cal", "01_bronze.ipynb", "1", "1", "passed"],
        ["cal", "02_silver.ipynb", "1", "1", "passed"],
        ["cal", "03_gold.ipynb", "1", "2", "failed"],
        ["cal", "practical", "3", "5", "failed"],
        ["dee", "01_bronze.ipynb", "0", "1", "error"],
        ["dee", "02_silver.ipynb", "0", "0", "missing"],
        ["dee", "03_gold.ipynb", "0", "0", "missing"],
        ["dee", "practical", "0", "0", "missing"],
        ["eve", "01_bronze.ipynb", "0", "0", "invalid"],
        ["eve", "02_silver.ipynb", "0", "0", "missing"],
        ["eve", "03_gold.ipynb", "0", "0", "missing"],
        ["eve", "day8_streaming.ipynb", "0", "0", "invalid"],
        ["eve", "practical", "0", "0", "missing"],
        ["fay", "01_bronze.ipynb", "0", "0", "missing"],
        ["fay", "02_silver.ipynb", "0", "0", "missing"],
        ["fay", "03_gold.ipynb", "0", "0", "missing"],
        ["fay", "practical", "0", "0", "missing"],
    ]
    assert all(0 < seconds[("ada", n)] < timeout for n in cf.NAMES)

    html = sections((out / "report.html").read_text(encoding="utf-8"))
    assert [h.get_text().rsplit(",", 1)[0] for h in html["ada"].find_all("h3")] == [
        "01_bronze.ipynb: passed, 1 of 1 checks", "02_silver.ipynb: passed, 1 of 1 checks",
        "03_gold.ipynb: passed, 2 of 2 checks", "practical: passed, 5 of 5 checks"]
    assert html["ada"].find("table") is None  # nothing failed

    cal = html["cal"]
    failed = [[td.get_text() for td in tr.find_all("td")] for tr in cal.find_all("table")[0].find_all("tr")[1:]]
    assert failed == [[
        "hidden Hidden check (instructor's copy only, not in the exercise): one funnel row per (event_date, "
        "category_code, brand), rates",  # a title is the first line, up to 120 characters
        "AssertionError: expected 3,483 rows in gold_daily_funnel (one per event_date, category_code and brand of "
        "silver), got 36: is the funnel grouped by all three columns?",
        "✓ gold_daily_funnel: 3,483 rows, one per (event_date, category_code, brand); cart rates match\n",
        "AssertionError: expected 3,483 rows in gold_daily_funnel (one per event_date, category_code and brand of "
        "silver), got 36: is the funnel grouped by all three columns?"]]

    dee = html["dee"]
    exception = dee.find("pre", class_="exception").get_text()
    assert exception.startswith("SyntaxError: expected ':' (") and exception.endswith(".py, line 1)")
    assert dee.find("p").get_text() == ("The learner's code raised in code cell 5 "
                                        "(for frame, table in ((events, EVENTS), (quarantine, QUARANTINE))):")


    feedback = (out / "feedback" / "cal.md").read_text(encoding="utf-8")
    assert "## 03_gold.ipynb: failed" in feedback
    assert "1 of 2 checks passed (1 of them held by your instructor: 0 passed)." in feedback
    assert "funnel" not in feedback and "3,483" not in feedback and "Hidden" not in feedback
    assert "schedule" in feedback  # the practical's own advice is shown
    assert "## 01_bronze.ipynb: error" in (out / "feedback" / "dee.md").read_text(encoding="utf-8")
    assert "passed" in (out / "summary.md").read_text(encoding="utf-8")


def check_stuck_report(out: Path, timeout: float) -> None:
    """The endless loop is stopped at its timeout, and the learner's later notebooks are not run."""
    rows = read_csv(out / "grades.csv")
    seconds = {(r[0], r[1]): float(r[5]) for r in rows[1:]}
    assert [r[:5] for r in rows[1:]] == [
        ["bob", "01_bronze.ipynb", "0", "1", "timeout"],
        ["bob", "02_silver.ipynb", "0", "0", "missing"],
        ["bob", "03_gold.ipynb", "0", "0", "missing"],
        ["bob", "practical", "0", "0", "missing"],
    ]
    assert timeout <= seconds[("bob", "01_bronze.ipynb")] < timeout + 30

    html = sections((out / "report.html").read_text(encoding="utf-8"))
    assert html["bob"].find("p").get_text() == f"stopped after {timeout:g} s, in code cell 5 (while True:)"


def test_statuses_from_nbval_records_and_a_timeout_in_a_hidden_check_names_no_hidden_title():
    ref = learner_mod.references()["03_gold.ipynb"]
    graded, _ = learner_mod.graded_notebook(cf.solved("03_gold.ipynb"), ref)
    code = [c for c in graded.cells if c.cell_type == "code"]
    hidden_at = next(i for i, c in enumerate(code) if exercises.is_hidden(c))
    ok = [{"cell": i, "passed": True, "ename": "", "evalue": "", "traceback": "", "actual": ""} for i in range(len(code))]

    def result(records, timed_out=False):
        return learner_mod.result_of("ann", "03_gold.ipynb", graded, [], records, 1.0, timed_out, 30)

    assert (result(ok).status, result(ok).checks_passed, result(ok).checks_total) == ("passed", 2, 2)
    stopped = result(ok[:hidden_at], timed_out=True)
    assert stopped.status == "timeout"
    assert stopped.note == f"stopped after 30 s, in code cell {hidden_at} (a check held by your instructor)"
    assert "Hidden" not in report.feedback_markdown([stopped])
    raised = [dict(r) for r in ok]
    raised[4].update(passed=False, ename="NotImplementedError", evalue="TODO: group")
    assert (result(raised).status, result(raised).error.evalue) == ("error", "TODO: group")
    died = result(ok[:3])
    assert died.status == "error" and died.note.startswith("the kernel stopped after 3 of")
