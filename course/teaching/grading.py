"""Grading learners' notebooks with nbval against the solutions' check cells.

Grading (`grade()`) runs ``pytest --nbval-lax`` in a subprocess, in a fresh kit state
folder, on copies of the learner's notebooks whose check cells are replaced by the
reference's (so a weakened assert does not pass). This module is also the pytest plugin of
that subprocess (``-p course.teaching.grading``): `pytest_runtest_makereport` writes one JSON line
per cell to the file named by ``DAY7_GRADE_RESULTS``. How exercises are made from the
solutions: `course.teaching.exercises`.
"""
from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from typing import Iterable

from course.platform import paths

from course.teaching.exercises import (
    nbformat_module, is_check, strip_markers, make_exercise, exercises_for, to_text, SOLUTIONS_DIR,
    SANITIZE_FILE, CHECK_TAGS, RESULTS_ENV, cell_tags, cell_source,
)

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# --------------------------------------------------------------------------- grading

@dataclass
class CellResult:
    cell: int                  # nbval's number: the code cell's index, from 0
    kind: str                  # "check", "todo" (a stub still raising) or "code"
    title: str                 # first line of the cell
    passed: bool
    error: str = ""            # "AssertionError: ..." / "Cell outputs differ" …
    details: str = ""          # output differences, when that was the failure


@dataclass
class NotebookGrade:
    notebook: str
    path: str
    passed: bool
    checks_passed: int = 0
    checks_total: int = 0
    failures: list[CellResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)   # e.g. check cells missing from the notebook

    def as_dict(self) -> dict:
        return asdict(self)


def _reference_name(nb, path: Path, references: dict) -> str | None:
    name = nb.metadata.get("day7", {}).get("exercise_of")
    if name in references:
        return name
    return path.name if path.name in references else None


def graded_copy(learner, reference) -> tuple[object, list[str]]:
    """The learner's notebook with the reference's check cells (source, tags, outputs)."""
    graded = copy.deepcopy(learner)
    problems = []
    ref_checks = [c for c in reference.cells if is_check(c)]
    by_id = {c.get("id"): i for i, c in enumerate(graded.cells) if c.get("id")}
    learner_checks = [i for i, c in enumerate(graded.cells) if is_check(c)]
    used: set[int] = set()
    for k, ref in enumerate(ref_checks):
        index = by_id.get(ref.get("id"))
        if index is None or graded.cells[index].cell_type != "code":
            index = learner_checks[k] if k < len(learner_checks) else None
        if index is None or index in used:
            problems.append(f"check cell {_title(ref)!r} is missing from the notebook")
            continue
        used.add(index)
        replacement = copy.deepcopy(ref)
        replacement["id"] = graded.cells[index].get("id", ref.get("id"))
        graded.cells[index] = replacement
    for i, cell in enumerate(graded.cells):
        if cell.cell_type == "code" and i not in used:
            cell.outputs, cell.execution_count = [], None
            tags = [t for t in cell_tags(cell) if t not in CHECK_TAGS]
            cell.metadata["tags"] = tags
    return graded, problems


def _title(cell) -> str:
    lines = cell_source(cell).splitlines()
    todo = [line for line in lines if line.strip().startswith("# TODO:")]
    for line in todo or lines:
        if line.strip():
            return line.strip().lstrip("#").strip()[:100]
    return ""


def _start_cluster(home: Path):
    """A local job cluster (Spark Connect server) whose warehouse is under `home`; None if it fails."""
    from course.jobs.local.compute.cluster import LocalCluster

    with paths.using_home(home):  # the server's warehouse and log folder come from it
        try:
            cluster = LocalCluster(name="grading")
            cluster.start()
            return cluster
        except Exception:  # no cluster: each notebook starts its own Spark, slower but the same result
            return None


def solved_exercise(solution, solution_name: str):
    """The exercise with every TODO done as the solution does it (what a perfect learner hands in)."""
    solved = copy.deepcopy(solution)
    for cell in solved.cells:
        if cell.cell_type == "code":
            cell.source = strip_markers(cell_source(cell))
    return make_exercise(solved, solution_name)


def grade(notebook_paths: Iterable[str | os.PathLike], *, solutions_dir: Path | None = None,
          cell_timeout: int = 600, keep: bool = False) -> list[NotebookGrade]:
    """Run the learner notebooks with nbval and grade each one.

    They run in the order of the exercises (01_bronze, 02_silver, …), each in its own kernel,
    in one fresh kit state folder. An exercise that comes before a graded one but is not
    graded itself runs first as its *solution*, so `02_silver` can be graded on its own.
    """
    nbf = nbformat_module()
    references = exercises_for(solutions_dir)
    workdir = Path(tempfile.mkdtemp(prefix="day7-grade-"))
    grades: dict[str, NotebookGrade] = {}
    titles: dict[tuple[str, int], tuple[str, str]] = {}
    to_run: dict[str, tuple[str, Path]] = {}  # file in workdir -> (order key, path)
    graded_references: set[str] = set()
    for raw in notebook_paths:
        path = Path(raw)
        key = path.name if path.name not in grades else f"{len(grades):02d}-{path.name}"
        grades[key] = NotebookGrade(notebook=path.name, path=str(path), passed=False)
        try:
            learner = nbf.read(path, as_version=4)
        except Exception as exc:
            grades[key].problems.append(f"cannot read the notebook: {exc}")
            continue
        reference_name = _reference_name(learner, path, references)
        if reference_name is None:
            grades[key].problems.append(f"no exercise matches it (exercises: {', '.join(sorted(references))})")
            continue
        graded, problems = graded_copy(learner, references[reference_name])
        grades[key].problems += problems
        grades[key].checks_total = sum(1 for c in graded.cells if is_check(c))
        number = 0
        for cell in graded.cells:
            if cell.cell_type == "code":
                kind = "check" if is_check(cell) else ("todo" if "raise NotImplementedError(\"TODO" in cell_source(cell) else "code")
                titles[(key, number)] = (kind, _title(cell))
                number += 1
        target = workdir / key
        target.write_text(to_text(graded), encoding="utf-8")
        to_run[key] = (f"{reference_name}-1-{len(to_run):03d}", target)
        graded_references.add(reference_name)

    last = max(graded_references, default="")
    setups = []
    for name in sorted(references):
        if name < last and name not in graded_references:
            solution = nbf.read(Path(solutions_dir or SOLUTIONS_DIR) / name, as_version=4)
            target = workdir / f"setup-{name}"
            target.write_text(to_text(solved_exercise(solution, name)), encoding="utf-8")
            to_run[target.name] = (f"{name}-0", target)
            setups.append(target.name)

    if to_run:
        results = workdir / "results.jsonl"
        home = workdir / "home"
        env = dict(os.environ, DAY7_HOME=str(home), DAY7_QUIET_STORAGE="1", **{RESULTS_ENV: str(results)})
        env.pop("SPARK_REMOTE", None)
        env.pop("DAY7_TASK", None)
        cluster = _start_cluster(home) if len(to_run) > 1 else None
        if cluster is not None:
            env["SPARK_REMOTE"] = cluster.url  # the notebooks share one Spark, as the tasks of a job run do
        ordered = [path for _, path in sorted(to_run.values(), key=lambda item: item[0])]
        command = [sys.executable, "-m", "pytest", "-p", "course.teaching.grading", "-p", "no:cacheprovider",
                   "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout", str(cell_timeout),
                   "--nbval-sanitize-with", str(SANITIZE_FILE), "--color=no", "-q", "-o", "addopts=",
                   "--rootdir", str(workdir), *[str(p) for p in ordered]]
        try:
            subprocess.run(command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        finally:
            if cluster is not None:
                cluster.stop()
        seen: dict[str, set[int]] = {}
        setup_failures: list[str] = []
        if results.exists():
            for line in results.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                key, number = record["notebook"], record["cell"]
                if key in setups:
                    if not record["passed"]:
                        setup_failures.append(f"{key.removeprefix('setup-')}: {record['error'].splitlines()[0]}")
                    continue
                kind, title = titles.get((key, number), ("code", ""))
                seen.setdefault(key, set()).add(number)
                grade_ = grades[key]
                if record["passed"]:
                    grade_.checks_passed += kind == "check"
                    continue
                grade_.failures.append(CellResult(number, kind, title, False, record["error"], record["details"]))
        for key in grades:
            if key not in to_run:
                continue
            expected = {n for (k, n) in titles if k == key}
            if expected - seen.get(key, set()):
                grades[key].problems.append("nbval did not run every cell (the kernel died or timed out?)")
            if setup_failures:
                grades[key].problems.append("the solution run before it failed: " + "; ".join(setup_failures))
    for grade_ in grades.values():
        grade_.passed = not grade_.failures and not grade_.problems and grade_.checks_total > 0
    if not keep:
        import shutil
        shutil.rmtree(workdir, ignore_errors=True)
    return list(grades.values())


def format_report(grades: list[NotebookGrade]) -> str:
    lines = []
    for g in grades:
        if g.passed:
            lines.append(f"✓ {g.notebook}: PASS ({g.checks_passed} of {g.checks_total} checks passed)")
            continue
        lines.append(f"✗ {g.notebook}: FAIL ({g.checks_passed} of {g.checks_total} checks passed)")
        for problem in g.problems:
            lines.append(f"    ✗ {problem}")
        # TODOs and checks always; of the other cells only the first failure (the likely
        # cause: later ones usually fail because of it).
        others = [f for f in g.failures if f.kind == "code"]
        shown = [f for f in g.failures if f.kind != "code" or f is others[0]]
        for f in shown:
            label = {"check": "check", "todo": "TODO left", "code": "cell"}[f.kind]
            lines.append(f"    ✗ {label} [cell {f.cell}] {f.title}")
            lines.append(f"        {f.error.splitlines()[0] if f.error else ''}")
            for detail in f.details.splitlines()[:12]:
                lines.append(f"          {detail}")
        if len(others) > 1:
            lines.append(f"    … and {len(others) - 1} more cell{'s' if len(others) > 2 else ''} failed after "
                         f"cell {others[0].cell} (run the notebook to see them)")
    passed = sum(g.passed for g in grades)
    lines.append(f"{passed} of {len(grades)} notebook{'s' if len(grades) != 1 else ''} pass.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- pytest plugin

def _error_of(item, excinfo) -> tuple[str, str]:
    """('Ename: evalue', details) for a failed nbval cell."""
    for output in getattr(item, "test_outputs", None) or []:
        if output.get("output_type") == "error":
            value = _ANSI.sub("", str(output.get("evalue", ""))).strip()
            return f"{output.get('ename')}: {value}", ""
    exc = excinfo.value
    message = _ANSI.sub("", str(exc))
    details = _ANSI.sub("", str(getattr(exc, "inner_traceback", "") or ""))
    return message, details.strip()


def pytest_runtest_makereport(item, call):
    """Record each nbval cell's outcome for `grade()` (active only with DAY7_GRADE_RESULTS)."""
    target = os.environ.get(RESULTS_ENV)
    if not target or call.when != "call" or not hasattr(item, "cell_num"):
        return None
    record = {"notebook": Path(str(item.fspath)).name, "cell": item.cell_num,
              "passed": call.excinfo is None, "error": "", "details": ""}
    if call.excinfo is not None:
        if call.excinfo.typename == "Skipped":
            record["passed"] = True
        else:
            record["error"], record["details"] = _error_of(item, call.excinfo)
    with open(target, "a", encoding="utf-8") as out:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return None


__all__ = ["graded_copy", "grade", "format_report", "NotebookGrade", "CellResult", "solved_exercise"]
