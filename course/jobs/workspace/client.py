"""Connecting to a Databricks workspace: the checked SDK client, who you are, one-sentence errors.

Everything goes through ``databricks-sdk`` and its own configuration
(``DATABRICKS_HOST`` / ``DATABRICKS_TOKEN``, or a profile in ``~/.databrickscfg``,
or any other way the SDK authenticates). Tokens are never read, printed or
stored here: every error becomes a :class:`RemoteError`, one sentence, built
from the host, the action and the server's message (the SDK's ``Config: …``
debug tail is dropped and a configured token is masked, belt and braces).
"""
from __future__ import annotations

import logging
import os
import weakref
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

__all__ = ["RemoteError", "workspace_client", "current_user", "api_errors", "host_of",
           "SDK_RETRY_TIMEOUT_S", "SDK_HTTP_TIMEOUT_S"]

# Connecting: the SDK retries "connection refused" for 300 s by default, and it
# already fetches the host's metadata while building its Config. Checking the
# connection and the credentials uses these shorter limits; the client handed
# back uses the SDK's usual ones (long jobs, throttling).
CONNECT_TIMEOUT_S = 5
CONNECT_HTTP_TIMEOUT_S = 15
SDK_RETRY_TIMEOUT_S = 300
SDK_HTTP_TIMEOUT_S = 60


class RemoteError(Exception):
    """A problem talking to Databricks, in one sentence (the CLI prints it and exits 2)."""


# ---------------------------------------------------------------- errors

def host_of(client) -> str:
    """The client's host for messages (``the workspace`` when it has none)."""
    try:
        return (client.config.host or "the workspace").rstrip("/")
    except Exception:  # noqa: BLE001 - a message helper must not fail
        return "the workspace"


def _clean(message: str, client=None) -> str:
    """The server's message without the SDK's ``Config: …`` tail, one line, no token."""
    text = str(message or "").split(" Config: ")[0].split("\n")[0].strip().rstrip(".")
    token = None
    try:
        token = client.config.token if client is not None else None
    except Exception:  # noqa: BLE001
        pass
    if token:
        text = text.replace(token, "***")
    return text


@contextmanager
def api_errors(action: str, client) -> Iterator[None]:
    """Turn SDK / network failures while ``action`` into one-sentence RemoteErrors."""
    from databricks.sdk import errors
    import requests

    host = host_of(client)
    try:
        yield
    except RemoteError:
        raise
    except errors.Unauthenticated as exc:
        raise RemoteError(f"{host} did not accept the credentials while {action} (401: "
                          f"{_clean(exc, client) or 'unauthenticated'}): check DATABRICKS_TOKEN "
                          "or the profile's token") from None
    except errors.PermissionDenied as exc:
        raise RemoteError(f"{host} refused {action} (403 permission denied: "
                          f"{_clean(exc, client) or 'no permission'})") from None
    except errors.DatabricksError as exc:
        code = getattr(exc, "error_code", None)
        raise RemoteError(f"{action} failed on {host}: {_clean(exc, client)}"
                          + (f" ({code})" if code else "")) from None
    except (TimeoutError, requests.exceptions.RequestException) as exc:
        cause = exc.__cause__ or exc
        why = "connection refused" if "refused" in str(cause).lower() else _clean(type(cause).__name__)
        raise RemoteError(f"cannot reach {host} while {action} ({why}): check DATABRICKS_HOST "
                          "or the profile's host and your network") from None


# ---------------------------------------------------------------- connecting

def _quiet_sdk_logging() -> None:
    """The SDK logs warnings (e.g. host metadata it could not fetch); without a
    handler Python would print them to stderr. Apps that configure logging still see them."""
    log = logging.getLogger("databricks.sdk")
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        log.addHandler(logging.NullHandler())


def _config_problem(message: str, profile: str | None, config_file: str | None) -> str:
    """One sentence for a ValueError from the SDK's Config (no debug dump, no secrets)."""
    text = str(message)
    where = config_file or "~/.databrickscfg"
    if profile and "has no" in text and "profile" in text:
        return f"profile '{profile}' is not in {where}: add it or pick another with --profile"
    if profile:
        return (f"profile '{profile}' could not be used: {where} is missing, or the profile has no "
                "host or credentials")
    if "default auth" in text and "host=" not in text:
        return ("no Databricks workspace configured: set DATABRICKS_HOST and DATABRICKS_TOKEN, "
                "or pass --profile NAME for a profile in ~/.databrickscfg")
    if "default auth" in text:
        return ("no credentials for the configured Databricks host: set DATABRICKS_TOKEN, "
                "or pass --profile NAME for a profile with a token in ~/.databrickscfg")
    return f"the Databricks configuration is not usable: {_clean(text)}"


_ME: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()


def current_user(client) -> str:
    """``client.current_user.me().user_name``, asked once per client."""
    try:
        return _ME[client]
    except (KeyError, TypeError):
        pass
    with api_errors("checking who you are", client):
        me = client.current_user.me()
    name = me.user_name or me.display_name or me.id
    if not name:
        raise RemoteError(f"{host_of(client)} did not say who you are (no user name in SCIM Me)")
    try:
        _ME[client] = name
    except TypeError:
        pass
    return name


def workspace_client(profile: str | None = None) -> "WorkspaceClient":
    """A checked ``WorkspaceClient`` from the SDK's own configuration.

    ``profile`` picks a profile in ``~/.databrickscfg`` (or ``DATABRICKS_CONFIG_FILE``);
    otherwise the SDK's default chain (``DATABRICKS_HOST`` / ``DATABRICKS_TOKEN``, the
    DEFAULT profile, …) applies. The host and credentials are checked with one call
    (SCIM Me); no credentials, an unreachable host, 401 or 403 → :class:`RemoteError`.
    """
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

    _quiet_sdk_logging()
    kwargs: dict[str, Any] = {"retry_timeout_seconds": CONNECT_TIMEOUT_S,
                              "http_timeout_seconds": CONNECT_HTTP_TIMEOUT_S}
    if profile:
        kwargs["profile"] = profile
    try:
        try:
            cfg = Config(**kwargs)
        except ValueError as exc:
            # DATABRICKS_USERNAME names the workspace user for the kit's bundle paths
            # (see course.platform.user); the SDK reads it as a basic-auth user name too.
            # Without a password it cannot be basic auth: prefer the token.
            if ("basic and pat" in str(exc) and not os.environ.get("DATABRICKS_PASSWORD")
                    and not os.environ.get("DATABRICKS_AUTH_TYPE")):
                cfg = Config(**kwargs, auth_type="pat")
            else:
                raise
    except ValueError as exc:
        raise RemoteError(_config_problem(str(exc), profile, os.environ.get("DATABRICKS_CONFIG_FILE"))) from None
    if not cfg.host:
        raise RemoteError("no Databricks workspace configured: set DATABRICKS_HOST and DATABRICKS_TOKEN, "
                          "or pass --profile NAME for a profile in ~/.databrickscfg")
    probe = WorkspaceClient(config=cfg)
    user = current_user(probe)
    full = cfg.copy()
    full.retry_timeout_seconds = SDK_RETRY_TIMEOUT_S
    full.http_timeout_seconds = SDK_HTTP_TIMEOUT_S
    client = WorkspaceClient(config=full)
    try:
        _ME[client] = user
    except TypeError:
        pass
    return client
