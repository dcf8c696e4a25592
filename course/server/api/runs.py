"""Jobs 2.2 runs: get, list, cancel, repair, get-output, export — read from the shared history.

`runs/get` and `runs/list` are the history's own Jobs API rendering (`History.get_run`,
`list_runs`), so the server answers what `runner.py runs show --json` prints. Repairs and
cancels go to the process running the run (`state.launcher`).
"""
from __future__ import annotations

import html

from course.jobs.local.history import RunNotFound
from course.server.api.common import integer, route, string_map, truthy
from course.server.api.jobs import VERSIONS, launch
from course.server.errors import invalid, invalid_state, not_found

# The pages' addresses of a run and a task run (course/server/pages), used as run_page_url when served.
RUN_PAGE = "/jobs/{job_id}/runs/{run_id}"
TASK_RUN_PAGE = "/task-runs/{run_id}"


def with_page_links(state, run: dict) -> dict:
    """`run_page_url`s pointing at the server's pages (a workspace's URLs open its UI too);
    without the pages they stay the executed notebooks' file:// URLs."""
    if state.pages_served and state.host:
        if run.get("job_id") is not None and "job_run_id" not in run:
            run["run_page_url"] = state.host + RUN_PAGE.format(job_id=run["job_id"], run_id=run["run_id"])
        for task in run.get("tasks") or []:
            task["run_page_url"] = state.host + TASK_RUN_PAGE.format(run_id=task["run_id"])
        if "job_run_id" in run:
            run["run_page_url"] = state.host + TASK_RUN_PAGE.format(run_id=run["run_id"])
    return run


def _run_id(args: dict) -> int:
    return integer(args, "run_id", lo=0)


def _record(state, run_id: int):
    try:
        return state.history.run_record(run_id)
    except RunNotFound:
        raise not_found(f"Run {run_id} does not exist.") from None


def get(state, args: dict) -> dict:
    """A job run, or a task run by its own id (as Databricks answers both)."""
    run_id = _run_id(args)
    try:
        run = state.history.get_run(run_id, include_history=True)
    except RunNotFound:
        try:
            output = state.history.get_output(run_id)
        except RunNotFound:
            raise not_found(f"Run {run_id} does not exist.") from None
        return with_page_links(state, output.metadata.as_dict())
    out = with_page_links(state, run.as_dict())
    repairs = [h.id for h in run.repair_history or [] if h.id is not None]
    if not truthy(args.get("include_history")):
        out.pop("repair_history", None)
    if repairs:
        out["latest_repair_id"] = repairs[-1]  # not a Run field in the SDK: older clients read it here
    return out


def list_(state, args: dict) -> dict:
    """Newest first, pages of `limit` (1–25, default 20) with `next_page_token`."""
    limit = integer(args, "limit", 20, lo=1, hi=25)
    start = integer({"o": args.get("page_token") or args.get("offset")}, "o", 0, lo=0)
    active, completed = truthy(args.get("active_only")), truthy(args.get("completed_only"))
    if active and completed:
        raise invalid("active_only and completed_only cannot both be true.")
    job_id = integer(args, "job_id", None, lo=0) if args.get("job_id") not in (None, "") else None
    runs = state.history.list_runs(job_id=job_id, limit=limit + 1, active_only=active, completed_only=completed,
                                   expand_tasks=truthy(args.get("expand_tasks")), offset=start)
    more = len(runs) > limit
    out: dict = {"has_more": more}
    if runs[:limit]:
        out["runs"] = [with_page_links(state, r.as_dict()) for r in runs[:limit]]
    if more:
        out["next_page_token"] = str(start + limit)
    return out


def cancel(state, args: dict) -> dict:
    """Cancel a run: its process stops it (running tasks CANCELED, cleanup tasks still run)."""
    run_id = _run_id(args)
    _record(state, run_id)
    state.cancel(run_id)
    return {}


def repair(state, args: dict) -> dict:
    """Re-run `rerun_tasks` (or, with `rerun_all_failed_tasks`, every unsuccessful task) in the run."""
    run_id = _run_id(args)
    record = _record(state, run_id)
    if not record.terminal:
        raise invalid_state(f"Run {run_id} cannot be repaired: only a finished run can be repaired "
                            f"(it is {record.life_cycle_state}).")
    latest = args.get("latest_repair_id")
    if record.latest_repair_id is not None and latest in (None, ""):
        raise invalid(f"Run {run_id} has been repaired before: pass latest_repair_id "
                      f"({record.latest_repair_id}), the id of its latest repair.")
    if latest not in (None, "") and integer(args, "latest_repair_id", lo=0) != record.latest_repair_id:
        raise invalid(f"Repair {latest} is not the latest repair of run {run_id}"
                      + (f" (the latest is {record.latest_repair_id})." if record.latest_repair_id
                         else " (it has not been repaired)."))
    rerun = args.get("rerun_tasks") or None
    all_failed = truthy(args.get("rerun_all_failed_tasks"))
    if rerun and all_failed:
        raise invalid("Only one of rerun_tasks or rerun_all_failed_tasks can be specified.")
    if not rerun and not all_failed:
        raise invalid("Either rerun_tasks or rerun_all_failed_tasks must be specified.")
    if rerun is not None and (not isinstance(rerun, list) or not all(isinstance(k, str) for k in rerun)):
        raise invalid("rerun_tasks must be a list of task keys")
    if rerun:
        known = set(state.history.latest_task_runs(run_id))
        unknown = [k for k in rerun if k not in known]
        if unknown:
            raise invalid(f"Task(s) {', '.join(unknown)} not found in run {run_id}.")
    params = string_map(args.get("job_parameters"), "job_parameters")
    repair_id = launch(lambda: state.repair(run_id, rerun, truthy(args.get("rerun_dependent_tasks")), params))
    return {"repair_id": repair_id}


def get_output(state, args: dict) -> dict:
    run_id = _run_id(args)
    try:
        out = state.history.get_output(run_id).as_dict()
    except RunNotFound as exc:
        if "is a job run" in str(exc):
            raise invalid("Retrieving the output of runs with multiple tasks is not supported. Please retrieve "
                          "the output of each individual task run instead.") from None
        raise not_found(f"Run {run_id} does not exist.") from None
    if "metadata" in out:
        with_page_links(state, out["metadata"])
    return out


def export(state, args: dict) -> dict:
    """`runs/export`: each task run's executed notebook as HTML (nbconvert), like the workspace's export."""
    run_id = _run_id(args)
    try:
        output = state.history.get_output(run_id)
    except RunNotFound:
        raise not_found(f"Run {run_id} does not exist or is not a task run.") from None
    task = output.metadata.tasks[0]
    record = state.history.task_run(run_id)
    views = []
    if record.output_path:
        views.append({"content": notebook_html(record.output_path), "name": task.task_key, "type": "NOTEBOOK"})
    return {"views": views} if views else {}


def notebook_html(path: str) -> str:
    """The executed notebook as one HTML page (nbconvert's basic template), or a note that it is missing."""
    try:
        import nbformat
        from nbconvert import HTMLExporter

        body, _ = HTMLExporter(template_name="basic").from_notebook_node(nbformat.read(path, as_version=4))
        return body
    except (OSError, ValueError) as exc:
        return f"<p>The executed notebook {html.escape(path)} cannot be read: {html.escape(str(exc))}</p>"


def routes(state) -> list:
    return [*route(state, "GET", "/jobs/runs/get", get, VERSIONS),
            *route(state, "GET", "/jobs/runs/list", list_, VERSIONS),
            *route(state, "POST", "/jobs/runs/cancel", cancel, VERSIONS),
            *route(state, "POST", "/jobs/runs/repair", repair, VERSIONS),
            *route(state, "GET", "/jobs/runs/get-output", get_output, VERSIONS),
            *route(state, "GET", "/jobs/runs/export", export, VERSIONS)]
