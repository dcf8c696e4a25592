"""Exercises generated from the solutions, and grading with nbval.

Authoring rules (in ``solutions/*.ipynb``):

* Code between a ``# BEGIN SOLUTION`` line and an ``# END SOLUTION`` line is the part a
  learner writes. Text after ``BEGIN SOLUTION`` (``# BEGIN SOLUTION: write the tables``)
  is the hint. In the exercise the block becomes, at the same indentation::

      # TODO: write the tables
      raise NotImplementedError("TODO: write the tables")

* Cells tagged ``check`` (and ``nbval-check-output``) assert the results. They must not
  contain markers; exercises keep them *with* the solution's outputs, which nbval compares.
* A check cell also tagged ``hidden`` is left out of the exercise: it lives only in the
  instructor's copy (``solutions/``) and is run by class grading (``course.classgrade``), whose
  learner feedback never shows its content.
* A solution notebook with at least one marker gets an exercise of the same name in
  ``notebooks/exercises/``, whose ``schema`` widget defaults to ``day7_learner`` (the
  ``exercises`` target of databricks.yml), so a learner's tables never replace the
  solutions' tables.

`release()` is deterministic: cell ids are positional, only check cells keep outputs and an
execution count, cell metadata keeps only tags, notebook metadata is fixed. So `drift()` can
regenerate in memory and compare text with what is on disk.

Grading (`grade()`) runs ``pytest --nbval-lax`` in a subprocess, in a fresh kit state
folder, on copies of the learner's notebooks whose check cells are replaced by the
reference's (so a weakened assert does not pass). This module is also the pytest plugin of
that subprocess (``-p course.grading``): `pytest_runtest_makereport` writes one JSON line
per cell to the file named by ``DAY7_GRADE_RESULTS``.
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

from course.jobs.quickimport import skip_iri_format_checker
from typing import Iterable

from course import paths

SOLUTIONS_DIR = paths.REPO_ROOT / "solutions"
EXERCISES_DIR = paths.REPO_ROOT / "notebooks" / "exercises"
SANITIZE_FILE = paths.REPO_ROOT / "nbval_sanitize.cfg"

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
CHECK_TAG = "check"
CHECK_TAGS = ("check", "nbval-check-output")
HIDDEN_TAG = "hidden"  # a check cell held only in solutions/: graded, never released
EXERCISE_SCHEMA = "day7_learner"  # targets.exercises.variables.schema in databricks.yml
RESULTS_ENV = "DAY7_GRADE_RESULTS"

_SCHEMA_WIDGET = re.compile(r'(dbutils\.widgets\.text\(\s*"schema"\s*,\s*)"[^"]*"')
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Lines of outputs that only say something about the machine (the JVM launcher's notice).
_NOISE = re.compile(r"^WARNING: Using incubator modules:.*\n?", re.MULTILINE)
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
# Before nbformat loads, here and in the pytest process that grades (-p course.grading,
# loaded before nbval): jsonschema's slow IRI checker would cost ~1.2 s (see quickimport).
skip_iri_format_checker()

LANGUAGE_INFO = {"name": "python", "file_extension": ".py", "mimetype": "text/x-python",
                 "codemirror_mode": {"name": "ipython", "version": 3},
                 "nbconvert_exporter": "python", "pygments_lexer": "ipython3"}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class MarkerError(ValueError):
    """A solution notebook whose markers do not pair up, or sit where they must not."""


def _nbformat():
    import nbformat  # ~0.1 s: only for the commands that need it

    return nbformat


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def is_check(cell) -> bool:
    return cell.get("cell_type") == "code" and CHECK_TAG in _tags(cell)


def is_hidden(cell) -> bool:
    return is_check(cell) and HIDDEN_TAG in _tags(cell)


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


# --------------------------------------------------------------------------- stubs

def _hint(marker_line: str) -> str:
    rest = marker_line.strip()[len(BEGIN):].strip().lstrip(":-—").strip()
    return rest or "write this part (the markdown above says what it does)"


def stub_solutions(source: str, where: str = "cell") -> tuple[str, int]:
    """Replace every marked block by a TODO stub; returns (new source, number of blocks)."""
    out: list[str] = []
    blocks = 0
    inside: tuple[int, str, str] | None = None  # (line number, indentation, hint)
    for number, line in enumerate(source.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if inside is not None:
                raise MarkerError(f"{where}, line {number}: {BEGIN} inside the block opened on line {inside[0]}")
            inside = (number, line[: len(line) - len(line.lstrip())], _hint(stripped))
            continue
        if stripped.startswith(END):
            if inside is None:
                raise MarkerError(f"{where}, line {number}: {END} without {BEGIN}")
            _, indent, hint = inside
            out.append(f"{indent}# TODO: {hint}")
            out.append(f"{indent}raise NotImplementedError({json.dumps('TODO: ' + hint, ensure_ascii=False)})")
            blocks += 1
            inside = None
            continue
        if inside is None:
            out.append(line)
    if inside is not None:
        raise MarkerError(f"{where}, line {inside[0]}: {BEGIN} is never closed by {END}")
    return "\n".join(out), blocks


def strip_markers(source: str) -> str:
    """The solution code without its marker lines (what runs in the solution)."""
    return "\n".join(line for line in source.splitlines()
                     if not line.strip().startswith((BEGIN, END)))


# --------------------------------------------------------------------------- release

def _banner(solution_name: str):
    nbf = _nbformat()
    return nbf.v4.new_markdown_cell(
        f"> **Exercise.** Generated from `solutions/{solution_name}` by "
        "`python runner.py exercises release`; do not edit the generated file in the repository, "
        "edit the solution and release again.\n>\n"
        "> Fill in every cell marked `# TODO` (each raises `NotImplementedError` until you do), "
        "then run the notebook top to bottom. The cells tagged `check` tell you whether it works; "
        "their saved outputs are what a correct solution prints on the sample data. "
        f"Your tables go to the schema `{EXERCISE_SCHEMA}`, so the solutions' tables stay as they are.\n>\n"
        "> * Grade it: `python runner.py exercises grade notebooks/exercises/" + solution_name + "` "
        "(or the whole folder; the exercises before it run as their solutions when you grade it alone)\n"
        "> * Run your three notebooks as the Day 7 job: `python runner.py -t exercises`")


def _clean_outputs(outputs: list) -> list:
    cleaned = []
    for output in outputs:
        output = copy.deepcopy(output)
        if WIDGET_VIEW in output.get("data", {}):
            continue  # a widget's view: random model id, nothing to read without its kernel
        if output.get("output_type") == "stream":
            output["text"] = _NOISE.sub("", "".join(output["text"]) if isinstance(output["text"], list) else output["text"])
            if not output["text"]:
                continue
        cleaned.append(output)
    return cleaned


def _set_count(cell, count: int | None) -> None:
    cell["execution_count"] = count
    for output in cell.get("outputs", []):
        if output.get("output_type") == "execute_result":
            output["execution_count"] = count


def make_exercise(solution, solution_name: str):
    """The exercise notebook for one solution notebook (a new NotebookNode)."""
    nbf = _nbformat()
    exercise = nbf.v4.new_notebook()
    exercise.metadata = nbf.from_dict({"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO,
                                       "day7": {"exercise_of": solution_name}})
    cells = [_banner(solution_name)]
    schema_widgets = 0
    code_number = 0
    for index, cell in enumerate(solution.cells):
        where = f"{solution_name}, cell {index}"
        source = _source(cell)
        if cell.cell_type == "markdown":
            cells.append(nbf.v4.new_markdown_cell(source))
            continue
        if cell.cell_type != "code":
            cells.append(copy.deepcopy(cell))
            continue
        if is_hidden(cell):
            continue  # the instructor's check: not released
        code_number += 1
        if is_check(cell):
            if BEGIN in source or END in source:
                raise MarkerError(f"{where}: a check cell must not contain solution markers")
            new = nbf.v4.new_code_cell(source)
            new.outputs = [nbf.from_dict(o) for o in _clean_outputs(cell.get("outputs", []))]
            _set_count(new, code_number)
        else:
            source, _ = stub_solutions(source, where)
            source, replaced = _SCHEMA_WIDGET.subn(rf'\1"{EXERCISE_SCHEMA}"', source)
            schema_widgets += replaced
            new = nbf.v4.new_code_cell(source)
        if _tags(cell):
            new.metadata["tags"] = _tags(cell)
        cells.append(new)
    if schema_widgets != 1:
        raise MarkerError(f"{solution_name}: expected one dbutils.widgets.text(\"schema\", ...) declaration, "
                          f"found {schema_widgets}")
    for position, cell in enumerate(cells):
        cell["id"] = f"cell-{position:02d}"
    exercise.cells = cells
    return exercise


def has_markers(nb) -> bool:
    return any(c.cell_type == "code" and BEGIN in _source(c) for c in nb.cells)


def solution_notebooks(solutions_dir: Path | None = None) -> list[Path]:
    return sorted(p for p in Path(solutions_dir or SOLUTIONS_DIR).glob("*.ipynb") if not p.name.startswith("."))


def exercises_for(solutions_dir: Path | None = None) -> dict[str, object]:
    """{file name: exercise notebook} for every solution that has markers, in memory."""
    nbf = _nbformat()
    result = {}
    for path in solution_notebooks(solutions_dir):
        solution = nbf.read(path, as_version=4)
        if has_markers(solution):
            result[path.name] = make_exercise(solution, path.name)
    return result


def to_text(nb) -> str:
    nbf = _nbformat()
    nbf.validate(nb)
    return nbf.writes(nb) + "\n"


def release(solutions_dir: Path | None = None, exercises_dir: Path | None = None) -> list[Path]:
    """Write every exercise (and remove generated ones whose solution is gone); returns the files written."""
    exercises_dir = Path(exercises_dir or EXERCISES_DIR)
    exercises_dir.mkdir(parents=True, exist_ok=True)
    exercises = exercises_for(solutions_dir)
    for stale in exercises_dir.glob("*.ipynb"):
        if stale.name not in exercises:
            stale.unlink()
    written = []
    for name, nb in exercises.items():
        target = exercises_dir / name
        text = to_text(nb)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def drift(solutions_dir: Path | None = None, exercises_dir: Path | None = None) -> list[str]:
    """What differs between the exercises on disk and a fresh release (empty: in sync)."""
    exercises_dir = Path(exercises_dir or EXERCISES_DIR)
    problems = []
    expected = exercises_for(solutions_dir)
    present = {p.name for p in exercises_dir.glob("*.ipynb")} if exercises_dir.is_dir() else set()
    for name, nb in expected.items():
        target = exercises_dir / name
        if name not in present:
            problems.append(f"{target}: missing (solutions/{name} has exercise markers)")
        elif target.read_text(encoding="utf-8") != to_text(nb):
            problems.append(f"{target}: differs from what solutions/{name} generates")
    for name in sorted(present - set(expected)):
        problems.append(f"{exercises_dir / name}: no solution with markers generates it")
    return problems


# --------------------------------------------------------------------------- solutions

def normalize_solution(nb):
    """Stable metadata and outputs for a committed, executed solution notebook."""
    nbf = _nbformat()
    nb.metadata = nbf.from_dict({"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO})
    for cell in nb.cells:
        tags = _tags(cell)
        cell.metadata = nbf.from_dict({"tags": tags} if tags else {})
        if cell.cell_type == "code":
            cell.outputs = [nbf.from_dict(o) for o in _clean_outputs(cell.get("outputs", []))]
    return nb


def refresh_solutions(paths_: Iterable[Path] | None = None, *, timeout: int = 900) -> list[Path]:
    """Execute solution notebooks in order in a fresh kit state folder and save their outputs.

    Each runs in its own kernel as nbval will run it (no job context: widget defaults,
    debugValues). Raises RuntimeError naming the notebook and cell when one fails.
    """
    nbf = _nbformat()
    from nbclient import NotebookClient

    targets = sorted(Path(p) for p in (paths_ or solution_notebooks()))
    done = []
    with tempfile.TemporaryDirectory(prefix="day7-solutions-") as home:
        old = os.environ.get("DAY7_HOME")
        os.environ["DAY7_HOME"] = home
        try:
            for path in targets:
                nb = nbf.read(path, as_version=4)
                for cell in nb.cells:
                    if cell.cell_type == "code":
                        cell.outputs, cell.execution_count = [], None
                client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                                        resources={"metadata": {"path": str(path.parent)}})
                try:
                    client.execute()
                except Exception as exc:  # nbclient's CellExecutionError names the cell
                    raise RuntimeError(f"{path}: {exc}") from exc
                path.write_text(to_text(normalize_solution(nb)), encoding="utf-8")
                done.append(path)
        finally:
            if old is None:
                os.environ.pop("DAY7_HOME", None)
            else:
                os.environ["DAY7_HOME"] = old
    return done


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
            tags = [t for t in _tags(cell) if t not in CHECK_TAGS]
            cell.metadata["tags"] = tags
    return graded, problems


def _title(cell) -> str:
    lines = _source(cell).splitlines()
    todo = [line for line in lines if line.strip().startswith("# TODO:")]
    for line in todo or lines:
        if line.strip():
            return line.strip().lstrip("#").strip()[:100]
    return ""


def _start_cluster(home: Path):
    """A local job cluster (Spark Connect server) whose warehouse is under `home`; None if it fails."""
    from course.jobs.cluster import LocalCluster

    old = os.environ.get("DAY7_HOME")
    os.environ["DAY7_HOME"] = str(home)  # the server's warehouse and log folder come from it
    try:
        cluster = LocalCluster(name="grading")
        cluster.start()
        return cluster
    except Exception:  # no cluster: each notebook starts its own Spark, slower but the same result
        return None
    finally:
        if old is None:
            os.environ.pop("DAY7_HOME", None)
        else:
            os.environ["DAY7_HOME"] = old


def solved_exercise(solution, solution_name: str):
    """The exercise with every TODO done as the solution does it (what a perfect learner hands in)."""
    solved = copy.deepcopy(solution)
    for cell in solved.cells:
        if cell.cell_type == "code":
            cell.source = strip_markers(_source(cell))
    return make_exercise(solved, solution_name)


def grade(notebook_paths: Iterable[str | os.PathLike], *, solutions_dir: Path | None = None,
          cell_timeout: int = 600, keep: bool = False) -> list[NotebookGrade]:
    """Run the learner notebooks with nbval and grade each one.

    They run in the order of the exercises (01_bronze, 02_silver, …), each in its own kernel,
    in one fresh kit state folder. An exercise that comes before a graded one but is not
    graded itself runs first as its *solution*, so `02_silver` can be graded on its own.
    """
    nbf = _nbformat()
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
                kind = "check" if is_check(cell) else ("todo" if "raise NotImplementedError(\"TODO" in _source(cell) else "code")
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
        command = [sys.executable, "-m", "pytest", "-p", "course.grading", "-p", "no:cacheprovider",
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


__all__ = ["MarkerError", "stub_solutions", "strip_markers", "make_exercise", "exercises_for", "release",
           "drift", "normalize_solution", "refresh_solutions", "graded_copy", "grade", "format_report",
           "NotebookGrade", "CellResult", "solved_exercise"]
