"""`dbutils.secrets` from a local file the learner controls, values redacted in outputs.

Scopes live in ``$DAY7_SECRETS``, default ``<DAY7_HOME>/secrets.json``
(``.day7/secrets.json``), as ``{"scope": {"key": "value", …}, …}``. A value that was
read is shown as ``[REDACTED]`` wherever the notebook prints it or displays it (stdout,
stderr, display and cell results), as on Databricks; the value itself is unchanged, so
code that uses it works. As on Databricks, a determined notebook can still leak it
(e.g. character by character): redaction is a guard against accidents.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import NamedTuple

REDACTED = "[REDACTED]"
_values: set[str] = set()   # every secret value read in this process


class SecretMetadata(NamedTuple):
    key: str


class SecretScope(NamedTuple):
    name: str


class IllegalArgumentException(ValueError):
    """What Databricks raises for a scope or key that does not exist (its Java exception's name)."""


def secrets_file() -> Path:
    from course.platform import paths

    return Path(os.environ.get("DAY7_SECRETS") or paths.home() / "secrets.json").expanduser()


def _scopes() -> dict[str, dict[str, str]]:
    path = secrets_file()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}): write {{\"scope\": {{\"key\": \"value\"}}}}.") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError(f"{path} must map scope names to {{\"key\": \"value\"}} objects.")
    return {str(scope): {str(k): str(v) for k, v in keys.items()} for scope, keys in data.items()}


def redact(text: str) -> str:
    for value in sorted(_values, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text


def _redact_data(data):
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {k: _redact_data(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_redact_data(v) for v in data]
    return data


class _RedactingStream:
    """sys.stdout / sys.stderr with secret values replaced before they are written."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text):
        return self._stream.write(redact(text) if isinstance(text, str) and _values else text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _install_redaction() -> None:
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, _RedactingStream):
            setattr(sys, name, _RedactingStream(stream))
    from course.runtime import shell

    ip = shell.ipython()
    formatter = getattr(ip, "display_formatter", None)
    if formatter is not None and not getattr(formatter, "_day7_redacts", False):
        original = formatter.format

        def format(obj, include=None, exclude=None):
            data, metadata = original(obj, include=include, exclude=exclude)
            return (_redact_data(data) if _values else data), metadata

        formatter.format, formatter._day7_redacts = format, True


class Secrets:
    """dbutils.secrets"""

    def get(self, scope: str, key: str) -> str:
        """The secret's value (redacted wherever the notebook shows it)."""
        keys = _scopes().get(scope, {})
        if key not in keys:
            raise IllegalArgumentException(f"Secret does not exist with scope: {scope} and key: {key}")
        value = keys[key]
        if value:
            _values.add(value)
            _install_redaction()
        return value

    def getBytes(self, scope: str, key: str) -> bytes:
        """The secret's value as UTF-8 bytes."""
        return self.get(scope, key).encode("utf-8")

    def list(self, scope: str) -> list[SecretMetadata]:
        """The keys of a scope (never the values)."""
        scopes = _scopes()
        if scope not in scopes:
            raise IllegalArgumentException(f"Secret scope {scope} does not exist (scopes are in {secrets_file()}).")
        return [SecretMetadata(key) for key in sorted(scopes[scope])]

    def listScopes(self) -> list[SecretScope]:
        """The scopes of the local secrets file."""
        return [SecretScope(name) for name in sorted(_scopes())]

    def help(self) -> None:
        print(repr(self))

    def __repr__(self) -> str:
        return (f"dbutils.secrets: get, getBytes, list, listScopes (local scopes from {secrets_file()}; "
                "values print as [REDACTED])")
