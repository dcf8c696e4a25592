"""Real Databricks notebooks run unchanged: source-format .py/.sql notebooks, exported
.ipynb files (a Python one with %sql/%md/%run cells, a SQL one with plain SQL cells), Unity
Catalog names, format("delta") and a dbutils.notebook.run orchestrator
(tests/notebooks/databricks/), as a job and in a kernel."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from course.platform import paths
from course.runtime import sourcenb, unity

CORPUS = Path(__file__).resolve().parents[1] / "notebooks" / "databricks"
BUNDLE = CORPUS / "databricks.yml"


# --- reading source-format notebooks ---------------------------------------------------------

def test_a_python_source_notebook_becomes_cells_with_magics_and_titles():
    nb = nbformat.from_dict(sourcenb.read(CORPUS / "ingest_orders.py"))
    kinds = [(c.cell_type, c.source.splitlines()[0]) for c in nb.cells]
    assert kinds[0] == ("markdown", "# Bronze: ingest orders")
    assert kinds[1] == ("code", "%run ./includes/helpers")
    assert nb.cells[2].metadata["title"] == "Parameters"
    assert nb.cells[2].source.startswith('dbutils.widgets.text("catalog"')   # the DBTITLE line is gone
    sql = next(c for c in nb.cells if c.source.startswith("%%sql"))
    assert "FROM workspace.${schema}.orders_bronze" in sql.source and "MAGIC" not in sql.source
    assert nb.cells[-1].source == "%pip install great-expectations"
    nbformat.validate(sourcenb.load(CORPUS / "ingest_orders.py"))


def test_a_sql_source_notebook_runs_its_plain_cells_as_sql():
    cells = sourcenb.read(CORPUS / "setup_catalog.sql")["cells"]
    assert cells[0]["cell_type"] == "markdown"
    assert cells[1]["source"] == '%%sql\nCREATE WIDGET TEXT schema DEFAULT "nb_demo"'
    assert cells[2]["metadata"] == {"title": "Schema and volume"}
    python = cells[3]["source"]
    assert python.startswith('schema = dbutils.widgets.get("schema")') and "%" not in python.splitlines()[0]
    assert cells[4]["source"] == "%fs ls /Volumes/workspace"


def test_an_exported_sql_notebook_runs_its_plain_cells_as_sql(tmp_path):
    path = CORPUS / "status_report.ipynb"
    assert sourcenb.is_sql_export(path)
    nb = sourcenb.load(path)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert code[0] == '%%sql\nCREATE WIDGET TEXT schema DEFAULT "nb_demo"'
    assert code[1].startswith("%%sql\nCREATE OR REPLACE TABLE workspace.${schema}.orders_by_status AS")
    assert code[3].startswith("%python\n")                     # another language keeps its own line
    assert [c.cell_type for c in nb.cells].count("markdown") == 2
    python_export = CORPUS / "gold_report.ipynb"                 # a Python export is read as it is
    assert not sourcenb.is_sql_export(python_export)
    assert sourcenb.load(python_export) == nbformat.read(python_export, as_version=4)
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    assert not sourcenb.is_sql_export(broken)


def test_scala_and_r_notebooks_are_refused_in_one_line(tmp_path):
    with pytest.raises(sourcenb.SourceNotebookError, match="is a Scala notebook: the kit runs Python and SQL notebooks"):
        sourcenb.read(CORPUS / "legacy_report.scala")
    plain = tmp_path / "plain.py"
    plain.write_text("print('not a notebook')\n")
    with pytest.raises(sourcenb.SourceNotebookError, match="starts with '# Databricks notebook source'"):
        sourcenb.read(plain)


def test_paths_without_an_extension_resolve_like_the_workspace():
    assert sourcenb.resolve("child_step", CORPUS) == CORPUS / "child_step.py"
    assert sourcenb.resolve("./setup_catalog", CORPUS) == CORPUS / "setup_catalog.sql"
    assert sourcenb.resolve("gold_report", CORPUS) == CORPUS / "gold_report.ipynb"
    with pytest.raises(FileNotFoundError, match="tried nope, nope.ipynb, nope.py"):
        sourcenb.resolve("nope", CORPUS)


# --- names and statements ----------------------------------------------------------------------

def test_three_part_names_map_onto_the_session_catalog():
    unity.reset()
    try:
        assert unity.table_name("workspace.day7.events") == "day7.events"
        assert unity.table_name("main.sales.orders") == "main__sales.orders"
        assert unity.table_name("day7.events") == "day7.events"
        unity.set_current_catalog("main")
        assert unity.table_name("sales.orders") == "main__sales.orders"   # two parts: the current catalog
    finally:
        unity.reset()


def test_statements_split_at_semicolons_outside_strings_and_comments():
    text = "SELECT ';' AS a; -- a comment; still a comment\nSELECT `x;y` FROM t;\n\n  ;"
    assert [s.strip() for s in unity.split_statements(text)] == [
        "SELECT ';' AS a", "-- a comment; still a comment\nSELECT `x;y` FROM t"]


# --- as a job -----------------------------------------------------------------------------------

def _run(job_key: str):
    from course.jobs.local.history import History
    from course.jobs.local.runner import LocalRunner, RunOptions
    from course.jobs.spec import load_job

    runner = LocalRunner(load_job(BUNDLE, job_key=job_key), History(), RunOptions())
    run_id = runner.run()
    return runner.history, runner.history.get_run(run_id)


@pytest.mark.slow
def test_the_corpus_runs_as_a_job():
    history, run = _run("databricks_style")
    tasks = {t.task_key: t for t in run.tasks}
    assert {k: t.state.result_state.value for k, t in tasks.items()} == {
        "setup": "SUCCESS", "bronze": "SUCCESS", "gold": "SUCCESS", "status": "SUCCESS",
        "orchestrate": "SUCCESS"}, \
        {k: t.state.state_message for k, t in tasks.items()}
    # every executed notebook is kept as .ipynb, source notebooks included
    for task in tasks.values():
        assert nbformat.read(task.run_page_url[len("file://"):], as_version=4).cells
    assert history.task_run_values(tasks["bronze"].run_id) == {"bronze_rows": 20}
    assert history.task_run_values(tasks["orchestrate"].run_id) == {"big_orders": 14}
    assert history.task_run_values(tasks["gold"].run_id) == {"customers": 4}
    assert history.task_run_values(tasks["status"].run_id) == {"statuses": 2}   # the exported SQL notebook
    warehouse = paths.warehouse_dir() / "nb_demo.db"
    assert sorted(p.name for p in warehouse.iterdir()) == ["orders_bronze", "orders_by_status", "orders_gold"]
    children = Path(tasks["orchestrate"].run_page_url[len("file://"):]).with_suffix("") / "notebook_runs"
    assert sorted(p.name for p in children.glob("*.ipynb")) == ["001-child_step.ipynb", "002-child_step.ipynb"]
    pip = [o for c in nbformat.read(tasks["bronze"].run_page_url[len("file://"):], 4).cells
           for o in c.get("outputs", []) if "%pip" in o.get("text", "")]
    assert "notebook-scoped libraries are not supported locally" in pip[0]["text"]


@pytest.mark.slow
def test_a_scala_notebook_task_fails_in_one_line():
    _, run = _run("scala_notebook")
    task = run.tasks[0]
    assert task.state.result_state.value == "FAILED"
    assert task.state.state_message.endswith("is a Scala notebook: the kit runs Python and SQL notebooks")


# --- in a kernel ----------------------------------------------------------------------------------

@pytest.fixture
def kernel():
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(CORPUS))
    kc.wait_for_ready(timeout=60)

    def execute(code: str) -> tuple[dict, str]:
        messages: list[dict] = []
        reply = kc.execute_interactive(code, allow_stdin=True, output_hook=messages.append, timeout=300)
        text = "".join(m["content"].get("text", "") for m in messages if m["msg_type"] == "stream")
        text += "".join(m["content"].get("data", {}).get("text/plain", "") for m in messages
                        if m["msg_type"] in ("display_data", "execute_result"))
        text += "".join(m["content"].get("evalue", "") for m in messages if m["msg_type"] == "error")
        return reply["content"], text

    yield execute
    kc.stop_channels()
    km.shutdown_kernel(now=True)


@pytest.mark.slow
def test_the_corpus_runs_in_a_kernel_that_imports_the_kit(kernel):
    reply, _ = kernel("import course.runtime")
    assert reply["status"] == "ok"
    for line in ('%run ./setup_catalog $schema="nb_kernel"',
                 '%run ./ingest_orders $schema="nb_kernel"',
                 '%run ./gold_report.ipynb $schema="nb_kernel"',
                 '%run ./status_report $schema="nb_kernel"',
                 '%run ./orchestrator $schema="nb_kernel"'):
        reply, text = kernel(line)
        if line.endswith('orchestrator $schema="nb_kernel"'):
            assert reply["status"] == "ok" or "orchestrated 14,7" in text, text  # exit stops the cell
        else:
            assert reply["status"] == "ok", (line, text)
    reply, text = kernel("%sql\nUSE CATALOG workspace;\nSELECT COUNT(*) AS n FROM workspace.nb_kernel.orders_gold;")
    assert reply["status"] == "ok" and text.splitlines()[:3] == ["+---+", "| n |", "+---+"], text
    reply, text = kernel("print(_sqldf.first()['n'], type(displayHTML).__name__)")
    assert text.strip() == "4 function", text
    reply, text = kernel("from databricks.sdk.runtime import dbutils as d, spark as s\n"
                         "print(d is dbutils, type(s).__name__)")
    assert text.strip() == "True SparkProxy", text
    reply, text = kernel("%%scala\nprintln(1)")
    assert reply["status"] == "error" and "This cell is Scala" in text
    if not unity.parquet_only():
        return  # Delta's jars are on this machine: MERGE works
    reply, text = kernel("%sql MERGE INTO workspace.nb_kernel.orders_gold g USING workspace.nb_kernel.orders_gold s "
                         "ON g.customer = s.customer WHEN MATCHED THEN DELETE")
    assert reply["status"] == "error"
    assert text.startswith("MERGE INTO needs Delta Lake, and tables here are Parquet because"), text
