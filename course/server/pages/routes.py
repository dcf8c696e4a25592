"""The pages' Starlette routes: each reads the history through the server's state and renders a template.

Handlers are plain functions (Starlette runs them in its thread pool, so SQLite reads and
nbconvert never block the event loop); the event stream is the one async handler. The
buttons on the pages call the JSON API (`/api/2.2/jobs/...`) from the browser with the
token, so a page never changes a job or a run itself.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from course.jobs.local.history import RunNotFound
from course.server.pages import job_view, notebook, run_view, task_view
from course.server.pages.editor_routes import editable_file, editor_routes
from course.server.pages.live import event_stream

HERE = Path(__file__).resolve().parent
STATE_CLASSES = {  # a state word -> the CSS class that colours it (Databricks' palette, pages.css)
    **{s: "ok" for s in ("SUCCESS", "EXCLUDED")},
    **{s: "bad" for s in ("FAILED", "TIMEDOUT", "INTERNAL_ERROR")},
    "SUCCESS_WITH_FAILURES": "warn", "UPSTREAM_FAILED": "skipped-bad", "UPSTREAM_CANCELED": "skipped",
    "CANCELED": "skipped", "DISABLED": "skipped", "SKIPPED": "skipped", "MAXIMUM_CONCURRENT_RUNS_REACHED": "skipped",
    "RUNNING": "running", "TERMINATING": "running", "WAITING_FOR_RETRY": "retry",
    "PENDING": "pending", "QUEUED": "pending", "BLOCKED": "pending",
}


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["state_class"] = lambda s: STATE_CLASSES.get(s or "", "pending")
    return env


def _not_found(message: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><title>Not found</title><h1>Not found</h1><p>{_escape(message)}</p>"
                        '<p><a href="/jobs">All jobs</a></p>', status_code=404)


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def page_routes(state: Any) -> list[BaseRoute]:
    """The pages of the workspace on `state` (a `ServerState`)."""
    env = _environment()

    def render(template: str, **context: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(template).render(token=state.token, state_classes=STATE_CLASSES, **context))

    def home(request: Request) -> Response:
        return RedirectResponse("/jobs", status_code=302)

    def jobs_page(request: Request) -> Response:
        return render("jobs.html", jobs=job_view.jobs_list(state.history, list_jobs(state)))

    def job_page(request: Request) -> Response:
        job_id = request.path_params["job_id"]
        try:
            job = state.history.job(job_id)
        except RunNotFound:
            return _not_found(f"There is no job {job_id} in this workspace.")
        settings = state.jobs.settings_of(job)
        return render("job.html", **job_view.job_page(state.history, job_id, job["name"], settings),
                      api_job=state.jobs.is_api_job(job), source=job.get("source") or {},
                      editable=not state.jobs.is_api_job(job) and editable_file(job.get("source")) is not None)

    def run_page(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        try:
            return render("run.html", **run_view.run_page(state.history, run_id))
        except RunNotFound:
            return _not_found(f"There is no run {run_id} in this workspace's history.")

    def run_events(request: Request) -> Response:
        return event_stream(request, lambda: state.history, request.path_params["run_id"])

    def task_run_page(request: Request) -> Response:
        task_run_id = request.path_params["task_run_id"]
        try:
            return render("task_run.html", **task_view.task_page(state.history, task_run_id,
                                                                  state.history.runs_root))
        except RunNotFound:
            return _not_found(f"There is no task run {task_run_id} in this workspace's history.")

    def task_notebook(request: Request) -> Response:
        task_run_id = request.path_params["task_run_id"]
        try:
            tr = state.history.task_run(task_run_id)
        except RunNotFound:
            return _not_found(f"There is no task run {task_run_id} in this workspace's history.")
        if not tr.output_path or not Path(tr.output_path).is_file():
            return _not_found(f"Task run {task_run_id} has no executed notebook (yet).")
        return HTMLResponse(notebook.render(Path(tr.output_path)))

    return [
        *editor_routes(state, render),   # first: /jobs/new before /jobs/{job_id}
        Route("/", home),
        Route("/jobs", jobs_page),
        Route("/jobs/{job_id:int}", job_page),
        Route("/runs/{run_id:int}", run_page),
        Route("/jobs/{job_id:int}/runs/{run_id:int}", run_page),   # the workspace's own run URL shape
        Route("/runs/{run_id:int}/events", run_events),
        Route("/task-runs/{task_run_id:int}", task_run_page),
        Route("/task-runs/{task_run_id:int}/notebook", task_notebook),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="pages-static"),
    ]


def list_jobs(state: Any) -> list[tuple[int, str, dict]]:
    """(job_id, name, settings) of every job the workspace knows, in id order."""
    return [(j["job_id"], j["name"], state.jobs.settings_of(j)) for j in state.history.jobs(limit=100_000)]
