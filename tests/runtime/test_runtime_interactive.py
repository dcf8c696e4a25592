"""Interactive mode, with a kernel driven like JupyterLab drives it (no papermill, no task context)."""
from __future__ import annotations

import json

import pytest

from runtime_fixtures import IDIOM, InteractiveKernel, stdout_of_messages

pytestmark = pytest.mark.slow


@pytest.fixture
def kernel():
    k = InteractiveKernel()
    reply, _ = k.execute(IDIOM)
    assert reply["status"] == "ok"
    yield k
    k.close()


def test_get_returns_what_the_learner_picked_in_the_widget(kernel):
    _, messages = kernel.execute(
        'dbutils.widgets.text("source_path", "/default/path")\n'
        'dbutils.widgets.dropdown("layer", "bronze", ["bronze", "silver", "gold"])\n'
        'dbutils.widgets.multiselect("regions", "eu", ["eu", "us", "apac"])'
    )
    comms = {m["content"]["data"]["state"]["_model_name"]: m["content"]["comm_id"]
             for m in messages if m["msg_type"] == "comm_open"}
    # The learner types a path, picks "gold", selects eu and apac.
    kernel.update_widget(comms["TextModel"], {"value": "/picked/path"})
    kernel.update_widget(comms["DropdownModel"], {"index": 2})
    kernel.update_widget(comms["SelectMultipleModel"], {"index": [0, 2]})

    _, messages = kernel.execute(
        'import json\nprint(json.dumps([dbutils.widgets.get(n) for n in ("source_path", "layer", "regions")]))'
    )
    assert json.loads(stdout_of_messages(messages)) == ["/picked/path", "gold", "eu,apac"]

    # Re-running the declaration keeps the pick (as on Databricks) and shows the same widget again.
    _, messages = kernel.execute('dbutils.widgets.dropdown("layer", "bronze", ["bronze", "silver", "gold"])\n'
                                 'print(dbutils.widgets.get("layer"))')
    assert stdout_of_messages(messages) == "gold\n"
    assert not [m for m in messages if m["msg_type"] == "comm_open"]

    # Different choices: a new widget replaces the old one, whose views are closed.
    _, messages = kernel.execute('dbutils.widgets.dropdown("layer", "silver", ["silver", "gold"])\n'
                                 'print(dbutils.widgets.get("layer"))')
    assert stdout_of_messages(messages) == "silver\n"
    assert comms["DropdownModel"] in [m["content"]["comm_id"] for m in messages if m["msg_type"] == "comm_close"]
    opened = [m["content"]["data"]["state"]["_model_name"] for m in messages if m["msg_type"] == "comm_open"]
    assert opened.count("DropdownModel") == 1


def test_exit_stops_only_the_current_cell_and_reports_success(kernel):
    reply, messages = kernel.execute('print("before")\ndbutils.notebook.exit("done")\nprint("not reached")')
    assert reply["status"] == "ok"
    assert not [m for m in messages if m["msg_type"] == "error"]
    assert stdout_of_messages(messages) == "before\nNotebook exited: done\n"

    reply, messages = kernel.execute('print("the learner runs another cell")')
    assert reply["status"] == "ok"
    assert stdout_of_messages(messages) == "the learner runs another cell\n"

    # A cell with top-level await takes IPython's async path: same outcome.
    reply, messages = kernel.execute('import asyncio\nawait asyncio.sleep(0)\ndbutils.notebook.exit("async")')
    assert reply["status"] == "ok"
    assert stdout_of_messages(messages) == "Notebook exited: async\n"


def test_task_values_outside_a_job_use_debug_value(kernel):
    _, messages = kernel.execute(
        'dbutils.jobs.taskValues.set("rows", 1)\n'
        'dbutils.jobs.taskValues.set("rows", 2)\n'
        'print(dbutils.jobs.taskValues.get("bronze", "rows", default=5, debugValue=7))'
    )
    out = stdout_of_messages(messages)
    assert out.count("not in a job run") == 1   # said once
    assert out.endswith("7\n")                    # debugValue, not the local value nor default

    reply, messages = kernel.execute('dbutils.jobs.taskValues.get("bronze", "rows")')
    assert reply["status"] == "error"
    assert reply["ename"] == "TypeError"
    assert reply["evalue"] == ("Must pass debugValue when calling get outside of a job context. "
                               "debugValue cannot be None.")
