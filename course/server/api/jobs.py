"""Jobs 2.2 (and 2.1): create, get, list, reset, update, delete, run-now, runs/submit.

Jobs live in the run history (`state.jobs`, see `jobstore`); runs start in child
processes (`state.launcher`) and `run-now` answers with the run id as soon as the run exists.
"""
from __future__ import annotations

from course.server.api.common import integer, required, route, string_map, truthy
from course.server.errors import ApiError, invalid, invalid_state
from course.server.launcher import LaunchError

VERSIONS = ("2.1", "2.2")


def create(state, args: dict) -> dict:
    return {"job_id": state.jobs.create(args)}


def get(state, args: dict):
    return state.jobs.get(integer(args, "job_id", lo=0))


def list_(state, args: dict) -> dict:
    """Pages of `limit` (1–100, default 20) jobs; `next_page_token` continues, as the SDK iterates."""
    limit = integer(args, "limit", 20, lo=1, hi=100)
    start = integer({"o": args.get("page_token") or args.get("offset")}, "o", 0, lo=0)
    rows = state.jobs.history.jobs(offset=start, limit=limit + 1, name=args.get("name") or None)
    more = len(rows) > limit
    expand = truthy(args.get("expand_tasks"))
    out: dict = {"has_more": more}
    if rows[:limit]:
        out["jobs"] = [state.jobs.as_job(r, expand_tasks=expand).as_dict() for r in rows[:limit]]
    if more:
        out["next_page_token"] = str(start + limit)
    return out


def reset(state, args: dict) -> dict:
    state.jobs.reset(integer(args, "job_id", lo=0), required(args, "new_settings"))
    return {}


def update(state, args: dict) -> dict:
    state.jobs.update(integer(args, "job_id", lo=0), args.get("new_settings"), args.get("fields_to_remove"))
    return {}


def delete(state, args: dict) -> dict:
    state.jobs.delete(integer(args, "job_id", lo=0))
    return {}


def run_now(state, args: dict) -> dict:
    """Start a run; `job_parameters` override the job's parameters (notebook_params too, for old clients)."""
    job_id = integer(args, "job_id", lo=0)
    params = string_map(args.get("job_parameters"), "job_parameters")
    params = {**string_map(args.get("notebook_params"), "notebook_params"), **params}
    defined = [p.get("name") for p in state.jobs.settings_of(state.jobs.row(job_id)).get("parameters") or []]
    unknown = sorted(set(params) - set(defined))
    if unknown:  # refused before a process starts, as Databricks refuses it
        raise invalid(f"job_parameters: {', '.join(unknown)} {'is not a parameter' if len(unknown) == 1 else 'are not parameters'} "
                      f"of job {job_id} (its parameters: {', '.join(defined) or 'none'})")
    run_id = launch(lambda: state.run_now(job_id, params))
    return {"run_id": run_id, "number_in_job": run_id}


def submit(state, args: dict) -> dict:
    """`runs/submit`: a one-time run of the tasks given, recorded as a job named after the run."""
    tasks = required(args, "tasks")
    if not isinstance(tasks, list) or not tasks:
        raise invalid("tasks must be a non-empty list")
    name = args.get("run_name") or "Untitled"
    settings = {k: v for k, v in args.items() if k in (
        "tasks", "timeout_seconds", "email_notifications", "webhook_notifications", "notification_settings",
        "health", "environments", "git_source", "queue", "run_as")}
    settings["name"] = f"{name} (submitted run)"
    job_id = state.jobs.submitted(settings)
    run_id = launch(lambda: state.run_now(job_id))
    return {"run_id": run_id}


def launch(start) -> int:
    try:
        return start()
    except LaunchError as exc:
        message = str(exc)
        if "still" in message or "active run" in message:
            raise invalid_state(message) from None
        raise ApiError(400, "INVALID_PARAMETER_VALUE", message) from None


def routes(state) -> list:
    return [*route(state, "POST", "/jobs/create", create, VERSIONS),
            *route(state, "GET", "/jobs/get", get, VERSIONS),
            *route(state, "GET", "/jobs/list", list_, VERSIONS),
            *route(state, "POST", "/jobs/reset", reset, VERSIONS),
            *route(state, "POST", "/jobs/update", update, VERSIONS),
            *route(state, "POST", "/jobs/delete", delete, VERSIONS),
            *route(state, "POST", "/jobs/run-now", run_now, VERSIONS),
            *route(state, "POST", "/jobs/runs/submit", submit, VERSIONS)]
