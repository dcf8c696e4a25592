"""The job editor's pages: /jobs/new, /jobs/{job_id}/edit, and the form's preview and save calls.

A job defined in a bundle YAML file is edited in that file; a new job goes into
`my_jobs.yml` at the top of the course (or another bundle file the form names). Saving
registers the job in the history with its file as the source, as `runner.py` does on a
run, so it is listed, and Run now runs it from the file. Jobs created through the API are
JSON files the API owns (`jobs/reset`), not edited here.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from course.jobs.local.history import RunNotFound
from course.platform.paths import REPO_ROOT
from course.server.pages import editor

DEFAULT_FILE = REPO_ROOT / "my_jobs.yml"
MAX_NOTEBOOKS = 400
SKIP_DIRS = {".venv", "node_modules", "__pycache__"}


def course_notebooks(root: Path = REPO_ROOT) -> list[str]:
    """The course's notebooks (paths from the course root) for the notebook picker; hidden folders skipped."""
    found = []
    for path in sorted(root.rglob("*.ipynb")):
        parts = path.relative_to(root).parts
        if any(p.startswith(".") or p in SKIP_DIRS for p in parts):
            continue
        found.append(str(path.relative_to(root)))
        if len(found) >= MAX_NOTEBOOKS:
            break
    return found


def editable_file(source: dict | None) -> Path | None:
    """The job's bundle file when the editor can write it (a YAML file that exists)."""
    file = Path((source or {}).get("file") or "")
    return file if file.suffix in (".yml", ".yaml") and file.is_file() else None


def _form_of(settings: dict, bundle_file: Path) -> dict[str, Any]:
    """The form's initial values from a job's settings (notebook paths back to course-relative)."""
    def course_path(p: str) -> str:
        path = Path(p)
        if not path.is_absolute():
            path = (bundle_file.parent / p).resolve()
        for candidate in (path, path.with_suffix(".ipynb")):
            if candidate.is_file():
                try:
                    return str(candidate.relative_to(REPO_ROOT))
                except ValueError:
                    return str(candidate)
        return p

    schedule = settings.get("schedule") or {}
    return {
        "name": settings.get("name", ""),
        "parameters": [{"name": p.get("name"), "default": p.get("default", "")} for p in settings.get("parameters") or []],
        "schedule": {"quartz_cron_expression": schedule.get("quartz_cron_expression", ""),
                     "timezone_id": schedule.get("timezone_id", "UTC"),
                     "paused": schedule.get("pause_status") == "PAUSED"},
        "tasks": [{"task_key": t.get("task_key"), "notebook_path": course_path((t.get("notebook_task") or {}).get("notebook_path", "")),
                   "depends_on": [d.get("task_key") for d in t.get("depends_on") or []],
                   "run_if": t.get("run_if", "ALL_SUCCESS"), "job_cluster_key": t.get("job_cluster_key", ""),
                   "max_retries": t.get("max_retries", 0), "timeout_seconds": t.get("timeout_seconds", 0)}
                  for t in settings.get("tasks") or []],
        "job_clusters": [c.get("job_cluster_key") for c in settings.get("job_clusters") or []],
    }


def editor_routes(state: Any, render: Callable[..., Response]) -> list[Route]:
    def new_job(request: Request) -> Response:
        return render("editor.html", job_id=None, file=str(DEFAULT_FILE), job_key="", notebooks=course_notebooks(),
                      run_ifs=editor.RUN_IFS, daily=editor.DAILY_2AM,
                      form={"name": "", "parameters": [], "tasks": [], "job_clusters": [],
                            "schedule": {"quartz_cron_expression": "", "timezone_id": "UTC", "paused": False}})

    def edit_job(request: Request) -> Response:
        job_id = request.path_params["job_id"]
        try:
            job = state.history.job(job_id)
        except RunNotFound:
            return PlainTextResponse(f"There is no job {job_id} in this workspace.", status_code=404)
        file = editable_file(job.get("source"))
        if file is None:
            return PlainTextResponse(f"Job {job_id} is not defined in a bundle YAML file the editor can write "
                                     "(jobs created through the API change with jobs/reset).", status_code=400)
        return render("editor.html", job_id=job_id, file=str(file), job_key=job["source"].get("job_key") or "",
                      notebooks=course_notebooks(), run_ifs=editor.RUN_IFS, daily=editor.DAILY_2AM,
                      form=_form_of(job["settings"], file))

    async def _payload(request: Request) -> tuple[Path, str, dict]:
        body = await request.json()
        file = Path(str(body.get("file") or DEFAULT_FILE)).expanduser()
        if not file.is_absolute():
            file = REPO_ROOT / file
        if file.suffix not in (".yml", ".yaml"):
            raise editor.EditorError(f"{file}: the bundle file must end in .yml or .yaml")
        for task in body.get("tasks") or []:   # the picker's paths are from the course root
            written = str(task.get("notebook_path") or "")
            if written and not Path(written).is_absolute() and (REPO_ROOT / written).exists():
                task["notebook_path"] = str(REPO_ROOT / written)
        key = str(body.get("job_key") or re.sub(r"[^A-Za-z0-9_]+", "_", str(body.get("name", ""))).strip("_").lower())
        return file, key, body

    async def preview(request: Request) -> Response:
        try:
            file, key, body = await _payload(request)
            return PlainTextResponse(editor.render(file, key, body))
        except editor.EditorError as exc:
            return JSONResponse({"message": str(exc)}, status_code=400)

    async def save(request: Request) -> Response:
        try:
            file, key, body = await _payload(request)
            clash = state.history.find_job(str(body.get("name", "")).strip())
            if clash is not None:
                source = state.history.job(clash).get("source") or {}
                if (source.get("file"), source.get("job_key")) != (str(file.resolve()), key):
                    raise editor.EditorError(f"a job named {body.get('name')!r} already exists (job {clash}, "
                                             f"{source.get('file') or 'created through the API'}): pick another name")
            loaded = editor.save(file, key, body)
        except editor.EditorError as exc:
            return JSONResponse({"message": str(exc)}, status_code=400)
        job_id = state.history.ensure_job(loaded.settings.name or loaded.key, loaded.settings.as_dict(),
                                          source={"file": str(file.resolve()), "job_key": loaded.key,
                                                  "target": loaded.target})
        return JSONResponse({"job_id": job_id, "file": str(file), "job_key": loaded.key})

    async def pause(request: Request) -> Response:
        """Pause / resume a job defined in a bundle YAML file: its pause_status there, which the
        scheduler reads again once the job's row changes (ensure_job below)."""
        job_id = request.path_params["job_id"]
        body = await request.json()
        try:
            job = state.history.job(job_id)
            file = editable_file(job.get("source"))
            if file is None:
                raise editor.EditorError(f"job {job_id} is not defined in a bundle YAML file")
            loaded = editor.set_pause(file, job["source"].get("job_key") or "", str(body.get("block")),
                                      bool(body.get("paused")))
        except (editor.EditorError, RunNotFound) as exc:
            return JSONResponse({"message": str(exc)}, status_code=400)
        state.history.ensure_job(loaded.settings.name or loaded.key, loaded.settings.as_dict(),
                                 source={"file": str(file.resolve()), "job_key": loaded.key, "target": loaded.target})
        return JSONResponse({"job_id": job_id, "paused": bool(body.get("paused"))})

    return [
        Route("/jobs/{job_id:int}/pause", pause, methods=["POST"]),
        Route("/jobs/new", new_job),
        Route("/jobs/{job_id:int}/edit", edit_job),
        Route("/jobs/editor/preview", preview, methods=["POST"]),
        Route("/jobs/editor/save", save, methods=["POST"]),
    ]
