"""While `runner.py serve` runs it is the scheduler: a file arriving starts the job, as with `watch`."""
from __future__ import annotations

import time

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import ImportFormat, Language

from course.platform import paths
from course.server.serving import BackgroundServer
from course.server.state import ServerState
from server_fixtures import b64

pytestmark = pytest.mark.slow

LANDING = "/Volumes/workspace/day7/raw/landing"


@pytest.fixture(scope="module")
def scheduling_workspace(tmp_path_factory):
    home = tmp_path_factory.mktemp("scheduler-home")
    with paths.using_home(home):
        server = BackgroundServer(ServerState.open(home), scheduler=True, warm=True).start()
        try:
            yield server
        finally:
            server.stop()


def wait_for(what, check, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(0.3)
    return found


def test_a_new_file_under_the_watched_volume_starts_a_run(scheduling_workspace):
    state = scheduling_workspace.state
    sdk = WorkspaceClient(host=scheduling_workspace.host, token=state.token, auth_type="pat")
    sdk.workspace.mkdirs("/Shared/day7")
    sdk.workspace.import_("/Shared/day7/on_arrival", format=ImportFormat.SOURCE, language=Language.PYTHON,
                          content=b64("# Databricks notebook source\nprint(dbutils.widgets.get('where'))\n"))
    job_id = sdk.jobs.create(
        name="on-arrival", trigger=jobs.TriggerSettings(file_arrival=jobs.FileArrivalTriggerConfiguration(url=LANDING)),
        parameters=[jobs.JobParameterDefinition(name="where", default="{{job.trigger.file_arrival.location}}")],
        tasks=[jobs.Task(task_key="load", notebook_task=jobs.NotebookTask(notebook_path="/Shared/day7/on_arrival"))],
    ).job_id
    log = state.home / "server" / "scheduler.log"
    wait_for("the scheduler to watch the volume",
             lambda: log.is_file() and f"job {job_id}: watching {LANDING}" in log.read_text())
    landing = state.home / "volumes" / "workspace" / "day7" / "raw" / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    (landing / "events-2026-12-01.csv").write_text("event_time,event_type\n2026-12-01 00:00:01,view\n")
    run = wait_for("a run started by the file", lambda: next(iter(sdk.jobs.list_runs(job_id=job_id)), None))
    assert run.trigger == jobs.TriggerType.FILE_ARRIVAL
    finished = wait_for("the run to end", lambda: (r := sdk.jobs.get_run(run.run_id)).state.result_state and r)
    assert finished.state.result_state == jobs.RunResultState.SUCCESS
    assert finished.job_parameters[0].value == LANDING
