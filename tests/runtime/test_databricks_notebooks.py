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


def test_two_part_table_names_in_sql_follow_use_catalog_and_columns_do_not():
    from course.runtime.dbx import sqlnames

    sql = ("SELECT o.id, sales.region FROM sales.orders o JOIN `my-s`.customers AS sales ON o.c = sales.id "
           "WHERE o.id IN (SELECT id FROM main.sales.returns) AND EXISTS (SELECT 1 FROM parquet.`/Volumes/a/b/c`)")
    assert sqlnames.qualify(sql, "main") == sql.replace("FROM sales.orders", "FROM main__sales.orders") \
        .replace("`my-s`.customers", "`main__my-s`.customers")
    assert sqlnames.qualify("INSERT INTO sales.orders SELECT * FROM sales.staging", "dev") == \
        "INSERT INTO dev__sales.orders SELECT * FROM dev__sales.staging"
    assert sqlnames.qualify("CREATE WIDGET TEXT x DEFAULT 'y' ((", "dev") == "CREATE WIDGET TEXT x DEFAULT 'y' (("


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


SECRET = "tok-9f8e7d6c5b"


@pytest.mark.slow
def test_the_corpus_runs_as_a_job(day7_home):
    import json
    import os

    (day7_home / "secrets.json").write_text(json.dumps({"day7": {"api_token": SECRET}}))
    history, run = _run("databricks_style")
    tasks = {t.task_key: t for t in run.tasks}
    assert {k: t.state.result_state.value for k, t in tasks.items()} == {
        "setup": "SUCCESS", "bronze": "SUCCESS", "gold": "SUCCESS", "status": "SUCCESS", "orchestrate": "SUCCESS",
        "paths": "SUCCESS", "secrets": "SUCCESS"}, {k: t.state.state_message for k, t in tasks.items()}
    # volumes and DBFS paths were written in the state folder, never in the machine's /Volumes or /dbfs
    assert history.task_run_values(tasks["paths"].run_id) == {"exports": 2}
    assert (paths.volumes_root() / "workspace/nb_demo/landing/exports/shipped_parquet").is_dir()
    assert not os.path.exists("/Volumes") and not os.path.exists("/dbfs")
    # the secret is usable but printed redacted; the context knows the notebook and the job
    assert history.task_run_values(tasks["secrets"].run_id) == {"notebook": "secrets_context", "in_job": True}
    executed = Path(tasks["secrets"].run_page_url[len("file://"):]).read_text()
    assert "token: [REDACTED]" in executed and SECRET not in executed
    assert f"secrets_context run by " in executed and f"in job {run.job_id}, run {run.run_id}" in executed
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
                 '%run ./volumes_paths $schema="nb_kernel"',
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
    reply, text = kernel("import pandas\npandas.DataFrame({'a': [1]}).to_csv('/Volumes/workspace/nb_kernel/landing/x/a.csv')")
    assert reply["status"] == "error" and "its local folder is " + str(paths.volumes_root()) in text, text
    assert not Path("/Volumes").exists()
    reply, text = kernel("try:\n    dbutils.fs.mount('s3a://bucket/raw', '/mnt/raw')\nexcept RuntimeError as e:\n    print(e)")
    assert text.startswith("dbutils.fs.mount: mounts are deprecated with Unity Catalog"), text
    reply, text = kernel("%sql\nUSE CATALOG nb_other;\nCREATE SCHEMA IF NOT EXISTS sales;\n"
                         "CREATE OR REPLACE TABLE sales.t AS SELECT 1 AS a;\nSELECT t.a FROM sales.t AS t")
    assert reply["status"] == "ok", text
    reply, text = kernel("print(_sqldf.first()['a'], spark.catalog.tableExists('nb_other.sales.t'))\n"
                         "spark.sql('USE CATALOG workspace')")
    assert text.startswith("1 True"), text
    reply, text = kernel("%%scala\nprintln(1)")
    assert reply["status"] == "error" and "This cell is Scala" in text
    if not unity.parquet_only():
        return  # Delta's jars are on this machine: MERGE works
    reply, text = kernel("%sql MERGE INTO workspace.nb_kernel.orders_gold g USING workspace.nb_kernel.orders_gold s "
                         "ON g.customer = s.customer WHEN MATCHED THEN DELETE")
    assert reply["status"] == "error"
    assert text.startswith("MERGE INTO needs Delta Lake, and tables here are Parquet because"), text
    reply, text = kernel("from delta.tables import DeltaTable\nDeltaTable.forName(spark, 'workspace.nb_kernel.orders_gold')")
    assert reply["status"] == "error"
    assert text.startswith("DeltaTable.forName needs Delta Lake, and tables here are Parquet because"), text
