"""Exercises generated from the solutions: markers, stubs, release, drift, solution refresh.

Authoring rules (in ``solutions/*.ipynb``):

* Code between a ``# BEGIN SOLUTION`` line and an ``# END SOLUTION`` line is the part a
  learner writes. Text after ``BEGIN SOLUTION`` (``# BEGIN SOLUTION: write the tables``)
  is the hint. In the exercise the block becomes, at the same indentation::

      # TODO: write the tables
      raise NotImplementedError("TODO: write the tables")

* Cells tagged ``check`` (and ``nbval-check-output``) assert the results. They must not
  contain markers; exercises keep them *with* the solution's outputs, which nbval compares,
  and a markdown note under each repeats that output (running the notebook replaces it).
* A check cell also tagged ``hidden`` is left out of the exercise: it lives only in the
  instructor's copy (``solutions/``) and is run by class grading (``course.teaching.classgrade``),
  whose learner feedback never shows its content.
* A solution notebook with at least one marker gets an exercise of the same name in
  ``notebooks/exercises/``, whose ``schema`` widget defaults to ``day7_learner`` (the
  ``exercises`` target of databricks.yml), so a learner's tables never replace the
  solutions' tables.

`release()` is deterministic: cell ids are positional, only check cells keep outputs and an
execution count, cell metadata keeps only tags, notebook metadata is fixed. So `drift()` can
regenerate in memory and compare text with what is on disk.
"""
from __future__ import annotations

import copy
import json
import re
import tempfile
from pathlib import Path

from course.platform.quickimport import skip_iri_format_checker
from typing import Iterable

from course.platform import paths

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
# Lines of outputs that only say something about the machine (the JVM launcher's notice).
_NOISE = re.compile(r"^WARNING: Using incubator modules:.*\n?", re.MULTILINE)
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
# Before nbformat loads, here and in the pytest process that grades (-p course.teaching.grading,
# loaded before nbval): jsonschema's slow IRI checker would cost ~1.2 s (see quickimport).
skip_iri_format_checker()

# language_info exactly as the kit's kernel reports it (ipykernel on the Python the kit is
# developed with): JupyterLab writes the kernel's into a notebook it opens, and a notebook that
# differs opens *modified*, so autosave would rewrite committed notebooks (then `git pull`
# conflicts). With another Python version only `version` differs (see README).
KERNEL_PYTHON = "3.11.7"
LANGUAGE_INFO = {"name": "python", "version": KERNEL_PYTHON, "mimetype": "text/x-python",
                 "codemirror_mode": {"name": "ipython", "version": 3}, "pygments_lexer": "ipython3",
                 "nbconvert_exporter": "python", "file_extension": ".py"}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class MarkerError(ValueError):
    """A solution notebook whose markers do not pair up, or sit where they must not."""


def nbformat_module():
    import nbformat  # ~0.1 s: only for the commands that need it

    return nbformat


def cell_tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def is_check(cell) -> bool:
    return cell.get("cell_type") == "code" and CHECK_TAG in cell_tags(cell)


def is_hidden(cell) -> bool:
    return is_check(cell) and HIDDEN_TAG in cell_tags(cell)


def cell_source(cell) -> str:
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
    nbf = nbformat_module()
    return nbf.v4.new_markdown_cell(
        f"> **Exercise.** Generated from `solutions/{solution_name}` by "
        "`python runner.py exercises release`; do not edit the generated file in the repository, "
        "edit the solution and release again.\n>\n"
        "> Fill in every cell marked `# TODO` (each raises `NotImplementedError` until you do), "
        "then run the notebook top to bottom. The cells tagged `check` tell you whether it works; "
        "the note under each one shows what a correct solution prints on the sample data. "
        f"Your tables go to `workspace.{EXERCISE_SCHEMA}` (the schema widget), so the solutions' tables, "
        "`workspace.day7.…`, stay as they are.\n>\n"
        "> * Grade it: `python runner.py exercises grade notebooks/exercises/" + solution_name + "` "
        "(or the whole folder; the exercises before it run as their solutions when you grade it alone)\n"
        "> * Run your three notebooks as the Day 7 job: `python runner.py -t exercises`")


def clean_outputs(outputs: list) -> list:
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


def _reference_note(outputs: list):
    """The check's reference output as a markdown cell under it: running the notebook
    replaces a cell's saved outputs (Run All does), a markdown cell stays."""
    text = "".join(_output_text(o) for o in outputs).strip("\n")
    if not text:
        return None
    fence = "````" if "```" in text else "```"
    return nbformat_module().v4.new_markdown_cell(
        "*What this check prints with a correct solution on the sample data:*\n\n"
        f"{fence}\n{text}\n{fence}")


def _output_text(output) -> str:
    if output.get("output_type") == "stream":
        text = output.get("text", "")
    else:
        text = output.get("data", {}).get("text/plain", "")
    text = "".join(text) if isinstance(text, list) else text
    return text if text.endswith("\n") or not text else text + "\n"


def _set_count(cell, count: int | None) -> None:
    cell["execution_count"] = count
    for output in cell.get("outputs", []):
        if output.get("output_type") == "execute_result":
            output["execution_count"] = count


def make_exercise(solution, solution_name: str):
    """The exercise notebook for one solution notebook (a new NotebookNode)."""
    nbf = nbformat_module()
    exercise = nbf.v4.new_notebook()
    exercise.metadata = nbf.from_dict({"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO,
                                       "day7": {"exercise_of": solution_name}})
    cells = [_banner(solution_name)]
    schema_widgets = 0
    code_number = 0
    for index, cell in enumerate(solution.cells):
        where = f"{solution_name}, cell {index}"
        source, reference = cell_source(cell), None
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
            new.outputs = [nbf.from_dict(o) for o in clean_outputs(cell.get("outputs", []))]
            _set_count(new, code_number)
            reference = _reference_note(new.outputs)
        else:
            source, _ = stub_solutions(source, where)
            source, replaced = _SCHEMA_WIDGET.subn(rf'\1"{EXERCISE_SCHEMA}"', source)
            schema_widgets += replaced
            new = nbf.v4.new_code_cell(source)
        if cell_tags(cell):
            new.metadata["tags"] = cell_tags(cell)
        cells.append(new)
        if is_check(cell) and reference:
            cells.append(reference)
    if schema_widgets != 1:
        raise MarkerError(f"{solution_name}: expected one dbutils.widgets.text(\"schema\", ...) declaration, "
                          f"found {schema_widgets}")
    for position, cell in enumerate(cells):
        cell["id"] = f"cell-{position:02d}"
    exercise.cells = cells
    return exercise


def has_markers(nb) -> bool:
    return any(c.cell_type == "code" and BEGIN in cell_source(c) for c in nb.cells)


def solution_notebooks(solutions_dir: Path | None = None) -> list[Path]:
    return sorted(p for p in Path(solutions_dir or SOLUTIONS_DIR).glob("*.ipynb") if not p.name.startswith("."))


def exercises_for(solutions_dir: Path | None = None) -> dict[str, object]:
    """{file name: exercise notebook} for every solution that has markers, in memory."""
    nbf = nbformat_module()
    result = {}
    for path in solution_notebooks(solutions_dir):
        solution = nbf.read(path, as_version=4)
        if has_markers(solution):
            result[path.name] = make_exercise(solution, path.name)
    return result


def to_text(nb) -> str:
    nbf = nbformat_module()
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
    nbf = nbformat_module()
    nb.metadata = nbf.from_dict({"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO})
    for cell in nb.cells:
        tags = cell_tags(cell)
        cell.metadata = nbf.from_dict({"tags": tags} if tags else {})
        if cell.cell_type == "code":
            cell.outputs = [nbf.from_dict(o) for o in clean_outputs(cell.get("outputs", []))]
    return nb


def refresh_solutions(paths_: Iterable[Path] | None = None, *, timeout: int = 900) -> list[Path]:
    """Execute solution notebooks in order in a fresh kit state folder and save their outputs.

    Each runs in its own kernel as nbval will run it (no job context: widget defaults,
    debugValues). Raises RuntimeError naming the notebook and cell when one fails.
    """
    nbf = nbformat_module()
    from nbclient import NotebookClient

    targets = sorted(Path(p) for p in (paths_ or solution_notebooks()))
    done = []
    with tempfile.TemporaryDirectory(prefix="day7-solutions-") as home, paths.using_home(home):
        env = paths.child_environment()
        for path in targets:
            nb = nbf.read(path, as_version=4)
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
            client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                                    resources={"metadata": {"path": str(path.parent)}})
            try:
                client.execute(env=env)
            except Exception as exc:  # nbclient's CellExecutionError names the cell
                raise RuntimeError(f"{path}: {exc}") from exc
            path.write_text(to_text(normalize_solution(nb)), encoding="utf-8")
            done.append(path)
    return done
