"""Stopping a runner: Ctrl-C / SIGTERM cancel the run cleanly; SIGKILL loses nothing finished."""
from __future__ import annotations

import os
import signal
import time

import pytest

from runner_fixtures import (alive, attempts, finish, interrupt, job_args, no_processes_left, processes_of,
                             repair_job, run_state, start_runner, started_marker, wait_for)
from course.jobs.local.history import History


@pytest.mark.slow  # a runner process (~2 s of imports) and a kernel: ~5 s
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_cancels_the_run_and_stops_its_kernels(sig, day7_home):
    proc = start_runner(["run", *job_args("sleepy")])
    marker = wait_for(lambda: started_marker("sleeper"), timeout=60, what="the sleeper notebook to start")
    kernel = int((marker.parent / "pid").read_text())
    assert alive(kernel)
    interrupt(proc, sig)
    code, out, err = finish(proc, timeout=30)
    assert code != 0, (out, err)

    history = History()
    [run] = history.list_runs(expand_tasks=True)
    run = history.get_run(run.run_id)
    assert run_state(run) == ("TERMINATED", "CANCELED")
    assert run.state.state_message == "Run was canceled"
    states = {k: v[-1].state.result_state.value for k, v in attempts(run).items()}
    assert states == {"sleeper": "CANCELED", "after": "UPSTREAM_CANCELED"}
    assert "CANCELED" in out                                   # the summary was printed
    assert not alive(kernel)
    no_processes_left(day7_home, timeout=5)


@pytest.mark.slow  # a runner process and two kernels: ~8 s
def test_a_cancel_still_runs_the_failure_handling_tasks(day7_home):
    # Databricks, conditional tasks: a cancellation propagates downstream and the tasks
    # whose run_if handles failure run, e.g. a cleanup task.
    proc = start_runner(["run", *job_args("sleepy_cleanup")])
    wait_for(lambda: started_marker("sleeper"), timeout=60, what="the sleeper notebook to start")
    interrupt(proc, signal.SIGINT)
    code, out, err = finish(proc, timeout=60)
    assert code != 0, (out, err)
    run = History().get_run(History().list_runs()[0].run_id)
    assert run_state(run) == ("TERMINATED", "CANCELED")
    assert {k: v[-1].state.result_state.value for k, v in attempts(run).items()} == {
        "sleeper": "CANCELED", "after": "UPSTREAM_CANCELED", "cleanup": "SUCCESS"}
    no_processes_left(day7_home, timeout=5)


@pytest.mark.slow
def test_ctrl_c_while_the_job_cluster_starts_does_not_wait_for_it(day7_home):
    proc = start_runner(["run", *job_args("crash")])
    wait_for(lambda: any("SparkConnectServer" in cmd for cmd in processes_of(day7_home).values()),
             timeout=60, interval=0.02, what="the job cluster's JVM to be launched")
    interrupt(proc, signal.SIGINT)
    started = time.monotonic()
    code, out, err = finish(proc, timeout=30)
    assert time.monotonic() - started < 10, "Ctrl-C waited for the job cluster to finish starting"
    assert code != 0
    run = History().get_run(History().list_runs()[0].run_id)
    assert run_state(run) == ("TERMINATED", "CANCELED")
    assert {k: v[-1].state.result_state.value for k, v in attempts(run).items()} == {
        "first": "CANCELED", "sleeper": "UPSTREAM_CANCELED", "after": "UPSTREAM_CANCELED"}
    no_processes_left(day7_home, timeout=20)


@pytest.mark.slow
def test_sigkill_loses_nothing_finished_and_the_run_can_be_repaired(day7_home):
    # On a job cluster, so a JVM runs too: neither it nor the kernel may outlive the runner.
    proc = start_runner(["run", *job_args("crash")])
    marker = wait_for(lambda: started_marker("sleeper"), timeout=120, what="the sleeper notebook to start")
    kernel = int((marker.parent / "pid").read_text())
    jvms = [pid for pid, cmd in processes_of(day7_home).items() if "SparkConnectServer" in cmd]
    assert jvms, processes_of(day7_home)
    os.kill(proc.pid, signal.SIGKILL)
    finish(proc, timeout=10)
    no_processes_left(day7_home, timeout=30)
    assert not alive(kernel) and not any(alive(p) for p in jvms)

    history = History()
    [row] = history.list_runs()
    run = history.get_run(row.run_id)
    # Nothing finished is lost: `first` succeeded and keeps its task values.
    by_key = attempts(run)
    assert by_key["first"][0].state.result_state.value == "SUCCESS"
    assert history.task_run_values(by_key["first"][0].run_id)["written"] == 5
    assert run.state.life_cycle_state.value == "RUNNING"        # nobody has closed it yet

    # The next runner start closes it as INTERNAL_ERROR; then it repairs to success.
    repaired = repair_job("crash", run.run_id, overrides={"seconds": "0"}, history=history)
    assert any(f"run {run.run_id} was left unfinished" in n for n in repaired.notes)
    original = repaired.run.repair_history[0]
    assert original.state.life_cycle_state.value == "INTERNAL_ERROR"
    assert "exited before the run finished" in original.state.state_message
    assert run_state(repaired.run) == ("TERMINATED", "SUCCESS")
    assert [t.task_key for t in repaired.run.tasks if t.run_id in repaired.run.repair_history[1].task_run_ids] \
        == ["sleeper", "after"]                                 # `first` kept, not re-run
    # The repair ran on a new job cluster, which still sees the table `first` wrote before the crash.
    assert repaired.values("after") == {"rows": 5}
    no_processes_left(day7_home, timeout=30)


@pytest.mark.slow
def test_a_job_cluster_that_dies_fails_its_task_at_once_and_the_retry_gets_a_new_cluster(day7_home):
    """The JVM is killed while the task runs Spark queries on it: no waiting on Spark Connect
    retries; the task run says which cluster died and where its log is; the retry succeeds."""
    proc = start_runner(["run", *job_args("cluster_dies")])
    wait_for(lambda: started_marker("victim"), timeout=150, what="the victim notebook to start")
    [jvm] = [pid for pid, cmd in processes_of(day7_home).items() if "SparkConnectServer" in cmd]
    os.kill(jvm, signal.SIGKILL)
    killed = time.monotonic()
    code, out, err = finish(proc, timeout=180)
    assert code == 0, (out, err)

    history = History()
    [row] = history.list_runs()
    run = history.get_run(row.run_id)
    first, retry = attempts(run)["victim"]
    assert first.state.life_cycle_state.value == "INTERNAL_ERROR"
    message = first.state.state_message
    assert message.startswith("Cluster 'local' terminated unexpectedly: its Spark JVM exited (killed by signal 9)")
    assert f"runs/{run.run_id}/cluster-local.log" in message
    # Noticed within seconds, not after minutes of connection retries.
    assert first.end_time / 1000 - (time.time() - (time.monotonic() - killed)) < 10
    assert retry.state.result_state.value == "SUCCESS" and run_state(run) == ("TERMINATED", "SUCCESS")
    assert (day7_home / "runs" / str(run.run_id) / "cluster-local-2.log").exists()  # a new cluster
    no_processes_left(day7_home, timeout=30)
