"""Grading one learner, in a process of its own: ``python -m course.teaching.classgrade.learner FOLDER WORKDIR``.

The process points ``DAY7_HOME`` at ``WORKDIR/home`` (its own warehouse, volumes, runs and
history), starts its own job cluster (a Spark Connect server whose warehouse is that folder),
and runs the learner's notebooks in order, each in a ``pytest --nbval-lax`` subprocess of its
own with a wall-clock timeout; the notebooks are copies in ``WORKDIR``, with the reference
check cells (the released ones and the instructor's hidden ones) in place of the learner's.
It writes its results to ``WORKDIR/result.json`` (a list of `NotebookResult` dicts).

Order and cascade: ``01_bronze``, ``02_silver``, ``03_gold``. A notebook that was handed in and
did not pass stops the learner's later notebooks (status ``missing``, "not run"). One that was
not handed in runs as its solution, ungraded, so a later one can still be graded alone.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from course.teaching.classgrade.model import (ERROR, FAILED, INVALID, MISSING, PASSED, PRACTICAL, TIMEOUT, Check,
                                     NotebookResult, Problem)
from course.teaching.classgrade.plugin import RESULTS_ENV, output_text
from course.platform import lifeline

JOB_FILE = "databricks.yml"                       # the practical: the learner's bundle
HISTORY_FILES = ("history.db", ".day7/history.db")  # and their run history, if they handed it in
SETUP_TIMEOUT = 300                               # a solution run before a graded notebook


@dataclass
class Reference:
    name: str
    exercise: object                        # the released exercise (public check cells)
    solution: object                        # the instructor's copy
    hidden: list = field(default_factory=list)  # [(visible checks before it, cell)], solution order


def _exercises():
    from course.teaching import exercises  # nbformat and friends: only in the processes that grade

    return exercises


def references(solutions_dir: Path | None = None) -> dict[str, Reference]:
    """{released name: Reference}, in the order the notebooks run."""
    exercises = _exercises()
    nbf = exercises.nbformat_module()
    folder = Path(solutions_dir or exercises.SOLUTIONS_DIR)
    result = {}
    for name, exercise in sorted(exercises.exercises_for(folder).items()):
        solution = nbf.read(folder / name, as_version=4)
        hidden, visible = [], 0
        for cell in solution.cells:
            if exercises.is_hidden(cell):
                hidden.append((visible, cell))
            elif exercises.is_check(cell):
                visible += 1
        result[name] = Reference(name, exercise, solution, hidden)
    return result


def title(cell) -> str:
    lines = "".join(cell.get("source", "")).splitlines()
    for line in [l for l in lines if l.strip().startswith("# TODO:")] or lines:
        if line.strip():
            return line.strip().lstrip("#").strip()[:120]
    return ""


def graded_notebook(learner, ref: Reference):
    """The learner's notebook with the reference's check cells, hidden ones included, and the
    titles of the check cells it lacks."""
    exercises = _exercises()
    nbf = exercises.nbformat_module()
    from course.teaching import grading

    graded, _ = grading.graded_copy(learner, ref.exercise)
    public = [c for c in ref.exercise.cells if exercises.is_check(c)]
    present = {c.source for c in graded.cells if exercises.is_check(c)}
    missing = [title(c) for c in public if c.source not in present]
    after: dict[int, int] = {}
    for visible_before, cell in ref.hidden:
        hidden = nbf.v4.new_code_cell(cell.source)
        hidden.outputs = [nbf.from_dict(o) for o in exercises.clean_outputs(cell.get("outputs", []))]
        hidden.metadata["tags"] = list(cell.metadata.get("tags", []))
        hidden.execution_count = cell.execution_count  # nbval refuses outputs without one
        anchor = public[visible_before - 1].source if visible_before else None
        at = next((i for i, c in enumerate(graded.cells) if exercises.is_check(c) and c.source == anchor), None)
        if at is None:  # no visible check before it (or the learner lost it): before the notebook's last code cell
            code = [i for i, c in enumerate(graded.cells) if c.cell_type == "code"]
            at = (code[-1] - 1) if code else len(graded.cells) - 1
        at += 1 + after.get(visible_before, 0)
        after[visible_before] = after.get(visible_before, 0) + 1
        graded.cells.insert(at, hidden)
    for position, cell in enumerate(graded.cells):
        cell["id"] = f"graded-{position:02d}"
    return graded, missing


# --------------------------------------------------------------------------- running

def kill_tree(pid: int) -> None:
    """The process and everything it started (nbval's kernel runs in a session of its own)."""
    import psutil

    try:
        parent = psutil.Process(pid)
        family = parent.children(recursive=True) + [parent]
    except psutil.NoSuchProcess:
        return
    for process in family:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(family, timeout=10)


def run_notebook(path: Path, env: dict, timeout: float) -> tuple[list[dict], float, bool]:
    """nbval on one notebook: (one record per cell that ran, seconds, timed out)."""
    exercises = _exercises()
    results = path.with_suffix(".jsonl")
    results.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytest", "-p", "course.teaching.classgrade.plugin", "-p", "no:cacheprovider",
               "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout", str(int(timeout) + 60),
               "--nbval-sanitize-with", str(exercises.SANITIZE_FILE), "--color=no", "-q", "--durations=0", "-o", "addopts=",
               "--rootdir", str(path.parent), str(path)]
    started = time.monotonic()
    with open(path.with_suffix(".log"), "w", encoding="utf-8") as log:
        # Dies with this process (its kernel then notices its parent is gone and exits too).
        process = subprocess.Popen(command, cwd=path.parent, env=dict(env, **{RESULTS_ENV: str(results)}),
                                   stdout=log, stderr=subprocess.STDOUT, preexec_fn=lifeline.die_with_parent())
        try:
            process.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            kill_tree(process.pid)
            process.wait()
            timed_out = True
    seconds = time.monotonic() - started
    records = []
    if results.exists():
        records = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines() if line.strip()]
    return records, seconds, timed_out


def result_of(learner: str, name: str, graded, missing_checks: list[str], records: list[dict],
              seconds: float, timed_out: bool, timeout: float) -> NotebookResult:
    exercises = _exercises()
    by_cell = {r["cell"]: r for r in records}
    result = NotebookResult(learner, name, FAILED, seconds=round(seconds, 1))
    code = [c for c in graded.cells if c.cell_type == "code"]
    for number, cell in enumerate(code):
        record = by_cell.get(number)
        if exercises.is_check(cell):
            passed = bool(record and record["passed"])
            message, actual = "", ""
            if record is None:
                message = "not run (the notebook stopped before this check)"
            elif not passed:
                message = ("the check printed something else than expected" if record["ename"] == "OutputMismatch"
                           else f"{record['ename']}: {record['evalue']}")
            if record is not None:
                actual = record["actual"]
                if not passed and record["ename"] not in ("", "OutputMismatch"):
                    actual += f"{record['ename']}: {record['evalue']}"
            result.checks.append(Check(title(cell), passed, exercises.is_hidden(cell), message,
                                       output_text(cell.get("outputs", [])), actual))
        elif record is not None and not record["passed"] and result.error is None:
            result.error = Problem(number, title(cell), cell.source, record["ename"], record["evalue"],
                                   record["traceback"])
    for missing in missing_checks:
        result.checks.append(Check(missing, False, False, "this check cell is missing from the notebook"))
    result.checks_total = len(result.checks)
    result.checks_passed = sum(c.passed for c in result.checks)
    ran_all = all(n in by_cell for n in range(len(code)))
    if timed_out:
        result.status = TIMEOUT
        done = len(by_cell)
        running = code[done] if done < len(code) else None
        where = "" if running is None else (" (a check held by your instructor)" if exercises.is_hidden(running)
                                             else f" ({title(running)})")
        result.note = f"stopped after {timeout:g} s, in code cell {done}{where}"  # no hidden title: feedback shows it
    elif result.error is not None:
        result.status = ERROR
    elif not ran_all:
        result.status = ERROR
        result.note = f"the kernel stopped after {len(by_cell)} of {len(code)} code cells (it died, or nbval failed)"
    elif result.checks_total and result.checks_passed == result.checks_total:
        result.status = PASSED
    return result


# --------------------------------------------------------------------------- one learner

def _read(path: Path):
    nbf = _exercises().nbformat_module()
    nb = nbf.read(path, as_version=4)  # raises on anything that is not notebook JSON
    nbf.validate(nb)
    return nb


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def grade_learner(folder: Path, work: Path, timeout: float, solutions_dir: Path | None = None) -> list[NotebookResult]:
    exercises = _exercises()
    learner = folder.name
    refs = references(solutions_dir)
    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    os.environ["DAY7_HOME"] = str(home)  # this process is the learner's: its cluster and history live here

    results: dict[str, NotebookResult] = {}
    notebooks: dict[str, object] = {}
    for name, ref in refs.items():
        path = folder / name
        if not path.exists():
            continue
        try:
            nb = _read(path)
        except Exception as exc:
            results[name] = NotebookResult(learner, name, INVALID, note=f"{path}: not a notebook ({_first_line(exc)})")
            continue
        of = nb.metadata.get("day7", {}).get("exercise_of")
        if of and of != name:
            results[name] = NotebookResult(learner, name, INVALID,
                                           note=f"{path}: this is the exercise of {of}, handed in as {name}")
            continue
        notebooks[name] = nb
    extras = sorted(p for p in folder.glob("*.ipynb") if p.name not in refs and not p.name.startswith("."))
    for path in extras:
        results[path.name] = NotebookResult(learner, path.name, INVALID,
                                            note=f"{path}: not one of this course's notebooks "
                                                 f"(they are {', '.join(refs)})")

    env = dict(os.environ, DAY7_HOME=str(home), DAY7_QUIET_STORAGE="1")
    env.pop("DAY7_TASK", None)
    env.pop("SPARK_REMOTE", None)
    cluster = None
    last_submitted = max(notebooks, default="")
    blocked: str | None = None
    try:
        for name, ref in refs.items():
            if blocked is not None:
                if name not in results:
                    results[name] = NotebookResult(learner, name, MISSING, note=f"not run: {blocked} did not pass")
                continue
            if name in results:  # invalid
                blocked = name
                continue
            if name not in notebooks:
                results[name] = NotebookResult(learner, name, MISSING, note="not handed in")
                if name < last_submitted:  # run its solution so that the later notebooks have their tables
                    cluster = _start_cluster(env) if cluster is None else cluster
                    setup = work / f"setup-{name}"
                    from course.teaching.grading import solved_exercise
                    setup.write_text(exercises.to_text(solved_exercise(ref.solution, name)), encoding="utf-8")
                    records, _, timed_out = run_notebook(setup, env, max(timeout, SETUP_TIMEOUT))
                    if timed_out or not all(r["passed"] for r in records):
                        blocked = f"the solution of {name} (run in its place)"
                continue
            cluster = _start_cluster(env) if cluster is None else cluster
            graded, missing_checks = graded_notebook(notebooks[name], ref)
            target = work / name
            target.write_text(exercises.to_text(graded), encoding="utf-8")
            records, seconds, timed_out = run_notebook(target, env, timeout)
            results[name] = result_of(learner, name, graded, missing_checks, records, seconds, timed_out, timeout)
            if not results[name].passed:
                blocked = name
    finally:
        if cluster:
            cluster.stop()
    ordered = [results[name] for name in refs] + [results[p.name] for p in extras]
    return ordered + [grade_practical(folder, work)]


def _start_cluster(env: dict):
    """This learner's job cluster; on failure each notebook starts its own Spark (slower, same result)."""
    from course.jobs.local.compute.cluster import LocalCluster

    try:
        cluster = LocalCluster(name="grading")
        cluster.start()
    except Exception:
        return False  # not None: not tried again for the next notebook
    env["SPARK_REMOTE"] = cluster.url
    return cluster


# --------------------------------------------------------------------------- the practical

def grade_practical(folder: Path, work: Path) -> NotebookResult:
    """course.teaching.practical's checklist on the learner's bundle and, if handed in, run history."""
    import shutil

    job_file = folder / JOB_FILE
    learner = folder.name
    if not job_file.is_file():
        return NotebookResult(learner, PRACTICAL, MISSING, note=f"no {JOB_FILE} in the folder")
    from course.teaching import practical
    from course.jobs.local.history import History

    started = time.monotonic()
    history = None
    source = next((folder / name for name in HISTORY_FILES if (folder / name).is_file()), None)
    work.mkdir(parents=True, exist_ok=True)
    copy_path = work / "practical-history.db"
    if source is not None:
        shutil.copyfile(source, copy_path)  # the store may migrate it: never touch the hand-in
    try:
        history = History(copy_path)
        checks = practical.run_checks(list(practical.ITEMS), job_file, history=history, exercises_dir=folder)
    except Exception as exc:  # JobSpecError (a bad bundle; it names the file) or a history that does not open
        from course.jobs.spec import JobSpecError

        where = "" if isinstance(exc, JobSpecError) else f"{source or job_file}: "
        return NotebookResult(learner, PRACTICAL, INVALID, seconds=round(time.monotonic() - started, 1),
                              note=f"{where}{_first_line(exc)}")
    finally:
        if history is not None and hasattr(history, "close"):
            history.close()
    result = NotebookResult(learner, PRACTICAL, FAILED, seconds=round(time.monotonic() - started, 1))
    for check in checks:
        result.checks.append(Check(check.item, check.passed, False,
                                   "" if check.passed else (check.lines[-1] if check.lines else ""),
                                   "", "\n".join(check.lines)))
    result.checks_total = len(result.checks)
    result.checks_passed = sum(c.passed for c in result.checks)
    if result.checks_passed == result.checks_total:
        result.status = PASSED
    if source is None:
        result.note = "no run history handed in (history.db)"
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.teaching.classgrade.learner")
    parser.add_argument("folder", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--solutions", type=Path, default=None)
    args = parser.parse_args(argv)
    results = grade_learner(args.folder, args.work, args.timeout, args.solutions)
    (args.work / "result.json").write_text(json.dumps([r.as_dict() for r in results], ensure_ascii=False, indent=1),
                                           encoding="utf-8")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # the cluster is stopped; skip the teardown of pyspark and friends
