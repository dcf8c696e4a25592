"""Running, following, repairing and listing the deployed job (course.jobs.workspace) against the
fake workspace, through the real SDK — as library calls and through `runner.py … --on databricks`."""
from __future__ import annotations

import json

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk import errors as sdk_errors
from databricks.sdk.service import jobs

from course import cli
from course.jobs import workspace as remote
from course.jobs.workspace import runs
from course.jobs.workspace.deploy import deploy
from course.jobs.spec import load_job
from fake_databricks import LATEST_REPAIR_ID_MISSING, bundle, clean_env, connected, fake  # noqa: F401

POLL = 0.01


@pytest.fixture
def fast_polls(monkeypatch):
    monkeypatch.setattr(runs, "POLL_S", POLL)


@pytest.fixture
def deployed(connected, bundle, fast_polls):
    """(loaded, client): the bundle's dev target deployed to the fake workspace."""
    loaded = load_job(bundle, target="dev")
    client = remote.workspace_client()
    deploy(loaded, client=client)
    return loaded, client


def states(run: jobs.Run) -> dict[str, str]:
    """Latest task run of each task → its result (or life cycle state)."""
    out = {}
    for t in sorted(run.tasks, key=lambda t: t.run_id):
        out[t.task_key] = (t.state.result_state or t.state.life_cycle_state).value
    return out


def cli_run(capsys, *args) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- run and follow

def test_run_now_follows_the_run_to_success(deployed, connected):
    loaded, client = deployed
    snapshots: list[jobs.Run] = []
    run = remote.run_now(loaded, client=client, job_parameters={"schema": "day7_test"},
                         on_update=snapshots.append, poll_s=POLL)
    assert remote.run_result(run) == "SUCCESS"
    assert states(run) == {"bronze": "SUCCESS", "silver": "SUCCESS", "gold": "SUCCESS"}
    assert snapshots[-1] is run and len(snapshots) >= 4
    seen = {(t.task_key, t.state.life_cycle_state.value) for s in snapshots for t in s.tasks}
    assert {("bronze", "RUNNING"), ("silver", "RUNNING"), ("gold", "RUNNING"), ("gold", "PENDING")} <= seen
    assert all(t.run_id != run.run_id for t in run.tasks)
    assert all(t.start_time and t.end_time >= t.start_time for t in run.tasks)
    assert run.run_page_url.startswith(client.config.host) and run.repair_history[0].type.value == "ORIGINAL"
    assert {p.name: p.value for p in run.job_parameters}["schema"] == "day7_test"
    (call,) = connected.calls("/api/2.2/jobs/run-now")
    assert call.body == {"job_id": run.job_id, "job_parameters": {"schema": "day7_test"}}


def test_a_failed_run_internal_error_shape(deployed, connected):
    loaded, client = deployed
    connected.script("silver", ("FAILED", "quarantine share 0.20 is above 0.05"))
    run = remote.run_now(loaded, client=client, on_update=None, poll_s=POLL)
    assert run.state.life_cycle_state == jobs.RunLifeCycleState.INTERNAL_ERROR  # what real workspaces say
    assert run.state.result_state == jobs.RunResultState.FAILED
    assert run.state.state_message.startswith("Task silver failed with message: quarantine share 0.20")
    assert run.status.state.value == "TERMINATED"
    assert run.status.termination_details.code == jobs.TerminationCodeCode.RUN_EXECUTION_ERROR
    assert remote.run_result(run) == "FAILED"
    assert states(run) == {"bronze": "SUCCESS", "silver": "FAILED", "gold": "UPSTREAM_FAILED"}


def test_the_sdk_waiter_would_raise_on_that_shape(deployed, connected, monkeypatch):
    """Why run_now polls get_run itself: .result() raises OperationFailed on INTERNAL_ERROR."""
    import time
    import types

    from databricks.sdk.service import jobs as jobs_module
    monkeypatch.setattr(jobs_module, "time", types.SimpleNamespace(time=time.time, sleep=lambda s: None))
    monkeypatch.setattr(jobs_module, "random", types.SimpleNamespace(random=lambda: 0.0))
    loaded, client = deployed
    connected.script("silver", "FAILED")
    job = remote.find_job(loaded, client)
    with pytest.raises(sdk_errors.OperationFailed):
        client.jobs.run_now(job.job_id).result()


def test_a_failed_run_terminated_shape(connected, bundle, fast_polls):
    connected.failure_shape = "TERMINATED"
    loaded = load_job(bundle, target="dev")
    client = remote.workspace_client()
    deploy(loaded, client=client)
    connected.script("gold", "FAILED")
    run = remote.run_now(loaded, client=client, poll_s=POLL)
    assert run.state.life_cycle_state == jobs.RunLifeCycleState.TERMINATED
    assert remote.run_result(run) == "FAILED"


def test_retries_show_as_new_attempts(deployed, connected):
    loaded, client = deployed
    connected.script("bronze", "FAILED", "SUCCESS")  # max_retries: 2
    run = remote.run_now(loaded, client=client, poll_s=POLL)
    assert remote.run_result(run) == "SUCCESS"
    bronze = sorted((t for t in run.tasks if t.task_key == "bronze"), key=lambda t: t.attempt_number)
    assert [(t.attempt_number, t.state.result_state.value) for t in bronze] == [(0, "FAILED"), (1, "SUCCESS")]
    assert bronze[0].run_id != bronze[1].run_id


def test_following_stops_at_the_timeout_and_says_where_the_run_is(deployed):
    loaded, client = deployed
    with pytest.raises(remote.FollowTimeout) as info:
        remote.run_now(loaded, client=client, poll_s=POLL, timeout_s=0)
    assert "still" in str(info.value) and "on Databricks" in str(info.value)
    assert not remote.is_terminal(info.value.run)


def test_running_a_job_that_is_not_deployed(connected, bundle, fast_polls):
    loaded = load_job(bundle, target="prod")
    with pytest.raises(remote.RemoteError, match=r"'day7-medallion' is not deployed .*runner.py deploy -t prod"):
        remote.run_now(loaded, client=remote.workspace_client(), poll_s=POLL)


def test_unknown_job_parameter(deployed):
    loaded, client = deployed
    with pytest.raises(remote.RemoteError, match="unknown job parameter 'nope'"):
        remote.run_now(loaded, client=client, job_parameters={"nope": "1"})


def test_get_run_output_is_per_task_run(deployed, connected):
    loaded, client = deployed
    run = remote.run_now(loaded, client=client, poll_s=POLL)
    with pytest.raises(sdk_errors.InvalidParameterValue, match="multiple tasks"):
        client.jobs.get_run_output(run.run_id)
    out = client.jobs.get_run_output(run.tasks[0].run_id)
    assert out.notebook_output.result == "bronze done"


def test_a_canceled_run_reads_canceled(deployed, connected):
    loaded, client = deployed
    job = remote.find_job(loaded, client)
    run_id = client.jobs.run_now(job.job_id).response.run_id
    client.jobs.get_run(run_id)  # bronze starts
    client.jobs.cancel_run(run_id)
    run = client.jobs.get_run(run_id)
    assert remote.run_result(run) == "CANCELED"
    assert states(run) == {"bronze": "CANCELED", "silver": "UPSTREAM_CANCELED", "gold": "UPSTREAM_CANCELED"}


# ---------------------------------------------------------------- repair

def test_repair_twice_passes_the_latest_repair_id(deployed, connected):
    loaded, client = deployed
    connected.script("silver", "FAILED", "FAILED", "SUCCESS")
    run = remote.run_now(loaded, client=client, poll_s=POLL)
    assert remote.run_result(run) == "FAILED"

    first = remote.repair(loaded, run.run_id, client=client, rerun_tasks=None, rerun_dependents=False,
                          job_parameters=None, on_update=None, poll_s=POLL)
    assert remote.run_result(first) == "FAILED" and first.run_id == run.run_id
    second = remote.repair(loaded, run.run_id, client=client, rerun_tasks=None, rerun_dependents=False,
                           job_parameters={"schema": "fixed"}, on_update=None, poll_s=POLL)
    assert remote.run_result(second) == "SUCCESS"
    assert states(second) == {"bronze": "SUCCESS", "silver": "SUCCESS", "gold": "SUCCESS"}

    b1, b2 = (r.body for r in connected.calls("/api/2.2/jobs/runs/repair"))
    assert b1 == {"run_id": run.run_id, "rerun_all_failed_tasks": True, "rerun_dependent_tasks": False}
    repair_ids = [h.id for h in second.repair_history if h.type == jobs.RepairHistoryItemType.REPAIR]
    assert [h.type.value for h in second.repair_history] == ["ORIGINAL", "REPAIR", "REPAIR"]
    assert b2["latest_repair_id"] == repair_ids[0] and b2["job_parameters"] == {"schema": "fixed"}
    # bronze ran once; silver three times; gold skipped, then skipped again, then ran
    assert sorted(t.task_key for t in second.tasks) == ["bronze", "gold", "gold", "gold",
                                                        "silver", "silver", "silver"]
    assert len({t.run_id for t in second.tasks} | {second.run_id}) == len(second.tasks) + 1


def test_the_workspace_rejects_a_second_repair_without_latest_repair_id(deployed, connected):
    loaded, client = deployed
    connected.script("silver", "FAILED", "FAILED")
    run = remote.run_now(loaded, client=client, poll_s=POLL)
    remote.repair(loaded, run.run_id, client=client, poll_s=POLL)
    with pytest.raises(sdk_errors.InvalidParameterValue, match=LATEST_REPAIR_ID_MISSING):
        client.jobs.repair_run(run.run_id, rerun_all_failed_tasks=True)


def test_repair_named_tasks_with_dependents(deployed, connected):
    loaded, client = deployed
    run = remote.run_now(loaded, client=client, poll_s=POLL)
    repaired = remote.repair(loaded, run.run_id, client=client, rerun_tasks=["silver"], rerun_dependents=True,
                             job_parameters=None, on_update=None, poll_s=POLL)
    (body,) = (r.body for r in connected.calls("/api/2.2/jobs/runs/repair"))
    assert body == {"run_id": run.run_id, "rerun_tasks": ["silver"], "rerun_dependent_tasks": True}
    assert sorted(t.task_key for t in repaired.tasks) == ["bronze", "gold", "gold", "silver", "silver"]
    assert remote.run_result(repaired) == "SUCCESS"


def test_repair_refuses_what_cannot_be_repaired(deployed, connected):
    loaded, client = deployed
    ok = remote.run_now(loaded, client=client, poll_s=POLL)
    with pytest.raises(remote.RemoteError, match="no failed tasks to repair"):
        remote.repair(loaded, ok.run_id, client=client, poll_s=POLL)
    with pytest.raises(remote.RemoteError, match="has no task 'platinum'"):
        remote.repair(loaded, ok.run_id, client=client, rerun_tasks=["platinum"], poll_s=POLL)
    job = remote.find_job(loaded, client)
    running = client.jobs.run_now(job.job_id).response.run_id
    with pytest.raises(remote.RemoteError, match=f"run {running} is still .*only a finished run"):
        remote.repair(loaded, running, client=client, poll_s=POLL)
    with pytest.raises(remote.RemoteError, match="Run 999999 does not exist"):
        remote.repair(loaded, 999999, client=client, poll_s=POLL)


# ---------------------------------------------------------------- list

def test_list_runs_newest_first_with_tasks(deployed, connected):
    loaded, client = deployed
    connected.script("gold", "FAILED")
    first = remote.run_now(loaded, client=client, poll_s=POLL)
    second = remote.run_now(loaded, client=client, poll_s=POLL)
    runs = remote.list_runs(loaded, client=client)
    assert [r.run_id for r in runs] == [second.run_id, first.run_id]
    assert [remote.run_result(r) for r in runs] == ["SUCCESS", "FAILED"]
    assert all(isinstance(r, jobs.Run) and len(r.tasks) == 3 for r in runs)
    assert [r.run_id for r in remote.list_runs(loaded, client=client, limit=1)] == [second.run_id]


# ---------------------------------------------------------------- run_result

def _run(life=None, result=None, status=None, code=None) -> jobs.Run:
    d: dict = {}
    if life:
        d["state"] = {"life_cycle_state": life, **({"result_state": result} if result else {})}
    if status:
        d["status"] = {"state": status, **({"termination_details": {"code": code}} if code else {})}
    return jobs.Run.from_dict(d)


@pytest.mark.parametrize("run, expected", [
    (_run("TERMINATED", "SUCCESS"), "SUCCESS"),
    (_run("TERMINATED", "FAILED"), "FAILED"),
    (_run("INTERNAL_ERROR", "FAILED"), "FAILED"),
    (_run("INTERNAL_ERROR"), "FAILED"),
    (_run("TERMINATED", "SUCCESS_WITH_FAILURES"), "SUCCESS_WITH_FAILURES"),
    (_run("TERMINATED", "TIMEDOUT"), "TIMEDOUT"),
    (_run("TERMINATED", "CANCELED"), "CANCELED"),
    (_run("SKIPPED"), "SKIPPED"),
    (_run("RUNNING"), "RUNNING"),
    (_run("QUEUED"), "QUEUED"),
    (_run(status="TERMINATED", code="SUCCESS"), "SUCCESS"),
    (_run(status="TERMINATED", code="RUN_EXECUTION_ERROR"), "FAILED"),
    (_run(status="TERMINATED", code="USER_CANCELED"), "CANCELED"),
    (_run(status="RUNNING"), "RUNNING"),
    (_run(), "UNKNOWN"),
])
def test_run_result_normalises_both_failure_shapes(run, expected):
    assert remote.run_result(run) == expected


# ---------------------------------------------------------------- through the command line

def test_cli_exit_codes_for_remote_runs(connected, bundle, fast_polls, capsys):
    job = ["--job", str(bundle), "-t", "dev"]
    assert cli_run(capsys, "deploy", *job)[0] == 0
    code, out, err = cli_run(capsys, "run", "--on", "databricks", *job)
    assert code == 0, err
    connected.script("silver", "FAILED")
    code, out, err = cli_run(capsys, "run", "--on", "databricks", *job, "--json")
    assert code == 1, err
    failed = jobs.Run.from_dict(json.loads(out))
    assert failed.state.life_cycle_state == jobs.RunLifeCycleState.INTERNAL_ERROR
    code, out, err = cli_run(capsys, "repair", str(failed.run_id), "--on", "databricks", *job)
    assert code == 0, err
    connected.failure_shape = "TERMINATED"
    connected.script("gold", "FAILED")
    code, out, err = cli_run(capsys, "run", "--on", "databricks", *job)
    assert code == 1, err
    code, out, err = cli_run(capsys, "runs", "--on", "databricks", *job)
    assert code == 0, err
    assert str(failed.run_id) in out


def test_cli_remote_errors_exit_2_in_one_sentence(connected, bundle, fast_polls, capsys):
    code, out, err = cli_run(capsys, "run", "--on", "databricks", "--job", str(bundle), "-t", "dev")
    assert code == 2
    assert "is not deployed" in err and len(err.strip().splitlines()) == 1
    assert connected.token not in out + err


def test_token_never_in_run_output(connected, bundle, fast_polls, capsys, tmp_path, day7_home):
    job = ["--job", str(bundle), "-t", "dev"]
    texts = [cli_run(capsys, "deploy", *job)]
    connected.script("silver", "FAILED")
    texts.append(cli_run(capsys, "run", "--on", "databricks", *job, "--json"))
    texts.append(cli_run(capsys, "runs", "--on", "databricks", *job, "--json"))
    assert [t[0] for t in texts] == [0, 1, 0]
    assert connected.token not in "".join(o + e for _, o, e in texts)
    for p in list(tmp_path.rglob("*")) + list(day7_home.rglob("*")):
        if p.is_file():
            assert connected.token.encode() not in p.read_bytes(), p


def test_the_client_keeps_the_sdk_defaults_after_the_quick_check(deployed, connected):
    _loaded, client = deployed
    assert isinstance(client, WorkspaceClient) and client.config.host == connected.host
    assert client.config.retry_timeout_seconds == remote.SDK_RETRY_TIMEOUT_S
