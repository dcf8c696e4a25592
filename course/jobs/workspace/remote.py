"""The Day 7 job on a real Databricks workspace: connect, run, follow, repair, list.

Everything goes through ``databricks-sdk`` and its own configuration
(``DATABRICKS_HOST`` / ``DATABRICKS_TOKEN``, or a profile in ``~/.databrickscfg``,
or any other way the SDK authenticates). Tokens are never read, printed or
stored here: every error becomes a :class:`RemoteError`, one sentence, built
from the host, the action and the server's message (the SDK's ``Config: …``
debug tail is dropped and a configured token is masked, belt and braces).

Deploying (bundle → Jobs API settings, uploads, create or reset) lives in
:mod:`course.jobs.workspace.deploy`::

    from course.jobs.workspace import deploy
    from course.jobs.workspace import remote
    client = remote.workspace_client(profile=None)
    result = deploy.deploy(loaded, client=client)                  # DeployResult
    run = remote.run_now(loaded, client=client, job_parameters={}, on_update=print)
    remote.run_result(run)                                         # "SUCCESS" / "FAILED" / …

The deployed job is found again by name (``[dev <short user>] `` prefix in
development mode, like the Databricks CLI) *and* the kit's tag
``day7-kit: <bundle>/<target>``, so a job someone else created under the same
name is never taken over.

Following a run polls ``jobs.get_run(run_id, include_history=True)`` rather than
the SDK's ``.result()`` waiter, which raises ``OperationFailed`` when a failed
multi-task run ends as ``INTERNAL_ERROR / FAILED`` (what real workspaces report);
:func:`run_result` folds both failure shapes into ``"FAILED"``.
"""
from __future__ import annotations

import logging
import os
import time
import weakref
from contextlib import contextmanager
from itertools import islice
from typing import TYPE_CHECKING, Any, Callable, Iterator

from databricks.sdk.service import jobs

from course.platform.user import short_name

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

    from course.jobs.spec import LoadedJob

__all__ = ["RemoteError", "FollowTimeout", "workspace_client", "run_now", "repair", "list_runs", "run_result",
           "find_job", "deployed_name", "kit_tag", "current_user", "TAG_KEY", "TERMINAL_STATES"]

TAG_KEY = "day7-kit"
TERMINAL_STATES = frozenset({"TERMINATED", "SKIPPED", "INTERNAL_ERROR"})
UNSUCCESSFUL = frozenset({"FAILED", "TIMEDOUT", "CANCELED", "UPSTREAM_FAILED", "UPSTREAM_CANCELED"})

# Connecting: the SDK retries "connection refused" for 300 s by default, and it
# already fetches the host's metadata while building its Config. Checking the
# connection and the credentials uses these shorter limits; the client handed
# back uses the SDK's usual ones (long jobs, throttling).
POLL_S = 5.0                 # following a run: seconds between get_run calls
CONNECT_TIMEOUT_S = 5
CONNECT_HTTP_TIMEOUT_S = 15
RUNS_PAGE = 20               # jobs/runs/list page size (the API's default; its maximum is 25)
SDK_RETRY_TIMEOUT_S = 300
SDK_HTTP_TIMEOUT_S = 60

Update = Callable[[jobs.Run], None]


class RemoteError(Exception):
    """A problem talking to Databricks, in one sentence (the CLI prints it and exits 2)."""


class FollowTimeout(RemoteError):
    """Stopped following a run that is still going on Databricks; ``.run`` is the last snapshot."""

    def __init__(self, message: str, run: jobs.Run):
        super().__init__(message)
        self.run = run


# ---------------------------------------------------------------- errors

def _host(client) -> str:
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

    host = _host(client)
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
        raise RemoteError(f"{_host(client)} did not say who you are (no user name in SCIM Me)")
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


# ---------------------------------------------------------------- the deployed job

def bundle_and_target(loaded: "LoadedJob") -> tuple[str, str]:
    import re
    bundle = loaded.bundle_name or re.sub(r"[^A-Za-z0-9_.-]+", "_", str(loaded.key)).strip("_") or "job"
    return bundle, loaded.target or "default"


def kit_tag(loaded: "LoadedJob") -> str:
    """The value of the ``day7-kit`` tag: ``<bundle>/<target>``."""
    bundle, target = bundle_and_target(loaded)
    return f"{bundle}/{target}"


def deployed_name(loaded: "LoadedJob", user: str) -> str:
    """The job's name in the workspace: ``[dev <short user>] <name>`` in development mode."""
    name = loaded.settings.name or loaded.key
    if loaded.mode == "development":
        return f"[dev {short_name(user)}] {name}"
    return name


def jobs_named(client, name: str, tag: str) -> tuple[list, list]:
    """(ours, others): jobs with exactly this name, with and without the kit's tag."""
    with api_errors(f"looking up the job '{name}'", client):
        found = [j for j in client.jobs.list(name=name)
                 if j.settings is not None and (j.settings.name or "").lower() == name.lower()]
    ours = [j for j in found if (j.settings.tags or {}).get(TAG_KEY) == tag]
    others = [j for j in found if j not in ours]
    return ours, others


def find_job(loaded: "LoadedJob", client, *, required: bool = True):
    """The deployed job (a ``jobs.BaseJob``) or None; RemoteError when ambiguous or (if
    ``required``) missing."""
    user = current_user(client)
    name, tag = deployed_name(loaded, user), kit_tag(loaded)
    ours, others = jobs_named(client, name, tag)
    if len(ours) > 1:
        ids = ", ".join(str(j.job_id) for j in ours)
        raise RemoteError(f"several jobs named '{name}' carry the tag {TAG_KEY}={tag} on {_host(client)} "
                          f"(job ids {ids}): delete all but one")
    if ours:
        return ours[0]
    if required:
        hint = f" (a job with that name exists, id {others[0].job_id}, but the kit did not deploy it)" if others else ""
        target = f" -t {loaded.target}" if loaded.target else ""
        raise RemoteError(f"the job '{name}' is not deployed on {_host(client)}{hint}: "
                          f"run `python runner.py deploy{target}` first")
    return None


# ---------------------------------------------------------------- run state

def _value(x) -> str | None:
    return None if x is None else getattr(x, "value", x)


def is_terminal(run: jobs.Run) -> bool:
    life = _value(run.state.life_cycle_state) if run.state else None
    if life is not None:
        return life in TERMINAL_STATES
    return _value(run.status.state) == "TERMINATED" if run.status else False


_CODES = {"SUCCESS": "SUCCESS", "SUCCESS_WITH_FAILURES": "SUCCESS_WITH_FAILURES",
          "USER_CANCELED": "CANCELED", "CANCELED": "CANCELED", "SKIPPED": "SKIPPED",
          "MAX_CONCURRENT_RUNS_EXCEEDED": "SKIPPED", "DISABLED": "DISABLED"}


def run_result(run: jobs.Run) -> str:
    """The run's outcome in one word.

    Finished: the result state — ``SUCCESS``, ``FAILED``, ``SUCCESS_WITH_FAILURES``,
    ``TIMEDOUT``, ``CANCELED``…; ``TERMINATED / FAILED`` and ``INTERNAL_ERROR / FAILED``
    are both ``FAILED``; a run skipped for concurrency is ``SKIPPED``. Not finished:
    its life cycle state (``QUEUED``, ``PENDING``, ``RUNNING``, …). Runs that only
    carry the newer ``status`` block are read from it.
    """
    life = _value(run.state.life_cycle_state) if run.state else None
    result = _value(run.state.result_state) if run.state else None
    if life == "INTERNAL_ERROR":
        return "FAILED"
    if life == "SKIPPED":
        return "SKIPPED"
    if life == "TERMINATED" and result:
        return result
    status = run.status
    if status is not None and status.state is not None:
        state = _value(status.state)
        if state != "TERMINATED":
            return state
        code = _value(status.termination_details.code) if status.termination_details else None
        return _CODES.get(code, "FAILED")
    return life or "UNKNOWN"


def _latest_tasks(run: jobs.Run) -> dict[str, jobs.RunTask]:
    """The newest task run of each task (retries and repairs add task runs)."""
    out: dict[str, jobs.RunTask] = {}
    for t in run.tasks or []:
        prev = out.get(t.task_key)
        if prev is None or (t.start_time or 0, t.run_id or 0) >= (prev.start_time or 0, prev.run_id or 0):
            out[t.task_key] = t
    return out


def _task_result(t: jobs.RunTask) -> str | None:
    if t.state is None:
        return None
    if _value(t.state.life_cycle_state) == "INTERNAL_ERROR":
        return "FAILED"
    return _value(t.state.result_state)


# ---------------------------------------------------------------- following

def _get_run(client, run_id: int) -> jobs.Run:
    with api_errors(f"reading run {run_id}", client):
        return client.jobs.get_run(run_id, include_history=True)


def _repair_done(run: jobs.Run, repair_id: int | None, since_ms: int) -> bool:
    if repair_id is None:
        return True
    item = next((h for h in run.repair_history or [] if h.id == repair_id), None)
    if item is not None:
        if item.end_time:
            return True
        life = _value(item.state.life_cycle_state) if item.state else None
        return life in TERMINAL_STATES if life else (run.end_time or 0) >= since_ms
    return (run.end_time or 0) >= since_ms  # history not shown: a fresh end time will do


def _follow(client, run_id: int, on_update: Update | None, poll_s: float | None, timeout_s: float | None,
            *, repair_id: int | None = None, since_ms: int = 0) -> jobs.Run:
    poll_s = POLL_S if poll_s is None else poll_s
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        run = _get_run(client, run_id)
        if on_update is not None:
            on_update(run)
        if is_terminal(run) and _repair_done(run, repair_id, since_ms):
            return run
        if deadline is not None and time.monotonic() >= deadline:
            state = run_result(run)
            where = f": {run.run_page_url}" if run.run_page_url else ""
            raise FollowTimeout(f"stopped following run {run_id} after {timeout_s:g} s; it is still "
                                f"{state} on Databricks{where}", run)
        time.sleep(poll_s)


def _check_parameters(loaded: "LoadedJob", params: dict | None) -> dict[str, str] | None:
    if not params:
        return None
    names = [p.name for p in loaded.settings.parameters or []]
    unknown = [k for k in params if k not in names]
    if unknown:
        raise RemoteError(f"unknown job parameter '{unknown[0]}' (parameters: {', '.join(names) or 'none'})")
    return {str(k): str(v) for k, v in params.items()}


def run_now(loaded: "LoadedJob", *, client, job_parameters: dict[str, str] | None = None,
            on_update: Update | None = None, poll_s: float | None = None,
            timeout_s: float | None = None) -> jobs.Run:
    """Start the deployed job and follow it to the end; return the final ``jobs.Run``.

    ``on_update(run)`` gets every snapshot (``get_run(include_history=True)``), one
    every ``poll_s`` seconds (default :data:`POLL_S`).
    ``timeout_s`` bounds the following, not the run: when it passes,
    :class:`FollowTimeout` is raised and the run goes on in the workspace.
    """
    params = _check_parameters(loaded, job_parameters)
    job = find_job(loaded, client)
    with api_errors(f"starting job {job.job_id}", client):
        waiter = client.jobs.run_now(job.job_id, job_parameters=params)
    run_id = waiter.response.run_id if waiter.response is not None else waiter.run_id
    return _follow(client, run_id, on_update, poll_s, timeout_s)


def repair(loaded: "LoadedJob", run_id: int, *, client, rerun_tasks: list[str] | None = None,
           rerun_dependents: bool = False, job_parameters: dict | None = None,
           on_update: Update | None = None, poll_s: float | None = None,
           timeout_s: float | None = None) -> jobs.Run:
    """Repair a finished run of the deployed job and follow it; return the final ``jobs.Run``.

    No ``rerun_tasks`` → ``rerun_all_failed_tasks`` (the failed tasks and those skipped
    because of them). ``latest_repair_id`` is taken from the run's ``repair_history``,
    as Databricks requires from the second repair on. The repair uses the job's
    current settings (deploy first to repair with changed notebooks or settings).
    """
    params = _check_parameters(loaded, job_parameters)
    job = find_job(loaded, client)
    run = _get_run(client, run_id)
    if run.job_id != job.job_id:
        raise RemoteError(f"run {run_id} belongs to job {run.job_id}, not to '{job.settings.name}' "
                          f"(job {job.job_id})")
    if not is_terminal(run):
        raise RemoteError(f"run {run_id} is still {run_result(run)}: only a finished run can be repaired")
    latest = _latest_tasks(run)
    if rerun_tasks:
        unknown = [k for k in rerun_tasks if k not in latest]
        if unknown:
            raise RemoteError(f"run {run_id} has no task '{unknown[0]}' (tasks: {', '.join(latest) or 'none'})")
    elif not any(_task_result(t) in UNSUCCESSFUL for t in latest.values()):
        raise RemoteError(f"run {run_id} has no failed tasks to repair; name the tasks to re-run instead")
    repairs = [h.id for h in run.repair_history or []
               if _value(h.type) == "REPAIR" and h.id is not None]
    since_ms = int(time.time() * 1000)
    with api_errors(f"repairing run {run_id}", client):
        waiter = client.jobs.repair_run(
            run_id,
            rerun_tasks=list(rerun_tasks) if rerun_tasks else None,
            rerun_all_failed_tasks=None if rerun_tasks else True,
            rerun_dependent_tasks=bool(rerun_dependents),
            job_parameters=params,
            latest_repair_id=repairs[-1] if repairs else None)
    repair_id = waiter.response.repair_id if waiter.response is not None else None
    return _follow(client, run_id, on_update, poll_s, timeout_s, repair_id=repair_id, since_ms=since_ms)


def list_runs(loaded: "LoadedJob", *, client, limit: int = 25) -> list[jobs.Run]:
    """The deployed job's latest runs, newest first, with their tasks."""
    job = find_job(loaded, client)
    limit = max(1, int(limit))
    with api_errors(f"listing the runs of job {job.job_id}", client):
        runs = list(islice(client.jobs.list_runs(job_id=job.job_id, expand_tasks=True,
                                                 limit=min(limit, RUNS_PAGE)), limit))
    return [jobs.Run.from_dict(r.as_dict()) for r in runs]
