"""The run loop's listeners: the history records events, notifications alert on them,
the progress view redraws. Each turns events into its own side effects."""
from __future__ import annotations

from typing import Any, Callable

from course.jobs.local.events import AttemptFinished, AttemptStarted, RunChanged, RunFinished, RunStarted

# What a task decided without running says, as Databricks words it.
SKIP_MESSAGES = {"UPSTREAM_FAILED": "Upstream task failed", "UPSTREAM_CANCELED": "Upstream task was canceled",
                 "EXCLUDED": "Excluded by run_if or a condition outcome", "DISABLED": "Task is disabled",
                 "CANCELED": "Run was canceled"}


class HistoryRecorder:
    """Writes what happened into the run history (task runs are created by the loop, which
    needs their ids; their ends and the run's states arrive here)."""

    def __init__(self, history):
        self.history = history

    def __call__(self, event: Any) -> None:
        if isinstance(event, RunStarted):
            self.history.set_run_state(event.run_id, "RUNNING")
        elif isinstance(event, AttemptFinished):
            self._task_run_ended(event)
        elif isinstance(event, RunFinished):
            self.history.set_run_state(event.run_id, event.life_cycle_state, event.result_state, event.message,
                                       termination_code=event.termination_code)

    def _task_run_ended(self, event: AttemptFinished) -> None:
        outcome = event.outcome
        if event.skipped:
            self.history.update_task_run(event.task_run_id, life_cycle_state="TERMINATED",
                                         result_state=outcome.state, state_message=outcome.message)
            return
        if outcome.task_values:
            self.history.set_task_values(event.task_run_id, outcome.task_values)
        # INTERNAL_ERROR is a life cycle state; its result state is FAILED (SEMANTICS.md).
        internal = outcome.state == "INTERNAL_ERROR"
        self.history.update_task_run(event.task_run_id,
                                     life_cycle_state="INTERNAL_ERROR" if internal else "TERMINATED",
                                     result_state="FAILED" if internal else outcome.state,
                                     state_message=outcome.message, exit_value=outcome.exit_value,
                                     error=outcome.message if outcome.state != "SUCCESS" else None,
                                     error_trace=outcome.trace)


class NotificationListener:
    """Hands run and task events to the job's notifier (e-mail, webhooks)."""

    def __init__(self, notifier, history):
        self.notifier = notifier
        self.history = history

    def __call__(self, event: Any) -> None:
        if not self.notifier.active:
            return
        from course.jobs.notify import task_of

        if isinstance(event, RunStarted):
            self.notifier.run_started(self.history.get_run(event.run_id))
        elif isinstance(event, AttemptStarted):
            run = self.history.get_run(event.run_id)
            self.notifier.task_started(run, task_of(run, event.task_run_id))
        elif isinstance(event, AttemptFinished):
            run = self.history.get_run(event.run_id)
            self.notifier.task_finished(run, task_of(run, event.task_run_id),
                                        last_attempt=event.last_attempt)
        elif isinstance(event, RunFinished):
            self.notifier.run_finished(self.history.get_run(event.run_id))


class ProgressListener:
    """Calls `on_update(jobs.Run)` whenever the run visibly changed (from the loop's thread)."""

    def __init__(self, on_update: Callable[[Any], None], history):
        self.on_update = on_update
        self.history = history

    def __call__(self, event: Any) -> None:
        if isinstance(event, (RunChanged, RunFinished)):
            self.on_update(self.history.get_run(event.run_id))
