"""dbutils.jobs.taskValues between real notebooks, and for a `.py` task."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from course.runtime.scraps import read_task_outputs
from runtime_fixtures import make_notebook, observed, run, task_context

pytestmark = pytest.mark.slow


def test_task_values_round_trip_from_one_notebook_to_the_next(tmp_path):
    producer = make_notebook(tmp_path / "bronze.ipynb", [
        'dbutils.jobs.taskValues.set("rows_written", 123)\n'
        'dbutils.jobs.taskValues.set("stats", {"min": 1.5, "tables": ["a", "b"], "ok": True})\n'
        'dbutils.jobs.taskValues.set("as_text", "123")\n'
        'dbutils.jobs.taskValues.set("nothing", None)\n'
        'dbutils.jobs.taskValues.set("pair", (1, 2))',
        'dbutils.jobs.taskValues.set("status", "first")',
        'dbutils.jobs.taskValues.set("status", "final")\n'
        'observe("own", dbutils.jobs.taskValues.get("bronze", "status"))',
    ])
    run(producer, tmp_path / "bronze.out.ipynb", task_context(tmp_path, task_key="bronze"))
    outputs = read_task_outputs(tmp_path / "bronze.out.ipynb")
    assert outputs.task_values == {"rows_written": 123, "stats": {"min": 1.5, "tables": ["a", "b"], "ok": True},
                                   "as_text": "123", "nothing": None, "pair": [1, 2], "status": "final"}
    assert outputs.exit_value is None
    assert observed(tmp_path / "bronze.out.ipynb")["own"] == "final"

    consumer = make_notebook(tmp_path / "silver.ipynb", [
        'tv = dbutils.jobs.taskValues\n'
        'observe("got", [tv.get("bronze", k) for k in ("rows_written", "stats", "as_text", "status")])\n'
        'observe("default", tv.get("bronze", "missing", default=0))\n'
        'observe("debug_ignored", tv.get("bronze", "rows_written", debugValue=-1))',
        'try:\n    tv.get("bronze", "missing")\nexcept ValueError as e:\n    observe("missing", str(e))',
        'try:\n    tv.get("gold", "rows")\nexcept ValueError as e:\n    observe("unknown_task", str(e))',
    ])
    context = task_context(tmp_path, task_key="silver", task_values={"bronze": outputs.task_values})
    run(consumer, tmp_path / "silver.out.ipynb", context)
    seen = observed(tmp_path / "silver.out.ipynb")
    assert seen["got"] == [123, {"min": 1.5, "tables": ["a", "b"], "ok": True}, "123", "final"]
    assert seen["default"] == 0
    assert seen["debug_ignored"] == 123
    assert "'bronze'" in seen["missing"] and "'missing'" in seen["missing"]
    assert "'gold'" in seen["unknown_task"] and "'rows'" in seen["unknown_task"]


def test_task_value_errors_name_the_key_and_the_problem(tmp_path):
    nb = make_notebook(tmp_path / "errors.ipynb", [
        'def error_of(value):\n'
        '    try:\n'
        '        dbutils.jobs.taskValues.set("k", value)\n'
        '    except Exception as e:\n'
        '        return [type(e).__name__, str(e)]',
        'observe("too_big", error_of("x" * (48 * 1024)))\n'
        'observe("object", error_of(object()))\n'
        'observe("nan", error_of(float("nan")))\n'
        'dbutils.jobs.taskValues.set("just_fits", "x" * (48 * 1024 - 2))',
    ])
    run(nb, tmp_path / "out.ipynb", task_context(tmp_path, task_key="bronze"))
    seen = observed(tmp_path / "out.ipynb")
    kind, message = seen["too_big"]
    assert kind == "ValueError" and "'k'" in message and "49154 bytes" in message and "48 KiB" in message
    kind, message = seen["object"]
    assert kind == "TypeError" and "'k'" in message and "JSON-serialisable" in message and "object" in message
    assert seen["nan"][0] == "TypeError"
    assert read_task_outputs(tmp_path / "out.ipynb").task_values == {"just_fits": "x" * (48 * 1024 - 2)}


PY_TASK = """\
try:
    dbutils
except NameError:
    from course.runtime import dbutils, spark, display
dbutils.jobs.taskValues.set("rows", 7)
dbutils.jobs.taskValues.set("rows", 8)
dbutils.jobs.taskValues.set("source", dbutils.widgets.get("source_path"))
dbutils.notebook.exit("py done")
print("not reached")
"""


def test_a_py_task_records_to_its_output_dir(tmp_path):
    script = tmp_path / "task.py"
    script.write_text(PY_TASK)
    context = task_context(tmp_path, task_key="py", parameters={"source_path": "/in"})
    env = {**os.environ, "DAY7_TASK": json.dumps(context)}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Notebook exited: py done\n"
    assert read_task_outputs(context["output_dir"]) == ({"rows": 8, "source": "/in"}, "py done")
