"""dbutils.notebook.exit and dbutils.notebook.run in real kernels, and nbval on a notebook that exits."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course.runtime.scraps import read_task_outputs
from runtime_fixtures import NOTEBOOKS, make_notebook, observed, outputs, run, stdout_of, task_context

pytestmark = pytest.mark.slow

EXITS = [
    'observe("before", True)',
    'try:\n'
    '    dbutils.notebook.exit("bronze done")\n'
    'except Exception:\n'
    '    observe("swallowed", True)   # exit is not an Exception: user code cannot swallow it\n'
    'observe("same cell", True)',
    'observe("after", True)\nraise RuntimeError("a later cell ran")',
]


@pytest.mark.parametrize("mode", ["runner", "plain papermill"])
def test_exit_ends_the_notebook_successfully(tmp_path, mode):
    nb = make_notebook(tmp_path / "exits.ipynb", EXITS)
    context = task_context(tmp_path) if mode == "runner" else None
    result = run(nb, tmp_path / "out.ipynb", context)   # papermill raises on any failed cell

    assert observed(tmp_path / "out.ipynb") == {"before": True}
    assert read_task_outputs(tmp_path / "out.ipynb").exit_value == "bronze done"
    assert not [o for o in outputs(result) if o["output_type"] == "error"]
    exit_cell, later_cell = result.cells[-2], result.cells[-1]
    assert stdout_of(exit_cell) == "Notebook exited: bronze done\n"
    assert later_cell.outputs == []
    assert all(c.metadata.papermill.status == "completed" for c in result.cells)


CHILD = [
    'dbutils.widgets.text("n", "1")\n'
    'dbutils.widgets.text("mode", "ok")\n'
    'n, mode = int(dbutils.widgets.get("n")), dbutils.widgets.get("mode")',
    'if mode == "fail":\n    1 / 0\n'
    'if mode == "slow":\n    import time; time.sleep(60)',
    'dbutils.notebook.exit(f"child got n={n}")',
]

PARENT = [
    'from course.runtime import NotebookRunFailed, NotebookRunTimeout\n'
    'observe("result", dbutils.notebook.run("./child", 60, {"n": 5}))',
    'try:\n'
    '    dbutils.notebook.run("child.ipynb", 60, {"mode": "fail"})\n'
    'except NotebookRunFailed as e:\n'
    '    observe("failed", str(e))',
    'try:\n'
    '    dbutils.notebook.run("child", 3, {"mode": "slow"})\n'
    'except NotebookRunTimeout as e:\n'
    '    observe("timeout", str(e))',
]


def test_run_passes_arguments_and_returns_the_exit_value(tmp_path):
    make_notebook(tmp_path / "child.ipynb", CHILD, observe=False)
    parent = make_notebook(tmp_path / "parent.ipynb", PARENT)
    context = task_context(tmp_path, task_key="orchestrate")
    result = run(parent, tmp_path / "parent.out.ipynb", context)

    assert not [o for o in outputs(result) if o.get("name") == "stderr"]   # no papermill chatter
    seen = observed(tmp_path / "parent.out.ipynb")
    assert seen["result"] == "child got n=5"
    assert "ZeroDivisionError: division by zero" in seen["failed"]
    assert "within 3 s" in seen["timeout"]
    runs = sorted(p.name for p in (Path(context["output_dir"]) / "notebook_runs").glob("*.ipynb"))
    assert runs == ["001-child.ipynb", "002-child.ipynb", "003-child.ipynb"]


def test_nbval_accepts_a_notebook_with_widgets_that_exits(tmp_path):
    # Stored outputs include ipywidget views (nbval skips their random model ids)
    # and the exit line; nbval re-runs it in a fresh kernel and compares.
    notebook = shutil.copy(NOTEBOOKS / "nbval_widgets_exit.ipynb", tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "-p", "no:cacheprovider", "-q",
         "--rootdir", str(tmp_path), "-c", "/dev/null", str(notebook)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout
