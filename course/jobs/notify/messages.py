"""What a notification says: the e-mail (subject, plain-text body) and the webhook payload.

Subjects read like the workspace's alert mails (``[Day 7] Run failed: <job> (run 42)``);
the webhook body is Databricks' HTTP webhook payload (``event_type`` ``jobs.on_failure``
etc., ``workspace_id``, ``run``, ``job``, and ``task`` for task-level events).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from databricks.sdk.service import jobs

from course.jobs.model import states
from course.jobs.notify.rules import failed_tasks, outcome, state_words
from course.platform import paths

__all__ = ["Message", "LOCAL_WORKSPACE_ID", "subject", "body", "build_email", "webhook_payload"]

LOCAL_WORKSPACE_ID = 0     # webhook payloads carry a workspace id; a local run has none


@dataclass(frozen=True)
class Message:
    """One event for one scope (the job, or one task run): who gets it and what it says."""

    event: str
    emails: tuple[str, ...]
    hooks: tuple[str, ...]
    run: jobs.Run
    task: jobs.RunTask | None = None

    @property
    def label(self) -> str:
        return f"task {self.task.task_key}: " if self.task else ""


_SUBJECTS = {"on_start": "started", "on_success": "succeeded", "on_failure": "failed",
             "on_duration_warning_threshold_exceeded": "is running longer than its duration threshold"}
_FAILURE_WORDS = {states.TIMEDOUT: "timed out", states.CANCELED: "was canceled",
                  states.UPSTREAM_FAILED: "was skipped", states.UPSTREAM_CANCELED: "was skipped",
                  states.MAXIMUM_CONCURRENT_RUNS_REACHED: "was skipped"}
# Until one of these ends, a duration is counted from the start time to now.
_NOT_STARTED_OR_RUNNING = (None, states.RUNNING, states.PENDING, states.QUEUED, states.BLOCKED)


def _job_name(run: jobs.Run) -> str:
    return run.run_name or f"job {run.job_id}"


def _verb(msg: Message) -> str:
    life, result = state_words(msg.task or msg.run)
    if msg.event == "on_failure" and life != states.INTERNAL_ERROR:
        return _FAILURE_WORDS.get(result or "", "failed")
    return _SUBJECTS[msg.event]


def subject(msg: Message) -> str:
    """'[Day 7] Run failed: day7-medallion (run 42)', like the workspace's alert mails."""
    name, rid = _job_name(msg.run), msg.run.run_id
    if msg.task:
        return f"[Day 7] Task {msg.task.task_key} {_verb(msg)}: {name} (run {rid})"
    return f"[Day 7] Run {_verb(msg)}: {name} (run {rid})"


def _duration_ms(obj: jobs.Run | jobs.RunTask) -> int | None:
    life, _ = state_words(obj)
    if obj.run_duration and life not in _NOT_STARTED_OR_RUNNING:
        return obj.run_duration
    if obj.start_time:
        end = obj.end_time or int(time.time() * 1000)
        return max(0, end - obj.start_time)
    return None


def _fmt_duration(ms: int | None) -> str:
    if ms is None:
        return "-"
    s = ms // 1000
    h, m, sec = s // 3600, s // 60 % 60, s % 60
    return f"{h}h {m}m {sec}s" if h else f"{m}m {sec}s" if m else f"{ms / 1000:.1f}s"


def _fmt_time(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _result_line(obj: jobs.Run | jobs.RunTask) -> str:
    life, result = state_words(obj)
    if result and life == states.INTERNAL_ERROR:
        # Databricks' life cycle for a run whose task failed; alone it reads like a crash of the kit.
        return f"{result} (a task failed; the life cycle state is INTERNAL_ERROR, as on Databricks)"
    return f"{result or life or '-'} ({life})" if result and life != states.TERMINATED else (result or life or "-")


def body(msg: Message, run_dir: Path | None) -> str:
    """The plain-text body: job, run, result, duration, failing task and its message, run folder."""
    run, task = msg.run, msg.task
    folder = run_dir or paths.runs_dir() / str(run.run_id)
    lines = [f"Job:        {_job_name(run)} (job {run.job_id})",
             f"Run:        {run.run_id}",
             f"Event:      {msg.event}"]
    subject_obj = task or run
    if task:
        lines.append(f"Task:       {task.task_key} (task run {task.run_id}, attempt {(task.attempt_number or 0) + 1})")
        folder = folder / task.task_key
    if msg.event != "on_start":
        lines.append(f"Result:     {_result_line(subject_obj)}")
    lines += [f"Started:    {_fmt_time(subject_obj.start_time)}",
              f"Duration:   {_fmt_duration(_duration_ms(subject_obj))}"]
    failing = ([task] if task and outcome(task) == "failure" else failed_tasks(run) if not task else [])
    if msg.event == "on_failure":
        for t in failing:
            lines.append(f"Failed task: {t.task_key}: {(t.state.state_message if t.state else '') or '-'}")
        if not task and run.state and run.state.state_message:
            lines.append(f"Message:    {run.state.state_message}")
    lines += [f"Run folder: {folder}", "",
              "Sent by the Day 7 kit for a local run (python runner.py runs show "
              f"{run.run_id} prints the whole run)."]
    return "\n".join(lines) + "\n"


def build_email(msg: Message, run_dir: Path | None, sender: str) -> EmailMessage:
    """The e-mail for `msg`: subject, sender, recipients, date, id and the plain-text body."""
    email = EmailMessage()
    email["Subject"] = subject(msg)
    email["From"] = sender
    email["To"] = ", ".join(msg.emails)
    email["Date"] = formatdate(localtime=True)
    email["Message-ID"] = make_msgid(domain="day7.local")  # a domain: no slow getfqdn() lookup
    email.set_content(body(msg, run_dir))
    return email


def webhook_payload(msg: Message) -> dict[str, Any]:
    """Databricks' HTTP webhook body; a task-level event adds `task` and `run.parent_run_id`."""
    payload: dict[str, Any] = {"event_type": f"jobs.{msg.event}", "workspace_id": LOCAL_WORKSPACE_ID}
    if msg.task:
        payload["task"] = {"task_key": msg.task.task_key}
        payload["run"] = {"run_id": msg.task.run_id, "parent_run_id": msg.run.run_id}
    else:
        payload["run"] = {"run_id": msg.run.run_id}
    payload["job"] = {"job_id": msg.run.job_id, "name": _job_name(msg.run)}
    return payload
