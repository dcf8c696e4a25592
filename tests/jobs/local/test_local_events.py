"""The run loop's events and their listeners, against a real history database."""
from __future__ import annotations

from course.jobs.local.events import AttemptFinished, EventBus, RunChanged, RunFinished, RunStarted
from course.jobs.local.executors.base import Outcome
from course.jobs.local.history import History
from course.jobs.local.listeners import HistoryRecorder, ProgressListener


def new_run(history: History) -> tuple[int, int]:
    job_id = history.ensure_job("events", {"name": "events"})
    run_id = history.create_run(job_id, "events", {})
    return job_id, run_id


def test_listeners_hear_events_in_subscription_order():
    bus, heard = EventBus(), []
    bus.subscribe(lambda e: heard.append(("first", type(e).__name__)))
    bus.subscribe(lambda e: heard.append(("second", type(e).__name__)))
    bus.emit(RunChanged(1))
    assert heard == [("first", "RunChanged"), ("second", "RunChanged")]


def test_the_history_records_an_attempt_and_the_run_from_events(tmp_path):
    history = History(tmp_path / "history.db")
    _, run_id = new_run(history)
    tr = history.create_task_run(run_id, "bronze", life_cycle_state="RUNNING")
    bus = EventBus()
    bus.subscribe(HistoryRecorder(history))
    snapshots = []
    bus.subscribe(ProgressListener(snapshots.append, history))  # reads what the recorder wrote

    bus.emit(RunStarted(run_id))
    assert history.run_record(run_id).life_cycle_state == "RUNNING"
    bus.emit(AttemptFinished(run_id, "bronze", tr, Outcome("SUCCESS", exit_value="ok", task_values={"rows": 3})))
    bus.emit(RunFinished(run_id, "TERMINATED", "SUCCESS"))

    record = history.task_run(tr)
    assert (record.life_cycle_state, record.result_state, record.exit_value) == ("TERMINATED", "SUCCESS", "ok")
    assert history.task_run_values(tr) == {"rows": 3}
    assert [s.state.result_state.value for s in snapshots] == ["SUCCESS"]  # only RunChanged/RunFinished redraw


def test_an_internal_error_is_recorded_as_its_life_cycle_state_with_result_failed(tmp_path):
    history = History(tmp_path / "history.db")
    _, run_id = new_run(history)
    tr = history.create_task_run(run_id, "silver", life_cycle_state="RUNNING")
    HistoryRecorder(history)(AttemptFinished(run_id, "silver", tr, Outcome("INTERNAL_ERROR", "kernel died")))
    record = history.task_run(tr)
    assert (record.life_cycle_state, record.result_state, record.state_message) == (
        "INTERNAL_ERROR", "FAILED", "kernel died")


def test_a_skipped_task_keeps_its_reason_and_no_error(tmp_path):
    history = History(tmp_path / "history.db")
    _, run_id = new_run(history)
    tr = history.create_task_run(run_id, "gold")
    HistoryRecorder(history)(AttemptFinished(run_id, "gold", tr, Outcome("UPSTREAM_FAILED", "Upstream task failed"),
                                             skipped=True))
    output = history.get_output(tr)
    assert history.task_run(tr).result_state == "UPSTREAM_FAILED"
    assert output.error is None
