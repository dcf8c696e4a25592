"""The Notifier: takes the run loop's events, queues the messages they call for, sends them in the background.

The run loop builds one Notifier per run or repair (``NotifyConfigError`` means
nothing should run), passes ``jobs.Run`` / ``jobs.RunTask`` objects as
``History.get_run`` returns them (``task_of`` finds a task run in a Run), and ends
with ``close(timeout)``: sending never blocks the loop, only that final bounded wait.
Every delivery ends in a one-line note (``on_note`` and ``Notifier.notes``).
Who hears about what is decided in :mod:`.rules`; where messages go is read when
the Notifier is built (:mod:`.config`), checked only for the channels the job uses.
"""
from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Any, Callable

from databricks.sdk.service import jobs

from course.jobs.notify.config import SmtpConfig, load_smtp_config, load_webhook_destinations
from course.jobs.notify.messages import Message
from course.jobs.notify.rules import (DURATION, EVENTS, health_threshold_seconds, ignored_health_rules, muted, outcome,
                                      recipients)
from course.jobs.notify.transports import deliver_email, deliver_webhook

__all__ = ["Notifier", "SEND_TIMEOUT_S", "CLOSE_TIMEOUT_S"]

SEND_TIMEOUT_S = 5.0       # per connection: an unreachable server costs at most this
CLOSE_TIMEOUT_S = 15.0     # how long close() waits for queued messages by default
_FROM_ENV = object()       # Notifier(smtp=...) default: read DAY7_SMTP*


class Notifier:
    """Sends a job's notifications for one run (or repair); see the module docstring.

    `on_note(text)` is called from the sending thread, once per delivery.
    """

    def __init__(self, settings: jobs.JobSettings, run_dir: Path | None = None,
                 on_note: Callable[[str], None] | None = None, *,
                 smtp: SmtpConfig | None | object = _FROM_ENV, webhooks: dict[str, str] | None = None,
                 send_timeout: float = SEND_TIMEOUT_S):
        self.settings = settings
        self.run_dir = Path(run_dir) if run_dir else None
        self.on_note = on_note
        self.send_timeout = send_timeout
        self.notes: list[str] = []
        self.tasks = {t.task_key: t for t in settings.tasks or []}
        uses_email, uses_hooks = self._channels()
        self.active = uses_email or uses_hooks  # False: the run loop need not report events
        # Config problems surface now, before the run, and only for channels the job uses.
        self.smtp = (load_smtp_config() if uses_email else None) if smtp is _FROM_ENV else smtp
        self.hooks_file: str | None = None
        if webhooks is None:
            webhooks, self.hooks_file = load_webhook_destinations() if uses_hooks else ({}, None)
        self.webhooks = webhooks
        self._queue: queue.Queue[Message | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._timers: dict[Any, threading.Timer] = {}
        self._warned: set[Any] = set()
        self._hung: set[str] = set()   # servers that timed out: not tried again in this run
        self._lock = threading.Lock()
        for text in ignored_health_rules(settings):
            self._note(text)

    def _channels(self) -> tuple[bool, bool]:
        scopes = [self.settings, *self.tasks.values()]
        email = any(s.email_notifications and any(getattr(s.email_notifications, e, None) for e in EVENTS)
                    for s in scopes)
        hooks = any(s.webhook_notifications and any(getattr(s.webhook_notifications, e, None) for e in EVENTS)
                    for s in scopes)
        return email, hooks

    # ----- events from the run loop

    def run_started(self, run: jobs.Run) -> None:
        """The run (or repair) is RUNNING: on_start, and arm the job's duration warning."""
        s = self.settings
        self._queue_event("on_start", s.email_notifications, s.webhook_notifications, run)
        if any(recipients(s.email_notifications, s.webhook_notifications, DURATION)):
            self._arm(run.run_id, health_threshold_seconds(s), self.duration_exceeded, run)

    def run_finished(self, run: jobs.Run) -> None:
        """The run (or repair) reached a terminal state: on_success or on_failure, unless muted."""
        self._disarm(run.run_id)
        s = self.settings
        self._queue_result(run, None, s.email_notifications, s.webhook_notifications, s.notification_settings)

    def task_started(self, run: jobs.Run, task: jobs.RunTask) -> None:
        """A task attempt is RUNNING: the task's on_start (not for retries with alert_on_last_attempt)."""
        spec = self.tasks.get(task.task_key)
        if spec is None:
            return
        last_only = bool(spec.notification_settings and spec.notification_settings.alert_on_last_attempt)
        if not (last_only and (task.attempt_number or 0) > 0):
            self._queue_event("on_start", spec.email_notifications, spec.webhook_notifications, run, task)
        if any(recipients(spec.email_notifications, spec.webhook_notifications, DURATION)):
            self._arm(("task", task.run_id), health_threshold_seconds(spec), self.duration_exceeded, run, task)

    def task_finished(self, run: jobs.Run, task: jobs.RunTask, last_attempt: bool) -> None:
        """A task attempt ended; `last_attempt` is False when a retry will follow."""
        self._disarm(("task", task.run_id))
        spec = self.tasks.get(task.task_key)
        if spec is None:
            return
        ns = spec.notification_settings
        if outcome(task) == "failure" and not last_attempt and ns and ns.alert_on_last_attempt:
            return  # the failure alert waits for the last attempt
        self._queue_result(run, task, spec.email_notifications, spec.webhook_notifications, ns)

    def duration_exceeded(self, run: jobs.Run, task: jobs.RunTask | None = None) -> None:
        """The health threshold passed while running: the duration warning, once per run or task run."""
        key = ("task", task.run_id) if task else run.run_id
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
        spec = self.tasks.get(task.task_key) if task else self.settings
        if spec is None:
            return
        self._queue_event(DURATION, spec.email_notifications, spec.webhook_notifications, run, task)

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> list[str]:
        """Stop the timers, wait up to `timeout` s for queued messages; returns every note."""
        with self._lock:
            timers, self._timers = list(self._timers.values()), {}
        for timer in timers:
            timer.cancel()
        with self._lock:
            thread, self._thread = self._thread, None  # a later event starts a new sender
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)
            if thread.is_alive():
                self._note(f"notifications: stopped waiting after {timeout:g} s; "
                           "messages still queued are dropped")
        return list(self.notes)

    # ----- queueing

    def _queue_result(self, run, task, email, webhooks, settings) -> None:
        kind = outcome(task or run)
        if kind is None:
            return
        event = "on_success" if kind == "success" else "on_failure"
        if muted(kind, settings, email):
            emails, hooks = recipients(email, webhooks, event)
            if emails or hooks:
                flag = "no_alert_for_canceled_runs" if kind == "canceled" else "no_alert_for_skipped_runs"
                label = f"task {task.task_key}: " if task else ""
                self._note(f"{label}{event} not sent: the run was {kind} and {flag} is set")
            return
        self._queue_event(event, email, webhooks, run, task)

    def _queue_event(self, event, email, webhooks, run, task=None) -> None:
        emails, hooks = recipients(email, webhooks, event)
        if not emails and not hooks:
            return
        with self._lock:
            if self._thread is None:  # started on first use: a job without alerts costs nothing
                self._thread = threading.Thread(target=self._deliver_all, name="day7-notify", daemon=True)
                self._thread.start()
        self._queue.put(Message(event, emails, hooks, run, task))

    def _arm(self, key, seconds: int | None, fn, *args) -> None:
        if seconds is None:
            return
        timer = threading.Timer(seconds, fn, args=args)
        timer.daemon = True
        with self._lock:
            old = self._timers.pop(key, None)
            self._timers[key] = timer
        if old:
            old.cancel()
        timer.start()

    def _disarm(self, key) -> None:
        with self._lock:
            timer = self._timers.pop(key, None)
        if timer:
            timer.cancel()

    def _note(self, text: str) -> None:
        self.notes.append(text)
        if self.on_note:
            try:
                self.on_note(text)
            except Exception:  # a broken printer must not kill the sender thread
                pass

    # ----- delivering (sender thread)

    def _deliver_all(self) -> None:
        while (msg := self._queue.get()) is not None:
            if msg.emails:
                self._deliver(msg, f"email {msg.event}", deliver_email,
                              msg, self.smtp, self.run_dir, self.send_timeout, self._hung)
            for dest in msg.hooks:
                self._deliver(msg, f"webhook {msg.event} to destination {dest}", deliver_webhook,
                              msg, dest, self.webhooks, self.hooks_file, self.send_timeout, self._hung)

    def _deliver(self, msg: Message, what: str, fn, *args) -> None:
        try:
            note = fn(*args)
        except Exception as exc:  # whatever goes wrong, the run goes on: say it and continue
            note = f"{what} failed: {type(exc).__name__}: {exc}"
        self._note(msg.label + note)
