"""Who hears about what: Databricks' notification rules for job and task events.

* Job level: ``on_start`` when the run starts; at its end ``on_success`` for SUCCESS
  (and SUCCESS_WITH_FAILURES, which Databricks counts as a success) or
  ``on_failure`` for FAILED, TIMEDOUT or an INTERNAL_ERROR life cycle. Canceled and
  skipped runs also go to ``on_failure`` unless ``notification_settings`` mutes
  them. Job-level notifications never fire for a task's retries.
* Task level: the same events per task run; ``alert_on_last_attempt`` sends
  ``on_failure`` only after the last attempt and no ``on_start`` for retries. Job-
  level muting does not mute task-level notifications (a task mutes its own).
* ``health.rules`` ``RUN_DURATION_SECONDS GREATER_THAN N``: once the run (or task)
  has been running N seconds, ``on_duration_warning_threshold_exceeded`` fires once.
  The STREAMING_BACKLOG_* metrics are not watched locally: a note says so at run start.

Pure: states are read through :mod:`course.jobs.model.states`, nothing is sent here.
"""
from __future__ import annotations

from typing import Any

from databricks.sdk.service import jobs

from course.jobs.model import states

__all__ = ["EVENTS", "DURATION", "health_threshold_seconds", "ignored_health_rules", "task_of", "state_words", "outcome",
           "failed_tasks", "muted", "recipients"]

EVENTS = ("on_start", "on_success", "on_failure", "on_duration_warning_threshold_exceeded")
DURATION = EVENTS[3]


def health_threshold_seconds(settings: jobs.JobSettings | jobs.Task) -> int | None:
    """N of the RUN_DURATION_SECONDS GREATER_THAN N rule (the smallest, if several); None without one."""
    rules = settings.health.rules if settings.health and settings.health.rules else []
    values = [r.value for r in rules if r.metric == jobs.JobsHealthMetric.RUN_DURATION_SECONDS
              and r.op == jobs.JobsHealthOperator.GREATER_THAN and r.value is not None]
    return min(values) if values else None


def ignored_health_rules(settings: jobs.JobSettings) -> list[str]:
    """One note per health rule the kit cannot watch: the STREAMING_BACKLOG_* metrics need a
    streaming source's backlog, which a local run does not measure."""
    notes = []
    for scope in [settings, *(settings.tasks or [])]:
        where = f"task '{scope.task_key}'" if isinstance(scope, jobs.Task) else "the job"
        for rule in (scope.health.rules if scope.health and scope.health.rules else []):
            metric = states.value(rule.metric)
            if metric != "RUN_DURATION_SECONDS":
                notes.append(f"health rule {metric} of {where} is not watched locally "
                             "(no streaming backlog is measured): it is deployed, not alerted on")
    return notes


def task_of(run: jobs.Run, task_run_id: int) -> jobs.RunTask:
    """The task run with this id in `run.tasks` (History.get_run lists every attempt)."""
    for task in run.tasks or []:
        if task.run_id == task_run_id:
            return task
    raise KeyError(f"task run {task_run_id} is not in run {run.run_id}")


def state_words(obj: jobs.Run | jobs.RunTask) -> tuple[str | None, str | None]:
    """(life_cycle_state, result_state) of a run or task run, as API strings."""
    st = obj.state
    if st is None:
        return None, None
    return states.value(st.life_cycle_state), states.value(st.result_state)


def outcome(obj: jobs.Run | jobs.RunTask) -> str | None:
    """'success', 'failure', 'canceled', 'skipped', or None (still running, excluded, disabled)."""
    life, result = state_words(obj)
    if life == states.SKIPPED:
        return "skipped"  # a skipped run, whatever result it carries
    word = states.effective(life, result)
    if word in (states.EXCLUDED, states.DISABLED):
        return None  # left out on purpose: nobody is told
    kind = states.classify(word)
    if kind == "failed":
        return "failure"
    if word == states.CANCELED:
        return "canceled"
    if kind == "not_run":
        return "skipped"
    if kind == "succeeded":
        return "success"
    return None


def failed_tasks(run: jobs.Run) -> list[jobs.RunTask]:
    """The latest attempt of every task that failed (FAILED, TIMEDOUT, INTERNAL_ERROR)."""
    return [t for t in states.latest_attempts(run.tasks or []).values() if outcome(t) == "failure"]


def muted(kind: str, settings: Any, email: Any) -> bool:
    """notification_settings (and the deprecated email_notifications flag) mute canceled/skipped."""
    if kind == "canceled":
        return bool(settings and settings.no_alert_for_canceled_runs)
    if kind == "skipped":
        return bool((settings and settings.no_alert_for_skipped_runs)
                    or (email and email.no_alert_for_skipped_runs))
    return False


def recipients(email: Any, webhooks: Any, event: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(e-mail addresses, webhook destination ids) a scope's settings name for `event`."""
    emails = tuple(getattr(email, event, None) or ()) if email else ()
    hooks = tuple(h.id for h in getattr(webhooks, event, None) or () if h.id) if webhooks else ()
    return emails, hooks
