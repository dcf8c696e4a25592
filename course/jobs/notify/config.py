"""Where notifications go: the SMTP server and the webhook destinations, read from the environment.

* ``DAY7_SMTP=host[:port]`` (port 25 by default, 465 means implicit TLS), with
  optional ``DAY7_SMTP_USER`` / ``DAY7_SMTP_PASSWORD`` (then STARTTLS is required,
  so a password never travels in clear) and ``DAY7_SMTP_FROM``. Unset: e-mails are
  written to ``<DAY7_HOME>/outbox/*.eml`` instead.
* ``DAY7_WEBHOOKS=<file.json|file.yml>`` maps notification destination ids (what
  ``webhook_notifications`` names) to URLs: ``{"ops-hook": "http://127.0.0.1:9000/x"}``.

A malformed setting is a :class:`NotifyConfigError` naming the variable or file and
the problem, raised before a run starts.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from course.platform.mappingfile import read_mapping_file

__all__ = ["NotifyConfigError", "SmtpConfig", "DEFAULT_FROM", "load_smtp_config", "load_webhook_destinations"]

DEFAULT_FROM = "day7-kit@localhost"


class NotifyConfigError(ValueError):
    """DAY7_SMTP* or the DAY7_WEBHOOKS file is malformed; the message says what and where."""


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
    data, path = read_mapping_file("DAY7_WEBHOOKS", NotifyConfigError,
                                   'destination id to URL, e.g. {"my-destination-id": "http://127.0.0.1:9000/hook"}',
                                   env)
    out: dict[str, str] = {}
    for key, url in data.items():
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise NotifyConfigError(f"{path}: destination {str(key)!r}: expected an http:// or https:// URL, "
                                    f"got {url!r}")
        out[str(key)] = url
    return out, (str(path) if path else None)
