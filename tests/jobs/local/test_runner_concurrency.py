"""Two runner processes, one job: max_concurrent_runs 1 skips, or queues with queue.enabled."""
from __future__ import annotations

import signal
import threading

import pytest

from runner_fixtures import (attempts, cli, finish, interrupt, job_args, run_job, run_state, start_runner,
                             started_marker, wait_for)
from course.jobs.local.history import History


def _active_run(job_name: str) -> int:
    """The run id of the job's run the other process is running."""
    history = History()
    runs = [r for r in history.list_runs(active_only=True) if r.run_name == job_name]
    return runs[0].run_id if runs else 0


@pytest.mark.slow  # a second runner process: ~5-8 s
def test_second_run_is_skipped_while_one_is_active_and_a_running_run_cannot_be_repaired():
    proc = start_runner(["run", *job_args("sleepy")])
    try:
        wait_for(lambda: started_marker("sleeper"), timeout=60, what="the first run's notebook to start")
        active = _active_run("runner sleepy")
        assert active

        second = run_job("sleepy")
        assert run_state(second.run) == ("SKIPPED", "MAXIMUM_CONCURRENT_RUNS_REACHED")
        assert second.run.status.termination_details.code.value == "MAX_CONCURRENT_RUNS_EXCEEDED"
        assert not second.run.tasks                                  # nothing ran
        assert "max_concurrent_runs" in second.run.state.state_message

        code, out, err = cli(["repair", str(active), *job_args("sleepy")])
        assert code == 2
        assert f"run {active} is still RUNNING" in err
    finally:
        interrupt(proc, signal.SIGTERM)
        finish(proc, timeout=30)


def _queued_runs() -> list[int]:
    return [r.run_id for r in History().list_runs(active_only=True) if r.state.life_cycle_state.value == "QUEUED"]


@pytest.mark.slow  # two more runner processes: ~8-10 s
def test_queued_run_waits_for_the_active_one_then_runs():
    proc = start_runner(["run", *job_args("sleepy_queued")])          # sleeps 30 s unless stopped
    wait_for(lambda: started_marker("sleeper"), timeout=60, what="the first run's notebook to start")
    first_id = _active_run("runner sleepy queued")

    # Ctrl-C on a queued runner: its run ends CANCELED without running anything.
    queued = start_runner(["run", *job_args("sleepy_queued")])
    [queued_id] = wait_for(_queued_runs, timeout=30, what="the second runner to queue")
    interrupt(queued, signal.SIGINT)
    code, out, err = finish(queued, timeout=20)
    assert code == 130, err
    canceled = History().get_run(queued_id)
    assert run_state(canceled) == ("TERMINATED", "CANCELED") and not canceled.tasks

    # A third run queues in this process, and starts once the first run has ended.
    results = []
    thread = threading.Thread(target=lambda: results.append(run_job("sleepy_queued", overrides={"seconds": "0"})))
    thread.start()
    wait_for(_queued_runs, timeout=30, what="the third run to queue")
    interrupt(proc, signal.SIGTERM)
    finish(proc, timeout=30)
    thread.join(timeout=60)
    [second] = results

    first = History().get_run(first_id)
    assert run_state(first) == ("TERMINATED", "CANCELED")
    assert run_state(second.run) == ("TERMINATED", "SUCCESS")
    seen = [s.state.life_cycle_state.value for s in second.snapshots]
    assert seen[0] == "QUEUED" and "RUNNING" in seen
    assert second.snapshots[0].status.queue_details.code.value == "MAX_CONCURRENT_RUNS_REACHED"
    assert second.run.queue_duration > 0
    assert attempts(second.run)["sleeper"][0].start_time >= first.end_time


def test_a_run_queued_longer_than_the_limit_ends_timed_out_without_running():
    # Databricks keeps a queued run "for up to 48 hours"; the limit is a RunOptions field
    # (max_queue_seconds) so this test waits half a second instead.
    history = History()
    job_id = history.ensure_job("runner sleepy queued", {"name": "runner sleepy queued"})
    holder = history.create_run(job_id, "holder")                # an active run of this process
    assert history.admit(job_id, holder, 1, True) == "RUN"
    result = run_job("sleepy_queued", history=history, max_queue_seconds=0.5)
    assert run_state(result.run) == ("TERMINATED", "TIMEDOUT") and not result.run.tasks
    assert result.run.state.state_message == ("Run was canceled by the platform: "
                                              "queued for more than 0.5 seconds")
    assert result.run.status.termination_details.code.value == "CANCELED"
    assert [s.state.life_cycle_state.value for s in result.snapshots][0] == "QUEUED"
    assert history.run_record(holder).life_cycle_state == "PENDING"   # the holder is untouched
