"""Exercises generated from the solutions: stubs, determinism, drift, grading with nbval."""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from course.teaching import exercises, grading
from course.cli import exercises as exercises_cli

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "solutions"
EXERCISES = REPO / "notebooks" / "exercises"


# --------------------------------------------------------------------------- stubs

def test_a_marked_block_becomes_a_todo_that_raises_with_its_hint_at_the_same_indentation():
    source = "\n".join([
        "def total(rows):",
        "    # BEGIN SOLUTION: add up the rows",
        "    return sum(rows)",
        "    # END SOLUTION",
        "print('after')",
    ])
    stubbed, blocks = exercises.stub_solutions(source)
    assert blocks == 1
    assert stubbed.splitlines() == [
        "def total(rows):",
        "    # TODO: add up the rows",
        '    raise NotImplementedError("TODO: add up the rows")',
        "print('after')",
    ]
    namespace: dict = {}
    exec(stubbed, namespace)
    with pytest.raises(NotImplementedError, match="TODO: add up the rows"):
        namespace["total"]([1, 2])


def test_several_blocks_and_a_default_hint():
    source = "# BEGIN SOLUTION\nx = 1\n# END SOLUTION\ny = 2\n# BEGIN SOLUTION - the z part\nz = 3\n# END SOLUTION"
    stubbed, blocks = exercises.stub_solutions(source)
    assert blocks == 2
    assert "x = 1" not in stubbed and "z = 3" not in stubbed and "y = 2" in stubbed
    assert "TODO: the z part" in stubbed
    assert "TODO: write this part" in stubbed
    assert exercises.strip_markers(source) == "x = 1\ny = 2\nz = 3"


def test_a_hint_with_quotes_stays_valid_python():
    stubbed, _ = exercises.stub_solutions('# BEGIN SOLUTION: use min("_source_file")\npass\n# END SOLUTION')
    compile(stubbed, "stub", "exec")
    assert 'min(\\"_source_file\\")' in stubbed


@pytest.mark.parametrize("source, problem", [
    ("# BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n# END SOLUTION", "without"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "inside the block"),
])
def test_markers_that_do_not_pair_up_are_an_error_naming_the_line(source, problem):
    with pytest.raises(exercises.MarkerError, match=problem):
        exercises.stub_solutions(source, "x.ipynb, cell 3")


# --------------------------------------------------------------------------- make_exercise

def _solution(cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for kind, source, tags, outputs in cells:
        cell = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        if kind == "code":
            cell.outputs = [nbformat.from_dict(o) for o in outputs]
            cell.execution_count = 41
            cell.metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00Z"}
        nb.cells.append(cell)
    return nb


SCHEMA_WIDGET = 'dbutils.widgets.text("schema", "day7", "Schema")'
STDOUT = {"output_type": "stream", "name": "stdout", "text": "hello\n"}


def test_an_exercise_keeps_check_outputs_strips_the_rest_and_points_at_the_learner_schema():
    solution = _solution([
        ("md", "# Title", [], []),
        ("code", SCHEMA_WIDGET, ["nbval-ignore-output"], [STDOUT]),
        ("code", "# BEGIN SOLUTION: do it\nx = 1\n# END SOLUTION", [], [STDOUT]),
        ("code", "assert x == 1\nprint('hello')", ["check", "nbval-check-output"], [STDOUT]),
    ])
    exercise = exercises.make_exercise(solution, "01_x.ipynb")
    cells = exercise.cells
    assert cells[0].cell_type == "markdown" and "Generated from `solutions/01_x.ipynb`" in cells[0].source
    assert [c.id for c in cells] == ["cell-00", "cell-01", "cell-02", "cell-03", "cell-04", "cell-05"]
    assert 'dbutils.widgets.text("schema", "day7_learner", "Schema")' in cells[2].source
    assert cells[2].outputs == [] and cells[2].execution_count is None
    assert cells[3].source.startswith("# TODO: do it") and cells[3].outputs == []
    check = cells[4]
    assert check.metadata == {"tags": ["check", "nbval-check-output"]}
    assert check.outputs[0]["text"] == "hello\n" and check.execution_count == 3  # third code cell
    assert cells[5].cell_type == "markdown" and "```\nhello\n```" in cells[5].source  # survives Run All
    assert exercise.metadata["day7"] == {"exercise_of": "01_x.ipynb"}
    assert exercises.to_text(exercise) == exercises.to_text(exercises.make_exercise(solution, "01_x.ipynb"))


def test_markers_in_a_check_cell_or_a_missing_schema_widget_are_errors():
    with pytest.raises(exercises.MarkerError, match="check cell"):
        exercises.make_exercise(_solution([
            ("code", SCHEMA_WIDGET, [], []),
            ("code", "# BEGIN SOLUTION\nx = 1\n# END SOLUTION", ["check"], [])]), "a.ipynb")
    with pytest.raises(exercises.MarkerError, match="schema"):
        exercises.make_exercise(_solution([("code", "# BEGIN SOLUTION\nx = 1\n# END SOLUTION", [], [])]), "a.ipynb")


# --------------------------------------------------------------------------- the real course

def test_the_committed_exercises_are_what_the_solutions_generate():
    assert exercises.drift() == [], "run `python runner.py exercises release` and commit notebooks/exercises/"
    assert sorted(p.name for p in EXERCISES.glob("*.ipynb")) == ["01_bronze.ipynb", "02_silver.ipynb", "03_gold.ipynb"]


def test_every_exercise_has_todos_and_checks_and_no_solution_code_left():
    for path in EXERCISES.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        sources = [c.source for c in nb.cells if c.cell_type == "code"]
        assert any('raise NotImplementedError("TODO' in s for s in sources), path.name
        assert any(exercises.is_check(c) and c.outputs for c in nb.cells), path.name
        assert not any(exercises.BEGIN in s or exercises.END in s for s in sources), path.name
        assert sources[0].startswith("# On Databricks, dbutils and spark already exist"), path.name


def test_every_check_with_output_has_its_reference_in_a_markdown_note_run_all_cannot_clear():
    for path in EXERCISES.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if not (exercises.is_check(cell) and cell.outputs):
                continue
            note = nb.cells[i + 1]
            printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert note.cell_type == "markdown", (path.name, i)
            assert "with a correct solution" in note.source
            assert all(line in note.source for line in printed.splitlines() if line.strip()), (path.name, i)


def test_solutions_start_with_the_idiom_and_keep_their_check_cells_tagged():
    idiom = ("# On Databricks, dbutils and spark already exist; elsewhere the Day 7 kit stands in for them.\n"
             "try:\n    dbutils\nexcept NameError:\n    from course.runtime import dbutils, spark, display")
    for path in exercises.solution_notebooks():
        nb = nbformat.read(path, as_version=4)
        first_code = next(c for c in nb.cells if c.cell_type == "code")
        assert first_code.source == idiom, path.name
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), path.name
        checks = [c for c in nb.cells if exercises.is_check(c)]
        assert checks and all("nbval-check-output" in c.metadata["tags"] for c in checks), path.name
        assert all(c.execution_count is not None for c in nb.cells if c.cell_type == "code"), \
            f"{path.name} must be committed executed (python runner.py exercises release --run-solutions)"


def test_release_into_another_folder_writes_the_same_files_and_drift_notices_an_edit(tmp_path):
    written = exercises.release(SOLUTIONS, tmp_path)
    assert [p.name for p in written] == ["01_bronze.ipynb", "02_silver.ipynb", "03_gold.ipynb"]
    for path in written:
        assert path.read_text(encoding="utf-8") == (EXERCISES / path.name).read_text(encoding="utf-8")
    assert exercises.drift(SOLUTIONS, tmp_path) == []

    edited = tmp_path / "02_silver.ipynb"
    nb = nbformat.read(edited, as_version=4)
    nb.cells[3].source += "\n# a learner's note"
    nbformat.write(nb, edited)
    (tmp_path / "99_extra.ipynb").write_text(edited.read_text())
    (tmp_path / "01_bronze.ipynb").unlink()
    problems = exercises.drift(SOLUTIONS, tmp_path)
    assert any("01_bronze.ipynb: missing" in p for p in problems)
    assert any("02_silver.ipynb: differs" in p for p in problems)
    assert any("99_extra.ipynb: no solution" in p for p in problems)

    exercises.release(SOLUTIONS, tmp_path)  # release repairs all three
    assert exercises.drift(SOLUTIONS, tmp_path) == []


def _cli(*argv) -> int:
    parser = argparse.ArgumentParser()
    exercises_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["exercises", *argv])
    return args.handler(args)


def test_the_check_command_fails_on_drift(tmp_path, monkeypatch, capsys):
    assert _cli("check") == 0
    assert "matches" in capsys.readouterr().out
    copy = tmp_path / "exercises"
    shutil.copytree(EXERCISES, copy)
    (copy / "03_gold.ipynb").unlink()
    monkeypatch.setattr(exercises, "EXERCISES_DIR", copy)
    assert _cli("check") == 1
    assert "03_gold.ipynb: missing" in capsys.readouterr().out


def test_grade_refuses_paths_that_are_not_notebooks(tmp_path):
    from course.cli import UsageError

    with pytest.raises(UsageError, match="not a notebook"):
        _cli("grade", str(tmp_path / "nope.txt"))


def test_a_graded_copy_uses_the_reference_check_cells_whatever_the_learner_did():
    reference = nbformat.read(EXERCISES / "01_bronze.ipynb", as_version=4)
    learner = nbformat.read(EXERCISES / "01_bronze.ipynb", as_version=4)
    check_index = next(i for i, c in enumerate(learner.cells) if exercises.is_check(c))
    learner.cells[check_index].source = "assert True  # weakened"
    learner.cells[check_index].outputs = []
    learner.cells[2].outputs = [nbformat.from_dict(STDOUT)]
    graded, problems = grading.graded_copy(learner, reference)
    assert problems == []
    assert graded.cells[check_index].source == reference.cells[check_index].source
    assert graded.cells[check_index].outputs == reference.cells[check_index].outputs
    assert graded.cells[2].outputs == [] and graded.cells[2].execution_count is None

    del learner.cells[check_index]
    _, problems = grading.graded_copy(learner, reference)
    assert problems and "missing" in problems[0]


def test_the_sanitize_file_masks_what_varies_and_keeps_counts():
    import re

    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((REPO / "nbval_sanitize.cfg").read_text())
    assert len(patterns) >= 8

    def sanitize(text):
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    assert sanitize("file:/home/x/repo/.day7/volumes/workspace/day7/raw/events/a.csv") == \
        "/Volumes/workspace/day7/raw/events/a.csv"
    assert sanitize('{"run_id": 812, "task_run_id": "813"}') == '{"run_id": <id>, "task_run_id": <id>}'
    assert sanitize("ingested 2026-11-26 05:25:45.335489") == "ingested <timestamp>"
    assert sanitize("run 5: SUCCESS in 3.1s") == "run <id>: SUCCESS in <duration>"
    kept = ("✓ 15,002 data lines in 2 files: 15,000 in bronze_events, 2 in bronze_quarantine\n"
            "✓ 4,705 sessions, 254 with a purchase (5.40%)\n| 2019-10-01 | 498   | 12    | 11        | 3518.35 |")
    assert sanitize(kept) == kept
    # and the committed solutions' outputs are compared as they are
    for path in exercises.solution_notebooks():
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                for text in [output.get("text", "")] + [v for v in output.get("data", {}).values() if isinstance(v, str)]:
                    assert sanitize(text) == text, f"{path.name}: {text[:200]}"


# --------------------------------------------------------------------------- nbval, for real

def test_the_grade_command_prints_the_report_or_json_and_sets_the_exit_code(monkeypatch, capsys):
    passing = grading.NotebookGrade("02_silver.ipynb", "x/02_silver.ipynb", True, 1, 1)
    failing = grading.NotebookGrade("03_gold.ipynb", "x/03_gold.ipynb", False, 0, 1, [
        grading.CellResult(3, "todo", "TODO: aggregate", False, "NotImplementedError: TODO: aggregate")])
    seen = []
    monkeypatch.setattr(grading, "grade", lambda paths, **kw: seen.append(paths) or [passing, failing])
    assert _cli("grade", str(EXERCISES)) == 1
    assert seen[0] == sorted(EXERCISES.glob("*.ipynb"))
    out = capsys.readouterr().out
    assert "✓ 02_silver.ipynb: PASS" in out and "✗ TODO left [cell 3] TODO: aggregate" in out
    monkeypatch.setattr(grading, "grade", lambda paths, **kw: [passing])
    assert _cli("grade", str(EXERCISES / "02_silver.ipynb"), "--json") == 0
    assert json.loads(capsys.readouterr().out)[0]["passed"] is True


@pytest.mark.slow
def test_an_unsolved_exercise_fails_with_helpful_messages(tmp_path):
    unsolved = tmp_path / "learner" / "01_bronze.ipynb"
    unsolved.parent.mkdir()
    shutil.copy(EXERCISES / "01_bronze.ipynb", unsolved)

    (bad,) = grading.grade([unsolved])

    assert not bad.passed
    todos = [f for f in bad.failures if f.kind == "todo"]
    assert todos and all(f.error.startswith("NotImplementedError: TODO: ") for f in todos)
    assert any("saveAsTable" in f.error for f in todos)
    checks = [f for f in bad.failures if f.kind == "check"]
    assert checks and "finish the TODO that writes them" in checks[0].error
    assert bad.checks_passed == 0 and bad.checks_total == 1
    report = grading.format_report([bad])
    assert "✗ 01_bronze.ipynb: FAIL" in report and "TODO left" in report and "0 of 1 notebook pass." in report


@pytest.mark.slow
def test_a_solved_exercise_passes_even_graded_alone_after_the_bronze_solution(tmp_path):
    solved = tmp_path / "learner" / "02_silver.ipynb"
    solved.parent.mkdir()
    solution = nbformat.read(SOLUTIONS / "02_silver.ipynb", as_version=4)
    nbformat.write(grading.solved_exercise(solution, "02_silver.ipynb"), solved)
    assert "day7_learner" in solved.read_text() and 'raise NotImplementedError(\\"TODO' not in solved.read_text()

    (good,) = grading.grade([solved])  # 01_bronze's solution runs first, ungraded

    assert good.passed, grading.format_report([good])
    assert good.checks_passed == good.checks_total == 1 and good.failures == []
    assert "✓ 02_silver.ipynb: PASS (1 of 1 checks passed)" in grading.format_report([good])
