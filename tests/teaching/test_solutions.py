"""The solution notebooks: nbval as committed, and as tasks of a job run (task values,
the quality gate, reconciliation, idempotent re-runs).

All tests share one local job cluster (a Spark Connect server), as the tasks of a run do:
each notebook's kernel connects in ~1 s instead of starting its own Spark.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "solutions"
SCHEMA = "day7_job"  # the job-mode tests' own schema, apart from the nbval run's `day7`

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def day7_home(tmp_path_factory):
    """One kit state folder for the module (overrides the per-test one): the cluster's warehouse."""
    home = tmp_path_factory.mktemp("day7home-solutions")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAY7_HOME", str(home))
        mp.setenv("DAY7_QUIET_STORAGE", "1")
        mp.delenv("DAY7_TASK", raising=False)
        yield home


@pytest.fixture(scope="module")
def cluster(day7_home):
    from course.jobs.local.compute.cluster import LocalCluster

    with LocalCluster(name="test-solutions") as server, pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPARK_REMOTE", server.url)  # kernels started by papermill inherit it
        yield server


@pytest.fixture(scope="module")
def spark(cluster):
    from pyspark.sql import SparkSession

    session = SparkSession.builder.remote(cluster.url).getOrCreate()
    yield session
    session.stop()


def run_task(tmp_path: Path, notebook: str, task_key: str, parameters: dict, task_values: dict | None = None,
             run_id: int = 501):
    """Run a solution notebook as a task of job run `run_id`; returns (task values, exit value)."""
    import papermill
    from course.runtime.scraps import read_task_outputs

    out = tmp_path / f"{task_key}-{len(list(tmp_path.glob('*.ipynb')))}.ipynb"
    context = {"job_id": 1, "job_name": "day7-medallion", "run_id": run_id, "task_key": task_key,
               "task_run_id": run_id + 1, "parameters": {"catalog": "workspace", "schema": SCHEMA,
                                                         **parameters},
               "task_values": task_values or {}, "output_dir": str(tmp_path / task_key)}
    papermill.execute_notebook(str(SOLUTIONS / notebook), str(out), parameters={"day7_task": context},
                               kernel_name="python3", cwd=str(SOLUTIONS), progress_bar=False,
                               shutdown_kernel="immediate")
    outputs = read_task_outputs(out)
    return outputs.task_values, json.loads(outputs.exit_value)


def test_nbval_passes_on_the_committed_solutions(request, day7_home):
    """What `pytest --nbval solutions/ --nbval-sanitize-with nbval_sanitize.cfg` checks, in order.

    `make test` (and CI) collect solutions/ with --nbval in the same session: its nbval items
    check exactly this, so here it would run the four notebooks a second time."""
    strict = request.config.getoption("nbval") and request.config.getoption("nbval_sanitize_with")
    if strict and any(Path(str(item.path)).parent == SOLUTIONS for item in request.session.items):
        pytest.skip("this session's nbval items check the committed solutions (make test: `pytest tests solutions --nbval`)")
    cluster = request.getfixturevalue("cluster")
    notebooks = [str(SOLUTIONS / n) for n in ("01_bronze.ipynb", "02_silver.ipynb", "03_gold.ipynb",
                                              "medallion_layer.ipynb")]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-sanitize-with", str(REPO / "nbval_sanitize.cfg"),
         "-p", "no:cacheprovider", "-q", "--color=no", "-o", "addopts=", *notebooks],
        cwd=REPO, env=dict(os.environ, SPARK_REMOTE=cluster.url), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "passed" in result.stdout


def test_bronze_silver_gold_as_a_job_run(cluster, spark, tmp_path):
    from papermill.exceptions import PapermillExecutionError

    params = {"source_path": "/Volumes/workspace/day7/raw/events", "run_date": "2019-11-30", "run_id": "501"}
    bronze, summary = run_task(tmp_path, "01_bronze.ipynb", "bronze", params)
    assert bronze == {"rows_read": 15002, "rows_written": 15000, "rows_quarantined": 2}
    assert summary["run_id"] == "501" and summary["tables"] == [f"workspace.{SCHEMA}.bronze_events",
                                                        f"workspace.{SCHEMA}.bronze_quarantine"]
    stamps = spark.table(f"{SCHEMA}.bronze_events").groupBy("_run_id", "_run_date").count().collect()
    assert [(r["_run_id"], str(r["_run_date"]), r["count"]) for r in stamps] == [("501", "2019-11-30", 15000)]
    reasons = {r["_reason"] for r in spark.table(f"{SCHEMA}.bronze_quarantine").collect()}
    assert reasons == {"expected 9 fields, found 8"}

    # The practical exercise's failure: the quality gate fails silver on purpose, before writing.
    with pytest.raises(PapermillExecutionError) as failed:
        run_task(tmp_path, "02_silver.ipynb", "silver", {"max_quarantine_share": "0"}, {"bronze": bronze})
    assert failed.value.ename == "QualityGateFailed"
    assert "2 of 15,002 bronze rows (0.013%)" in failed.value.evalue
    assert "max_quarantine_share=0" in failed.value.evalue and "expected 9 fields, found 8 (2)" in failed.value.evalue
    assert not spark.catalog.tableExists(f"{SCHEMA}.silver_events")

    # The repair: the same task with the default gate; bronze's values still hold.
    silver, _ = run_task(tmp_path, "02_silver.ipynb", "silver", {"max_quarantine_share": "0.05"}, {"bronze": bronze})
    assert silver == {"rows_read": 15000, "rows_written": 14996, "duplicates_removed": 4}

    upstream = {"bronze": bronze, "silver": silver}
    with pytest.raises(PapermillExecutionError) as mismatch:
        run_task(tmp_path, "03_gold.ipynb", "gold", {}, {**upstream, "silver": {**silver, "rows_written": 14995}})
    assert mismatch.value.ename == "ReconciliationError"
    assert "silver.rows_written is 14,995 but the table has 14,996" in mismatch.value.evalue

    gold, summary = run_task(tmp_path, "03_gold.ipynb", "gold", {}, upstream)
    assert gold["rows_read"] == 14996 and gold["rows_written"] == sum(summary["tables"].values())
    assert summary["tables"][f"workspace.{SCHEMA}.gold_top_products"] == 10

    # A retry or repair of bronze with the same parameters leaves the same tables.
    again, _ = run_task(tmp_path, "01_bronze.ipynb", "bronze", params, run_id=777)
    assert again == bronze
    for table in ("bronze_events", "bronze_quarantine"):  # this session cached the old file listing
        spark.catalog.refreshTable(f"{SCHEMA}.{table}")
    assert spark.table(f"{SCHEMA}.bronze_events").count() == 15000
    assert spark.table(f"{SCHEMA}.bronze_quarantine").count() == 2


def test_bronze_quarantines_what_does_not_parse_and_rejects_bad_parameters(cluster, spark, tmp_path):
    from papermill.exceptions import PapermillExecutionError

    source = tmp_path / "odd"
    source.mkdir()
    header = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"
    good = "2019-10-01 00:00:09 UTC,view,1002112,2053013552360952335,electronics.smartphone,samsung,249.13,536154501,5f9ceb98-131d-4a3c-8ad6-f022f1b7c0a8"
    lines = {
        "2019-10-01 00:00:09 UTC,view,1002112,2053013552360952335,,,0.00,536154501,": None,  # empty fields are fine
        good.replace("2019-10-01", "2019-11-31"): "event_time is not a 'yyyy-MM-dd HH:mm:ss UTC' time",
        good.replace("00:00:09 UTC", "00:00:09"): "event_time is not a 'yyyy-MM-dd HH:mm:ss UTC' time",
        good.replace(",view,", ",VIEW,"): "event_type is not a lower-case word",
        good.replace("1002112", "10021x2"): "product_id is not an integer",
        good.replace("2053013552360952335", "9953013552360952335"): "category_id is not a 64-bit integer",
        good.replace("249.13", "-249.13"): "price is not a number with two decimals",
        good.replace("249.13", "249.1"): "price is not a number with two decimals",
        good.replace("536154501", ""): "user_id is not an integer",
        good.replace("5f9ceb98-", "5f9ceb98"): "user_session is not a UUID",
        good + ",extra": "expected 9 fields, found 10",
        "": "expected 9 fields, found 1",
    }
    (source / "a.csv").write_text("\r\n".join([header, good, *lines, header]) + "\r\n")
    values, _ = run_task(tmp_path, "01_bronze.ipynb", "bronze", {"source_path": str(source), "run_id": "9"})
    for table in ("bronze_events", "bronze_quarantine"):
        spark.catalog.refreshTable(f"{SCHEMA}.{table}")
    assert values == {"rows_read": 13, "rows_written": 2, "rows_quarantined": 11}
    found = {r["_raw_line"]: r["_reason"] for r in spark.table(f"{SCHEMA}.bronze_quarantine").collect()}
    assert found == {line: reason for line, reason in lines.items() if reason}
    row = spark.table(f"{SCHEMA}.bronze_events").where("price = 0").first()
    assert (row["brand"], row["category_code"], row["user_session"]) == ("", "", "")  # silver makes them NULL

    with pytest.raises(PapermillExecutionError) as bad:
        run_task(tmp_path, "01_bronze.ipynb", "bronze", {"source_path": str(source), "run_date": "31/10/2019"})
    assert bad.value.ename == "ValueError" and "run_date must be a date like 2019-10-31" in bad.value.evalue


def test_the_layer_notebook_runs_as_three_tasks_of_one_job(cluster, spark, tmp_path):
    from papermill.exceptions import PapermillExecutionError

    values = {}
    for layer in ("bronze", "silver", "gold"):
        values[layer], summary = run_task(tmp_path, "medallion_layer.ipynb", layer, {"layer": layer}, values)
        assert summary["task"] == layer
    assert values["bronze"] == {"rows_read": 15002, "rows_written": 15000}
    assert values["silver"] == {"rows_read": 15000, "rows_written": 14996}
    assert values["gold"]["rows_read"] == 14996 and values["gold"]["rows_written"] > 0
    assert spark.table(f"{SCHEMA}.layer_bronze_rejects").count() == 2
    # the same events as the Day 7 job's own silver
    assert spark.table(f"{SCHEMA}.layer_silver_events").count() == 14996

    with pytest.raises(PapermillExecutionError) as bad:
        run_task(tmp_path, "medallion_layer.ipynb", "platinum", {"layer": "platinum"})
    assert "not among its choices" in bad.value.evalue
