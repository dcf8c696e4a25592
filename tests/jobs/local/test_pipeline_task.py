"""pipeline_task end to end: a bundle pipeline (SQL with read_files and CONSTRAINT … EXPECT, `import dlt`
with expectation dicts, `from pyspark import pipelines as dp`, a source-format notebook) refreshed by
a job on Spark Declarative Pipelines, on the run's job cluster; then the pieces without Spark."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runner_fixtures import module_home, run_state  # noqa: F401
from course.jobs.spec import JobSpecError, load_job

BUNDLE = Path(__file__).parents[1] / "pipelines" / "databricks.yml"


@pytest.fixture(scope="module")
def orders_run(module_home):
    """refresh (full) -> again (incremental, nothing new) -> strict (an expect_or_fail that fails)."""
    def scenario():
        from course.jobs.local.history import History
        from course.jobs.local.runner import LocalRunner, RunOptions

        landing = module_home.home / "landing"
        landing.mkdir()
        shutil.copy(BUNDLE.parent / "data" / "orders_1.csv", landing)
        job = load_job(BUNDLE, job_key="orders_refresh", variables={"landing": str(landing)})
        runner = LocalRunner(job, History(), RunOptions())
        run_id = runner.run()
        history = runner.history
        run = history.get_run(run_id)
        tasks = {t.task_key: t for t in run.tasks}
        outputs = {key: history.get_output(t.run_id) for key, t in tasks.items()}
        return run, tasks, outputs
    return module_home(scenario)


def summary(output) -> dict:
    return json.loads(output.logs)


def test_the_update_writes_every_dataset_and_reports_rows(orders_run):
    run, tasks, outputs = orders_run
    assert run_state(run)[1] == "FAILED"                                # strict fails on purpose
    assert tasks["refresh"].state.result_state.value == "SUCCESS", tasks["refresh"].state.state_message
    s = summary(outputs["refresh"])
    assert s["state"] == "COMPLETED" and s["full_refresh"] is True
    tables = {t["name"]: t for t in s["tables"]}
    assert tables["orders_raw"] == dict(tables["orders_raw"], type="streaming_table", rows_written=6, rows=6)
    # 6 landed; bob (-3.00), eve (no amount) and order 4 (no customer) dropped
    assert tables["orders_clean"]["rows"] == 3
    assert tables["revenue_by_country"]["type"] == "materialized_view"
    assert tables["revenue_by_country"]["rows"] == 3


def test_expectations_are_enforced_and_counted(orders_run):
    _run, _tasks, outputs = orders_run
    got = {(e["dataset"], e["name"]): e for e in summary(outputs["refresh"])["expectations"]}
    assert got[("orders_clean", "known_customer")] == dict(got[("orders_clean", "known_customer")],
                                                           action="drop", passed=5, failed=1, dropped=1)
    assert got[("orders_clean", "positive_amount")]["failed"] == 2     # -3.00 and an empty amount
    assert got[("orders_clean", "has_country")] == dict(got[("orders_clean", "has_country")],
                                                        action="warn", failed=1, dropped=0)
    assert got[("orders_raw", "has_order_id")]["passed"] == 6           # SQL CONSTRAINT, through read_files
    assert got[("revenue_by_country", "total_above_minimum")]["failed"] == 0


def test_an_incremental_update_reads_only_new_files(orders_run):
    _run, tasks, outputs = orders_run
    assert tasks["again"].state.result_state.value == "SUCCESS"
    s = summary(outputs["again"])
    tables = {t["name"]: t for t in s["tables"]}
    assert s["full_refresh"] is False
    assert (tables["orders_raw"]["rows_written"], tables["orders_raw"]["rows"]) == (0, 6)


def test_runs_output_shows_the_summary(orders_run, module_home, capsys):
    from course.cli import main

    _run, tasks, _outputs = orders_run
    # ${resources.pipelines.orders.id}: locally a pipeline's id is its resource key
    assert tasks["refresh"].pipeline_task.pipeline_id == "orders"
    module_home(lambda: main(["runs", "output", str(tasks["refresh"].run_id)]))
    out = capsys.readouterr().out
    assert "orders_raw: 6 rows written, 6 in total" in out
    assert "expectation orders_clean.positive_amount (drop): 4 passed, 2 failed, 2 dropped" in out


def test_a_failing_expectation_fails_the_task_and_names_itself(orders_run):
    _run, tasks, outputs = orders_run
    assert tasks["strict"].state.result_state.value == "FAILED"
    message = tasks["strict"].state.state_message
    assert "total_above_minimum" in message and "orders-strict" in message
    assert summary(outputs["strict"])["state"] == "FAILED"


# ---------------------------------------------------------------- without Spark

def test_databricks_pipeline_sql_is_rewritten_for_sdp():
    from course.runtime.pipelines.sqltext import Rewriter, Unsupported

    r = Rewriter({"src": "/Volumes/workspace/raw/landing/orders"})
    (st,) = r.file("""-- landed
        CREATE OR REFRESH STREAMING LIVE TABLE raw_orders (
          id INT,
          CONSTRAINT has_id EXPECT (id IS NOT NULL) ON VIOLATION DROP ROW,
          CONSTRAINT fair EXPECT (amount < 1000)
        ) COMMENT "as landed" AS SELECT * FROM STREAM read_files('${src}', format => 'json')""")
    assert st.kind == "streaming_table" and st.dataset == "raw_orders"
    assert st.sql.startswith("CREATE STREAMING TABLE raw_orders (id INT) COMMENT \"as landed\" AS")
    assert [(e.name, e.action) for e in st.expectations] == [("has_id", "drop"), ("fair", "warn")]
    assert "STREAM(__day7_read_files_1)" in st.sql
    assert (r.sources[0].path, r.sources[0].options) == ("/Volumes/workspace/raw/landing/orders", {"format": "json"})
    (mv,) = r.file("CREATE OR REFRESH LIVE TABLE daily AS SELECT count(*) FROM LIVE.raw_orders")
    assert mv.sql == "CREATE MATERIALIZED VIEW daily AS SELECT count(*) FROM raw_orders"
    with pytest.raises(Unsupported, match="APPLY CHANGES"):
        r.file("APPLY CHANGES INTO t FROM STREAM(s) KEYS (id) SEQUENCE BY ts")


def test_a_pipeline_field_databricks_does_not_have_is_refused_naming_it(tmp_path):
    (tmp_path / "a.sql").write_text("CREATE MATERIALIZED VIEW m AS SELECT 1")
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: b}\nresources:\n  pipelines:\n    p:\n      schema: s\n      libarries: []\n"
        "  jobs:\n    j:\n      tasks:\n        - task_key: t\n          pipeline_task: {pipeline_id: p}\n")
    with pytest.raises(JobSpecError, match=r"resources\.pipelines\.p\.libarries: unknown pipeline field "
                                           r"'libarries' \(did you mean 'libraries'"):
        load_job(tmp_path / "databricks.yml")
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: b}\nresources:\n  pipelines:\n    p:\n      libraries: [{file: {path: ./b.sql}}]\n"
        "  jobs:\n    j:\n      tasks:\n        - task_key: t\n          pipeline_task: {pipeline_id: p}\n")
    with pytest.raises(JobSpecError, match=r"libraries\[0\]\.file\.path: file not found: \./b\.sql"):
        load_job(tmp_path / "databricks.yml")


def test_pipeline_id_names_a_pipeline_by_reference_key_or_name():
    from course.jobs.local.executors.pipeline import pipeline_key

    pipelines = {"orders": {"name": "orders-pipeline"}}
    assert pipeline_key("${resources.pipelines.orders.id}", pipelines) == "orders"
    assert pipeline_key("orders-pipeline", pipelines) == "orders"
    with pytest.raises(ValueError, match="names no pipeline of this bundle's resources.pipelines \\(orders\\)"):
        pipeline_key("1234-abcd", pipelines)
