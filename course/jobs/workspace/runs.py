"""Runs of the deployed job on Databricks: start, repair, list, follow to the end, read the outcome.

Following a run polls ``jobs.get_run(run_id, include_history=True)`` rather than
the SDK's ``.result()`` waiter, which raises ``OperationFailed`` when a failed
multi-task run ends as ``INTERNAL_ERROR / FAILED`` (what real workspaces report);
:func:`run_result` folds both failure shapes into ``"FAILED"``. States are read
through :mod:`course.jobs.model.states`, like local runs.
"""
from __future__ import annotations

import time
from itertools import islice
from typing import TYPE_CHECKING, Callable

from databricks.sdk.service import jobs

from course.jobs.model import states
from course.jobs.workspace.client import RemoteError, api_errors
from course.jobs.workspace.naming import find_job

if TYPE_CHECKING:
    from course.jobs.spec import LoadedJob

__all__ = ["FollowTimeout", "run_now", "repair", "list_runs", "run_result", "is_terminal", "POLL_S"]

POLL_S = 5.0                 # following a run: seconds between get_run calls
RUNS_PAGE = 20               # jobs/runs/list page size (the API's default; its maximum is 25)
# What rerun_all_failed_tasks re-runs: failed tasks and those skipped because of a failure.
NEEDS_REPAIR = states.FAILED_STATES | states.SKIPPED_BECAUSE_OF

Update = Callable[[jobs.Run], None]


class FollowTimeout(RemoteError):
    """Stopped following a run that is still going on Databricks; ``.run`` is the last snapshot."""

    def __init__(self, message: str, run: jobs.Run):
        super().__init__(message)
        self.run = run


# ---------------------------------------------------------------- run state

def is_terminal(run: jobs.Run) -> bool:
    """The run has ended (the legacy ``state`` block, else the newer ``status``)."""
    life = states.value(run.state.life_cycle_state) if run.state else None
    if life is not None:
        return states.is_terminal(life)
    return states.value(run.status.state) == states.TERMINATED if run.status else False


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
    life = states.value(run.state.life_cycle_state) if run.state else None
    result = states.value(run.state.result_state) if run.state else None
    if life == states.INTERNAL_ERROR:
        return "FAILED"
    if life == states.SKIPPED:
        return "SKIPPED"
    if life == states.TERMINATED and result:
        return result
    status = run.status
    if status is not None and status.state is not None:
        state = states.value(status.state)
        if state != states.TERMINATED:
            return state
        code = states.value(status.termination_details.code) if status.termination_details else None
        return _CODES.get(code, "FAILED")
    return life or "UNKNOWN"


def _needs_repair(t: jobs.RunTask) -> bool:
    if t.state is None:
        return False
    return states.effective(t.state.life_cycle_state, t.state.result_state) in NEEDS_REPAIR


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
        life = states.value(item.state.life_cycle_state) if item.state else None
        return states.is_terminal(life) if life else (run.end_time or 0) >= since_ms
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


# ---------------------------------------------------------------- actions

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
    latest = states.latest_attempts(run.tasks or [])
    if rerun_tasks:
        unknown = [k for k in rerun_tasks if k not in latest]
        if unknown:
            raise RemoteError(f"run {run_id} has no task '{unknown[0]}' (tasks: {', '.join(latest) or 'none'})")
    elif not any(_needs_repair(t) for t in latest.values()):
        raise RemoteError(f"run {run_id} has no failed tasks to repair; name the tasks to re-run instead")
    repairs = [h.id for h in run.repair_history or []
               if states.value(h.type) == "REPAIR" and h.id is not None]
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
