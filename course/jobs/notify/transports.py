"""How a notification travels: an SMTP session, an ``.eml`` file in the outbox, a JSON POST.

``deliver_email`` and ``deliver_webhook`` send one message and return the one-line
note the Notifier reports; a failed send raises, and the Notifier turns that into
a note too (the run goes on whatever happens here).
"""
from __future__ import annotations

import json
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from course.jobs.notify.config import DEFAULT_FROM, SmtpConfig
from course.jobs.notify.messages import Message, build_email, webhook_payload
from course.platform import paths

__all__ = ["deliver_email", "deliver_webhook", "send_smtp", "save_eml", "post_json", "reason"]


def deliver_email(msg: Message, smtp: SmtpConfig | None, run_dir: Path | None, timeout: float,
                  hung: set[str] | None = None) -> str:
    """Send the e-mail (or, without a server or when sending fails, save it to the outbox).
    `hung`: servers that timed out before; they are not tried again (a timeout is added)."""
    what = f"email {msg.event}"
    to = ", ".join(msg.emails)
    email = build_email(msg, run_dir, smtp.sender if smtp else DEFAULT_FROM)
    if smtp is None:
        saved = save_eml(email, msg)
        return f"{what} to {to} saved to {saved} (no SMTP server: set DAY7_SMTP=host:port)"
    hung = set() if hung is None else hung
    if f"smtp {smtp}" in hung:
        saved = save_eml(email, msg)
        return f"{what} to {to} not sent (SMTP {smtp} timed out before); saved to {saved}"
    try:
        send_smtp(smtp, email, timeout)
    except Exception as exc:  # refused, timed out, TLS, auth, rejected recipients...
        _remember_timeout(exc, f"smtp {smtp}", hung)
        saved = save_eml(email, msg)
        return f"{what} to {to} failed (SMTP {smtp}: {reason(exc)}); saved to {saved}"
    return f"{what} sent to {to}"


def _remember_timeout(exc: BaseException, server: str, hung: set[str]) -> None:
    # A server that hung once is likely hung for the rest of the run: each further message
    # would hold the run's end for another send timeout.
    if reason(exc) == "timed out":
        hung.add(server)


def deliver_webhook(msg: Message, dest: str, webhooks: dict[str, str], hooks_file: str | None,
                    timeout: float, hung: set[str] | None = None) -> str:
    """POST the webhook payload to the URL destination `dest` maps to in `webhooks`
    (not to a server in `hung`, which timed out before)."""
    what = f"webhook {msg.event} to destination {dest}"
    url = webhooks.get(dest)
    if url is None:
        where = f"not in {hooks_file}" if hooks_file else "DAY7_WEBHOOKS is not set"
        return f"{what} not sent: unknown destination id ({where})"
    hung = set() if hung is None else hung
    server = urllib.parse.urlsplit(url).netloc
    if f"http {server}" in hung:
        return f"{what} ({url}) not sent: {server} timed out before"
    try:
        status = post_json(url, webhook_payload(msg), timeout)
    except Exception as exc:  # refused, timed out, HTTP error status, bad URL...
        _remember_timeout(exc, f"http {server}", hung)
        return f"{what} ({url}) failed: {reason(exc)}"
    return f"{what} ({url}) sent: HTTP {status}"


def reason(exc: BaseException) -> str:
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


def save_eml(email: EmailMessage, msg: Message) -> Path:
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
