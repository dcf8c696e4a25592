"""`runner.py serve`'s API driven by the real databricks-sdk, as lesson 06 drives a workspace.

One server for the module; notebooks without Spark so runs take seconds. The story:
import notebooks (SOURCE and JUPYTER), create a two-task job whose second task fails,
run it, read the failure, fix the notebook, repair the task, read its output; the shell
and the API see each other's jobs and runs; errors have Databricks' shapes.
"""
from __future__ import annotations

import base64
import json
import time
import httpx
import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import (InvalidParameterValue, NotFound, OperationFailed, ResourceAlreadyExists,
                                   Unauthenticated)
from databricks.sdk.service import jobs
from databricks.sdk.service.compute import ClusterSource, State as ClusterState
from databricks.sdk.service.workspace import ExportFormat, ImportFormat, Language, ObjectType

from course import cli
from course.jobs.local.history import History
from server_fixtures import b64, jupyter, local_workspace, sdk  # noqa: F401

pytestmark = pytest.mark.slow
WARM_WORKER = True  # the first run-now finds a worker with its imports done

FOLDER = "/Workspace/Users/learner@example.com/day7"

INGEST = jupyter(
    "# Like lesson 02: count what arrived, hand the count to the next task.\n"
    "rows = 3\n"
    "dbutils.jobs.taskValues.set(key='rows', value=rows)\n"
    "print(f'ingested {rows} rows')")

REPORT_BROKEN = """# Databricks notebook source
# MAGIC %md
# MAGIC ## Report: needs enough rows

# COMMAND ----------

dbutils.widgets.text("min_rows", "10")
min_rows = int(dbutils.widgets.get("min_rows"))
rows = dbutils.jobs.taskValues.get(taskKey="ingest", key="rows", debugValue=0)

# COMMAND ----------

if rows < min_rows:
    raise ValueError(f"only {rows} rows arrived, expected at least {min_rows}")
dbutils.notebook.exit(f"{rows} rows reported")
"""

REPORT_FIXED = REPORT_BROKEN.replace('min_rows = int(dbutils.widgets.get("min_rows"))',
                                     'min_rows = min(int(dbutils.widgets.get("min_rows")), 1)')


def two_task_job(sdk: WorkspaceClient, name: str) -> int:
    return sdk.jobs.create(
        name=name,
        parameters=[jobs.JobParameterDefinition(name="min_rows", default="10")],
        tasks=[jobs.Task(task_key="ingest", notebook_task=jobs.NotebookTask(notebook_path=f"{FOLDER}/ingest")),
               jobs.Task(task_key="report", depends_on=[jobs.TaskDependency(task_key="ingest")],
                         notebook_task=jobs.NotebookTask(notebook_path=f"{FOLDER}/report"))],
    ).job_id


@pytest.fixture(scope="module")
def notebooks(sdk):
    sdk.workspace.mkdirs(FOLDER)
    sdk.workspace.import_(f"{FOLDER}/ingest", content=b64(INGEST), format=ImportFormat.JUPYTER)
    sdk.workspace.import_(f"{FOLDER}/report.py", content=b64(REPORT_BROKEN), format=ImportFormat.SOURCE,
                          language=Language.PYTHON)
    return FOLDER


@pytest.fixture(scope="module")
def failed_run(sdk, notebooks):
    job_id = two_task_job(sdk, "day7-report")
    waiter = sdk.jobs.run_now(job_id)
    # The SDK's waiter polls runs/get; a failed notebook ends INTERNAL_ERROR, as in a workspace,
    # and the waiter raises with the task's message.
    with pytest.raises(OperationFailed, match="only 3 rows arrived"):
        waiter.result()
    return job_id, sdk.jobs.get_run(waiter.run_id)


# ---------------------------------------------------------------- who, and who not

def test_current_user_and_a_wrong_token_is_401(sdk, local_workspace):
    assert sdk.current_user.me().user_name == local_workspace.state.user
    with pytest.raises(Unauthenticated):
        WorkspaceClient(host=local_workspace.host, token="dapi-wrong", auth_type="pat").current_user.me()
    reply = httpx.get(f"{local_workspace.host}/api/2.2/jobs/list")
    assert reply.status_code == 401 and reply.json()["error_code"] == "UNAUTHENTICATED"


# ---------------------------------------------------------------- workspace

def test_imported_notebooks_are_listed_and_export_back(sdk, notebooks):
    listed = {o.path: o for o in sdk.workspace.list(notebooks)}
    assert set(listed) == {"/Users/learner@example.com/day7/ingest", "/Users/learner@example.com/day7/report"}
    assert {o.object_type for o in listed.values()} == {ObjectType.NOTEBOOK}
    status = sdk.workspace.get_status(f"{notebooks}/report")
    assert status.language == Language.PYTHON
    source = base64.b64decode(sdk.workspace.export(f"{notebooks}/report", format=ExportFormat.SOURCE).content)
    assert source.decode() == REPORT_BROKEN
    as_jupyter = json.loads(base64.b64decode(sdk.workspace.export(f"{notebooks}/ingest",
                                                                  format=ExportFormat.JUPYTER).content))
    assert "taskValues.set" in "".join(as_jupyter["cells"][0]["source"])


def test_workspace_errors_have_databricks_shapes(sdk, notebooks):
    with pytest.raises(ResourceAlreadyExists):
        sdk.workspace.import_(f"{notebooks}/ingest", content=b64(INGEST), format=ImportFormat.JUPYTER)
    with pytest.raises(NotFound):
        sdk.workspace.import_("/Users/nobody/none/x", content=b64("print(1)"), format=ImportFormat.SOURCE,
                              language=Language.PYTHON)
    with pytest.raises(InvalidParameterValue):
        sdk.workspace.import_(f"{notebooks}/bad", content=b64("{not json"), format=ImportFormat.JUPYTER)
    sdk.workspace.mkdirs(f"{notebooks}/scratch")
    sdk.workspace.import_(f"{notebooks}/scratch/notes.txt", content=b64("hello"), format=ImportFormat.AUTO)
    assert sdk.workspace.get_status(f"{notebooks}/scratch/notes.txt").object_type == ObjectType.FILE
    with pytest.raises(Exception, match="not empty"):
        sdk.workspace.delete(f"{notebooks}/scratch")
    sdk.workspace.delete(f"{notebooks}/scratch", recursive=True)
    with pytest.raises(NotFound):
        sdk.workspace.get_status(f"{notebooks}/scratch")


# ---------------------------------------------------------------- a job: fail, fix, repair

def test_the_second_task_fails_and_says_why(sdk, failed_run):
    job_id, run = failed_run
    assert run.job_id == job_id
    assert run.state.result_state == jobs.RunResultState.FAILED
    by_key = {t.task_key: t for t in run.tasks}
    assert by_key["ingest"].state.result_state == jobs.RunResultState.SUCCESS
    assert by_key["report"].state.result_state == jobs.RunResultState.FAILED
    output = sdk.jobs.get_run_output(by_key["report"].run_id)
    assert "only 3 rows arrived, expected at least 10" in output.error
    with pytest.raises(InvalidParameterValue, match="multiple tasks"):
        sdk.jobs.get_run_output(run.run_id)


def test_repair_after_fixing_the_notebook(sdk, failed_run, notebooks):
    job_id, run = failed_run
    sdk.workspace.import_(f"{notebooks}/report", content=b64(REPORT_FIXED), format=ImportFormat.SOURCE,
                          language=Language.PYTHON, overwrite=True)
    repaired = sdk.jobs.repair_run(run.run_id, rerun_tasks=["report"]).result()
    assert repaired.state.result_state == jobs.RunResultState.SUCCESS
    full = sdk.jobs.get_run(run.run_id, include_history=True)
    assert [h.type for h in full.repair_history] == [jobs.RepairHistoryItemType.ORIGINAL,
                                                     jobs.RepairHistoryItemType.REPAIR]
    latest_report = max((t for t in full.tasks if t.task_key == "report"), key=lambda t: t.run_id)
    assert sdk.jobs.get_run_output(latest_report.run_id).notebook_output.result == "3 rows reported"
    # a second repair must name the latest one, as on Databricks
    with pytest.raises(InvalidParameterValue, match="latest_repair_id"):
        sdk.jobs.repair_run(run.run_id, rerun_tasks=["report"])


def test_list_jobs_and_runs_page_by_page(sdk, failed_run):
    job_id, run = failed_run
    for n in range(3):
        sdk.jobs.create(name=f"listed-{n}", tasks=[jobs.Task(
            task_key="t", notebook_task=jobs.NotebookTask(notebook_path=f"{FOLDER}/ingest"))])
    names = [j.settings.name for j in sdk.jobs.list(limit=2)]  # the SDK follows next_page_token
    assert names.count("day7-report") == 1 and {"listed-0", "listed-1", "listed-2"} <= set(names)
    assert [j.job_id for j in sdk.jobs.list(name="listed-1")] != []
    runs = list(sdk.jobs.list_runs(job_id=job_id))
    assert [r.run_id for r in runs] == [run.run_id]
    got = sdk.jobs.get(job_id)
    assert got.settings.tasks[1].depends_on[0].task_key == "ingest"
    with pytest.raises(NotFound):
        sdk.jobs.get(987654)


def test_update_reset_and_delete(sdk, notebooks):
    job_id = sdk.jobs.create(name="to-change", tasks=[jobs.Task(
        task_key="t", notebook_task=jobs.NotebookTask(notebook_path=f"{FOLDER}/ingest"))]).job_id
    sdk.jobs.update(job_id, new_settings=jobs.JobSettings(max_concurrent_runs=3))
    assert sdk.jobs.get(job_id).settings.max_concurrent_runs == 3
    with pytest.raises(InvalidParameterValue, match="depends on|does not exist|not a task"):
        sdk.jobs.reset(job_id, jobs.JobSettings(name="to-change", tasks=[jobs.Task(
            task_key="t", depends_on=[jobs.TaskDependency(task_key="nope")],
            notebook_task=jobs.NotebookTask(notebook_path=f"{FOLDER}/ingest"))]))
    sdk.jobs.delete(job_id)
    with pytest.raises(NotFound):
        sdk.jobs.get(job_id)


# ---------------------------------------------------------------- the shell and the API, one history

def test_a_job_created_through_the_api_runs_from_the_shell(sdk, local_workspace, notebooks, capsys):
    job_id = sdk.jobs.create(name="shell-run", tasks=[jobs.Task(
        task_key="ingest", notebook_task=jobs.NotebookTask(notebook_path=f"{FOLDER}/ingest"))]).job_id
    state = local_workspace.state
    # `python runner.py --job <the job's file> --json`, in this process (the module's state folder)
    assert cli.main(["--job", str(state.jobs.file_of(job_id)), "--json"]) == 0
    out = capsys.readouterr().out
    shell_run = json.loads(out[out.index("{"):])
    assert shell_run["job_id"] == job_id
    seen = list(sdk.jobs.list_runs(job_id=job_id, expand_tasks=True))
    assert [r.run_id for r in seen] == [shell_run["run_id"]]
    assert seen[0].state.result_state == jobs.RunResultState.SUCCESS
    with History(state.home / "history.db") as history:
        assert history.job_source(job_id)["file"] == str(state.jobs.file_of(job_id))


def test_run_now_with_a_parameter_the_job_does_not_have_is_refused(sdk, failed_run):
    job_id, _ = failed_run
    with pytest.raises(InvalidParameterValue, match="nope is not a parameter of job .* min_rows"):
        sdk.jobs.run_now(job_id, job_parameters={"nope": "1"})


def test_a_submitted_run_can_be_canceled(sdk, notebooks):
    sdk.workspace.import_(f"{notebooks}/slow", format=ImportFormat.SOURCE, language=Language.PYTHON,
                          content=b64("# Databricks notebook source\nimport time\ntime.sleep(120)\n"))
    waiter = sdk.jobs.submit(run_name="one-off", tasks=[jobs.SubmitTask(
        task_key="slow", notebook_task=jobs.NotebookTask(notebook_path=f"{notebooks}/slow"))])
    deadline = time.monotonic() + 120
    while [t.state.life_cycle_state for t in sdk.jobs.get_run(waiter.run_id).tasks or []] != [
            jobs.RunLifeCycleState.RUNNING]:
        assert time.monotonic() < deadline, "the submitted run never started its task"
        time.sleep(0.3)
    sdk.jobs.cancel_run(waiter.run_id).result()
    run = sdk.jobs.get_run(waiter.run_id)
    assert run.state.result_state == jobs.RunResultState.CANCELED
    assert run.run_name == "one-off (submitted run)"


def test_clusters_are_the_job_clusters_of_active_runs(sdk, local_workspace):
    history = local_workspace.state.history  # a run recorded as the runner records one
    job_id = history.ensure_job("clustered", {"name": "clustered", "job_clusters": [
        {"job_cluster_key": "day7_cluster", "new_cluster": {"spark_version": "15.4.x-scala2.12", "num_workers": 1}}]})
    run_id = history.create_run(job_id, "clustered")
    history.set_run_state(run_id, "RUNNING")
    running = [c for c in sdk.clusters.list() if c.cluster_id == f"{run_id}-day7_cluster"]
    assert [c.state for c in running] == [ClusterState.RUNNING]
    assert running[0].cluster_source == ClusterSource.JOB and running[0].spark_version == "15.4.x-scala2.12"
    history.set_run_state(run_id, "TERMINATED", "SUCCESS")
    assert sdk.clusters.get(f"{run_id}-day7_cluster").state == ClusterState.TERMINATED
    with pytest.raises(NotFound):
        sdk.clusters.get("no-such-cluster")
