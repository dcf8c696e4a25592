"""Job notifications for local runs: e-mails over SMTP and webhook POSTs, Databricks semantics.

The run loop reports events to a :class:`Notifier`; it decides, from the job's
``JobSettings`` and each task's settings, who hears about what, and sends in a
background thread so a slow server never slows the run. Every delivery ends in a
one-line note (``on_note`` and ``Notifier.notes``).

Semantics (SEMANTICS.md "Notifications and health", Databricks' "Add notifications
on a job"):

* Job level: ``on_start`` when the run starts; at its end ``on_success`` for SUCCESS
  (and SUCCESS_WITH_FAILURES, which Databricks counts as a success) or
  ``on_failure`` for FAILED, TIMEDOUT or an INTERNAL_ERROR life cycle. Canceled and
  skipped runs also go to ``on_failure`` unless ``notification_settings`` mutes
  them. Job-level notifications never fire for a task's retries.
* Task level: the same events per task run; ``alert_on_last_attempt`` sends
  ``on_failure`` only after the last attempt and no ``on_start`` for retries. Job-
  level muting does not mute task-level notifications (a task mutes its own).
* ``health.rules`` ``RUN_DURATION_SECONDS GREATER_THAN N``: once the run (or task)
  has been running N seconds, ``on_duration_warning_threshold_exceeded`` fires once;
  it is a warning, the run goes on.

Where messages go (read when the Notifier is built, checked only for the channels
the job uses):

* ``DAY7_SMTP=host[:port]`` (port 25 by default, 465 means implicit TLS), with
  optional ``DAY7_SMTP_USER`` / ``DAY7_SMTP_PASSWORD`` (then STARTTLS is required,
  so a password never travels in clear) and ``DAY7_SMTP_FROM``. Unset: every
  e-mail is written to ``<DAY7_HOME>/outbox/*.eml`` instead, and so is an e-mail
  whose sending failed.
* ``DAY7_WEBHOOKS=<file.json|file.yml>`` maps notification destination ids (what
  ``webhook_notifications`` names) to URLs: ``{"ops-hook": "http://127.0.0.1:9000/x"}``.
  The body is Databricks' HTTP webhook payload (``event_type`` ``jobs.on_failure``
  etc., ``workspace_id``, ``run``, ``job``, and ``task`` for task-level events).

The run loop builds one Notifier per run or repair (``NotifyConfigError`` means
nothing should run), passes ``jobs.Run`` / ``jobs.RunTask`` objects as
``History.get_run`` returns them (``task_of`` finds a task run in a Run), and ends
with ``close(timeout)``: sending never blocks the loop, only that final bounded wait.
"""
from __future__ import annotations

import json
import os
import queue
import re
import smtplib
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Callable

from databricks.sdk.service import jobs

from course import paths

__all__ = ["Notifier", "NotifyConfigError", "SmtpConfig", "health_threshold_seconds",
           "load_smtp_config", "load_webhook_destinations", "task_of", "EVENTS"]

EVENTS = ("on_start", "on_success", "on_failure", "on_duration_warning_threshold_exceeded")
_DURATION = EVENTS[3]
SEND_TIMEOUT_S = 5.0       # per connection: an unreachable server costs at most this
CLOSE_TIMEOUT_S = 15.0     # how long close() waits for queued messages by default
LOCAL_WORKSPACE_ID = 0     # webhook payloads carry a workspace id; a local run has none
DEFAULT_FROM = "day7-kit@localhost"
_FROM_ENV = object()       # Notifier(smtp=...) default: read DAY7_SMTP*

_FAILURE_RESULTS = {"FAILED", "TIMEDOUT"}
_SUCCESS_RESULTS = {"SUCCESS", "SUCCESS_WITH_FAILURES"}
_SKIPPED_RESULTS = {"UPSTREAM_FAILED", "UPSTREAM_CANCELED", "MAXIMUM_CONCURRENT_RUNS_REACHED"}


class NotifyConfigError(ValueError):
    """DAY7_SMTP* or the DAY7_WEBHOOKS file is malformed; the message says what and where."""


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    sender: str = DEFAULT_FROM

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def load_smtp_config(env: dict[str, str] | None = None) -> SmtpConfig | None:
    """The SMTP server from DAY7_SMTP (+ _USER, _PASSWORD, _FROM); None when DAY7_SMTP is unset."""
    env = os.environ if env is None else env
    raw = (env.get("DAY7_SMTP") or "").strip()
    if not raw:
        return None
    host, port = _host_port(raw)
    user = env.get("DAY7_SMTP_USER") or None
    password = env.get("DAY7_SMTP_PASSWORD") or None
    if password and not user:
        raise NotifyConfigError("DAY7_SMTP_PASSWORD is set but DAY7_SMTP_USER is not: set both, or neither")
    sender = env.get("DAY7_SMTP_FROM") or (user if user and "@" in user else DEFAULT_FROM)
    return SmtpConfig(host, port, user, password, sender)


_HOST_PORT = re.compile(r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^\s:/@\[\]]+))(?::(?P<port>.*))?")


def _host_port(raw: str) -> tuple[str, int]:
    """'host', 'host:port' or '[v6]:port' -> (host, port); port 25 when absent."""
    m = _HOST_PORT.fullmatch(raw)
    if m is None:
        raise NotifyConfigError(f"DAY7_SMTP={raw!r}: expected host:port, e.g. localhost:1025 "
                                "(an IPv6 address goes in brackets: [::1]:1025)")
    port = m["port"]
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise NotifyConfigError(f"DAY7_SMTP={raw!r}: the port {port!r} is not a number from 1 to 65535")
    return m["v6"] or m["host"], int(port) if port else 25


def load_webhook_destinations(env: dict[str, str] | None = None) -> tuple[dict[str, str], str | None]:
    """({destination id: url}, the file they came from) from DAY7_WEBHOOKS; ({}, None) when unset."""
    env = os.environ if env is None else env
    raw = (env.get("DAY7_WEBHOOKS") or "").strip()
    if not raw:
        return {}, None
    path = Path(raw).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NotifyConfigError(f"DAY7_WEBHOOKS={raw}: cannot read the file: {exc.strerror or exc}") from None
    data = _parse_mapping_file(path, text)
    example = '{"my-destination-id": "http://127.0.0.1:9000/hook"}'
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise NotifyConfigError(f"{path}: expected a mapping of destination id to URL, e.g. {example}; "
                                f"got a {type(data).__name__}")
    out: dict[str, str] = {}
    for key, url in data.items():
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise NotifyConfigError(f"{path}: destination {str(key)!r}: expected an http:// or https:// URL, "
                                    f"got {url!r}")
        out[str(key)] = url
    return out, str(path)


def _parse_mapping_file(path: Path, text: str) -> Any:
    """JSON for .json files, YAML otherwise; parse errors name the file and line."""
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise NotifyConfigError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    import yaml  # only when a YAML file is used

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise NotifyConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None


def health_threshold_seconds(settings: jobs.JobSettings | jobs.Task) -> int | None:
    """N of the RUN_DURATION_SECONDS GREATER_THAN N rule (the smallest, if several); None without one."""
    rules = settings.health.rules if settings.health and settings.health.rules else []
    values = [r.value for r in rules if r.metric == jobs.JobsHealthMetric.RUN_DURATION_SECONDS
              and r.op == jobs.JobsHealthOperator.GREATER_THAN and r.value is not None]
    return min(values) if values else None


def task_of(run: jobs.Run, task_run_id: int) -> jobs.RunTask:
    """The task run with this id in `run.tasks` (History.get_run lists every attempt)."""
    for task in run.tasks or []:
        if task.run_id == task_run_id:
            return task
    raise KeyError(f"task run {task_run_id} is not in run {run.run_id}")


# --------------------------------------------------------------------------- deciding


def _state(obj: jobs.Run | jobs.RunTask) -> tuple[str | None, str | None]:
    """(life_cycle_state, result_state) as strings."""
    st = obj.state
    if st is None:
        return None, None
    life = st.life_cycle_state.value if st.life_cycle_state else None
    result = st.result_state.value if st.result_state else None
    return life, result


def outcome(obj: jobs.Run | jobs.RunTask) -> str | None:
    """'success', 'failure', 'canceled', 'skipped', or None (still running, excluded, disabled)."""
    life, result = _state(obj)
    if life == "INTERNAL_ERROR":
        return "failure"
    if life == "SKIPPED" or result in _SKIPPED_RESULTS:
        return "skipped"
    if result in _SUCCESS_RESULTS:
        return "success"
    if result in _FAILURE_RESULTS:
        return "failure"
    if result == "CANCELED":
        return "canceled"
    return None


def _muted(kind: str, settings: Any, email: Any) -> bool:
    """notification_settings (and the deprecated email_notifications flag) mute canceled/skipped."""
    if kind == "canceled":
        return bool(settings and settings.no_alert_for_canceled_runs)
    if kind == "skipped":
        return bool((settings and settings.no_alert_for_skipped_runs)
                    or (email and email.no_alert_for_skipped_runs))
    return False


@dataclass(frozen=True)
class _Message:
    """One event for one scope (the job, or one task run): who gets it and what it says."""

    event: str
    emails: tuple[str, ...]
    hooks: tuple[str, ...]
    run: jobs.Run
    task: jobs.RunTask | None = None

    @property
    def label(self) -> str:
        return f"task {self.task.task_key}: " if self.task else ""


def _recipients(email: Any, webhooks: Any, event: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    emails = tuple(getattr(email, event, None) or ()) if email else ()
    hooks = tuple(h.id for h in getattr(webhooks, event, None) or () if h.id) if webhooks else ()
    return emails, hooks


# --------------------------------------------------------------------------- the notifier


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
        self._queue: queue.Queue[_Message | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._timers: dict[Any, threading.Timer] = {}
        self._warned: set[Any] = set()
        self._lock = threading.Lock()

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
        if any(_recipients(s.email_notifications, s.webhook_notifications, _DURATION)):
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
        if any(_recipients(spec.email_notifications, spec.webhook_notifications, _DURATION)):
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
        self._queue_event(_DURATION, spec.email_notifications, spec.webhook_notifications, run, task)

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
        if _muted(kind, settings, email):
            emails, hooks = _recipients(email, webhooks, event)
            if emails or hooks:
                flag = "no_alert_for_canceled_runs" if kind == "canceled" else "no_alert_for_skipped_runs"
                label = f"task {task.task_key}: " if task else ""
                self._note(f"{label}{event} not sent: the run was {kind} and {flag} is set")
            return
        self._queue_event(event, email, webhooks, run, task)

    def _queue_event(self, event, email, webhooks, run, task=None) -> None:
        emails, hooks = _recipients(email, webhooks, event)
        if not emails and not hooks:
            return
        with self._lock:
            if self._thread is None:  # started on first use: a job without alerts costs nothing
                self._thread = threading.Thread(target=self._deliver_all, name="day7-notify", daemon=True)
                self._thread.start()
        self._queue.put(_Message(event, emails, hooks, run, task))

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
                self._deliver(msg, f"email {msg.event}", self._deliver_email, msg)
            for dest in msg.hooks:
                self._deliver(msg, f"webhook {msg.event} to destination {dest}", self._deliver_webhook, msg, dest)

    def _deliver(self, msg: _Message, what: str, fn, *args) -> None:
        try:
            note = fn(*args)
        except Exception as exc:  # whatever goes wrong, the run goes on: say it and continue
            note = f"{what} failed: {type(exc).__name__}: {exc}"
        self._note(msg.label + note)

    def _deliver_email(self, msg: _Message) -> str:
        what = f"email {msg.event}"
        to = ", ".join(msg.emails)
        email = build_email(msg, self.run_dir, self.smtp.sender if self.smtp else DEFAULT_FROM)
        if self.smtp is None:
            saved = save_eml(email, msg)
            return f"{what} to {to} saved to {saved} (no SMTP server: set DAY7_SMTP=host:port)"
        try:
            send_smtp(self.smtp, email, self.send_timeout)
        except Exception as exc:  # refused, timed out, TLS, auth, rejected recipients...
            saved = save_eml(email, msg)
            return f"{what} to {to} failed (SMTP {self.smtp}: {_reason(exc)}); saved to {saved}"
        return f"{what} sent to {to}"

    def _deliver_webhook(self, msg: _Message, dest: str) -> str:
        what = f"webhook {msg.event} to destination {dest}"
        url = self.webhooks.get(dest)
        if url is None:
            where = f"not in {self.hooks_file}" if self.hooks_file else "DAY7_WEBHOOKS is not set"
            return f"{what} not sent: unknown destination id ({where})"
        try:
            status = post_json(url, webhook_payload(msg), self.send_timeout)
        except Exception as exc:  # refused, timed out, HTTP error status, bad URL...
            return f"{what} ({url}) failed: {_reason(exc)}"
        return f"{what} ({url}) sent: HTTP {status}"


def _reason(exc: BaseException) -> str:
    """A short human reason: 'connection refused', 'timed out', 'HTTP 500 Internal Server Error'."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    cause = exc
    while cause is not None:  # smtplib wraps a timeout in SMTPServerDisconnected
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, TimeoutError):
            return "timed out"
        cause = cause.__cause__ or cause.__context__
    return str(exc) or type(exc).__name__


# --------------------------------------------------------------------------- message contents


_SUBJECTS = {"on_start": "started", "on_success": "succeeded", "on_failure": "failed",
             "on_duration_warning_threshold_exceeded": "is running longer than its duration threshold"}
_FAILURE_WORDS = {"TIMEDOUT": "timed out", "CANCELED": "was canceled", "UPSTREAM_FAILED": "was skipped",
                  "UPSTREAM_CANCELED": "was skipped", "MAXIMUM_CONCURRENT_RUNS_REACHED": "was skipped"}


def _job_name(run: jobs.Run) -> str:
    return run.run_name or f"job {run.job_id}"


def _verb(msg: _Message) -> str:
    life, result = _state(msg.task or msg.run)
    if msg.event == "on_failure" and life != "INTERNAL_ERROR":
        return _FAILURE_WORDS.get(result or "", "failed")
    return _SUBJECTS[msg.event]


def subject(msg: _Message) -> str:
    """'[Day 7] Run failed: day7-medallion (run 42)', like the workspace's alert mails."""
    name, rid = _job_name(msg.run), msg.run.run_id
    if msg.task:
        return f"[Day 7] Task {msg.task.task_key} {_verb(msg)}: {name} (run {rid})"
    return f"[Day 7] Run {_verb(msg)}: {name} (run {rid})"


def _duration_ms(obj: jobs.Run | jobs.RunTask) -> int | None:
    life, _ = _state(obj)
    if obj.run_duration and life not in (None, "RUNNING", "PENDING", "QUEUED", "BLOCKED"):
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


def failed_tasks(run: jobs.Run) -> list[jobs.RunTask]:
    """The latest attempt of every task that failed (FAILED, TIMEDOUT, INTERNAL_ERROR)."""
    latest: dict[str, jobs.RunTask] = {}
    for t in run.tasks or []:
        prev = latest.get(t.task_key)
        # Ids grow with every attempt and repair; attempt numbers restart in a repair.
        if prev is None or (t.run_id or 0) >= (prev.run_id or 0):
            latest[t.task_key] = t
    return [t for t in latest.values() if outcome(t) == "failure"]


def _result_line(obj: jobs.Run | jobs.RunTask) -> str:
    life, result = _state(obj)
    if result and life == "INTERNAL_ERROR":
        # Databricks' life cycle for a run whose task failed; alone it reads like a crash of the kit.
        return f"{result} (a task failed; the life cycle state is INTERNAL_ERROR, as on Databricks)"
    return f"{result or life or '-'} ({life})" if result and life != "TERMINATED" else (result or life or "-")


def body(msg: _Message, run_dir: Path | None) -> str:
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


def build_email(msg: _Message, run_dir: Path | None, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["Subject"] = subject(msg)
    email["From"] = sender
    email["To"] = ", ".join(msg.emails)
    email["Date"] = formatdate(localtime=True)
    email["Message-ID"] = make_msgid(domain="day7.local")  # a domain: no slow getfqdn() lookup
    email.set_content(body(msg, run_dir))
    return email


def webhook_payload(msg: _Message) -> dict[str, Any]:
    """Databricks' HTTP webhook body; a task-level event adds `task` and `run.parent_run_id`."""
    payload: dict[str, Any] = {"event_type": f"jobs.{msg.event}", "workspace_id": LOCAL_WORKSPACE_ID}
    if msg.task:
        payload["task"] = {"task_key": msg.task.task_key}
        payload["run"] = {"run_id": msg.task.run_id, "parent_run_id": msg.run.run_id}
    else:
        payload["run"] = {"run_id": msg.run.run_id}
    payload["job"] = {"job_id": msg.run.job_id, "name": _job_name(msg.run)}
    return payload


# --------------------------------------------------------------------------- transports


def send_smtp(cfg: SmtpConfig, email: EmailMessage, timeout: float) -> None:
    """One SMTP session; STARTTLS (required) before a login, implicit TLS on port 465."""
    if cfg.port == 465:
        conn: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=timeout,
                                              context=ssl.create_default_context())
    else:
        conn = smtplib.SMTP(cfg.host, cfg.port, timeout=timeout)
    with conn:
        if cfg.user:
            if cfg.port != 465:
                conn.starttls(context=ssl.create_default_context())
            conn.login(cfg.user, cfg.password or "")
        conn.send_message(email)


def save_eml(email: EmailMessage, msg: _Message) -> Path:
    """Write the e-mail to the outbox; a unique name per message, never overwriting."""
    scope = msg.task.task_key if msg.task else "job"
    stem = f"run{msg.run.run_id}-{scope}-{msg.event}-{time.strftime('%Y%m%dT%H%M%S')}"
    folder = paths.outbox_dir()
    for n in range(1000):
        path = folder / (f"{stem}.eml" if n == 0 else f"{stem}-{n}.eml")
        try:
            with open(path, "xb") as fh:
                fh.write(email.as_bytes())
            return path
        except FileExistsError:
            continue
    raise OSError(f"outbox {folder}: could not find a free file name for {stem}.eml")


def post_json(url: str, payload: dict[str, Any], timeout: float) -> int:
    """POST the payload as JSON; returns the HTTP status (an error status raises HTTPError)."""
    data = json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "day7-kit"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status
