"""Jobs as the Jobs API sees them, kept in the run history's jobs table.

A job created through the API is a `databricks jobs get`-shaped JSON file in the
workspace folder, `<state>/workspace/.job-<job_id>.json`, and the history's job row
names that file as the job's source: `runner.py --job <that file>` runs it from the
shell, `runner.py repair RUN_ID` repairs its runs, and the file lives in the workspace
root so the job's workspace notebook paths (`/Users/me/day7/bronze`, with or without
`/Workspace`) resolve to the notebooks imported there. A job first run from the shell
(a bundle or JSON file) is listed and can be run through the API; its settings are the
history's snapshot, and editing it means editing its file.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from databricks.sdk.service import jobs

from course.jobs.local.history import History, HistoryError, RunNotFound
from course.jobs.spec import JobSpecError
from course.jobs.spec.validate import build
from course.server.errors import ApiError, invalid, not_found

FILE_PATTERN = re.compile(r"^\.job-(\d+)\.json$")


def settings_problem(settings: dict, where: Path) -> str | None:
    """What is wrong with `settings` as Jobs API JobSettings (the kit's own checks), or None."""
    try:
        build(json.loads(json.dumps(settings)), "", lambda _k: where, where)
    except JobSpecError as exc:
        return f"{exc.field}: {exc.problem}" if exc.field else exc.problem
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        return f"the job settings do not have the Jobs API's shape ({exc})"
    return None


class JobStore:
    """Create, read, list, change and delete jobs; see the module docstring."""

    def __init__(self, history: History, workspace_root: Path, user: str):
        self.history = history
        self.root = workspace_root
        self.root.mkdir(parents=True, exist_ok=True)
        self.user = user

    def file_of(self, job_id: int) -> Path:
        return self.root / f".job-{job_id}.json"

    def is_api_job(self, job: dict) -> bool:
        source = job.get("source") or {}
        return bool(source.get("file")) and Path(source["file"]) == self.file_of(job["job_id"])

    # ------------------------------------------------------------ reading

    def row(self, job_id: int) -> dict[str, Any]:
        try:
            return self.history.job(job_id)
        except RunNotFound:
            raise not_found(f"Job {job_id} does not exist.") from None

    def settings_of(self, job: dict) -> dict:
        if self.is_api_job(job):
            try:
                return json.loads(self.file_of(job["job_id"]).read_text(encoding="utf-8"))["settings"]
            except (OSError, ValueError, KeyError):
                pass  # the file was removed or broken by hand: the history's snapshot still says what ran
        return job["settings"]

    def get(self, job_id: int) -> jobs.Job:
        """`jobs/get`."""
        return self.as_job(self.row(job_id))

    def as_job(self, job: dict, *, expand_tasks: bool = True) -> jobs.Job:
        settings = dict(self.settings_of(job))
        if not expand_tasks:
            settings.pop("tasks", None)
            settings.pop("job_clusters", None)
        return jobs.Job(job_id=job["job_id"], creator_user_name=self.user, run_as_user_name=self.user,
                        created_time=job["created_time"], settings=jobs.JobSettings.from_dict(settings))

    def source(self, job_id: int) -> dict:
        """Where the runner loads the job from: {"file", "job_key", "target"}."""
        job = self.row(job_id)
        if self.is_api_job(job):
            return {"file": str(self.file_of(job_id)), "job_key": job["name"], "target": None}
        if not job.get("source") or not Path(job["source"]["file"]).exists():
            raise ApiError(400, "INVALID_STATE",
                           f"Job {job_id} ('{job['name']}') was run from a file that is no longer there "
                           f"({(job.get('source') or {}).get('file', 'not recorded')}); run it from the shell "
                           "with --job, or create it through the API")
        return job["source"]

    # ------------------------------------------------------------ writing

    def _checked(self, settings: Any) -> dict:
        if not isinstance(settings, dict):
            raise invalid("Job settings must be an object.")
        settings = {k: v for k, v in settings.items() if k != "access_control_list"}
        settings.setdefault("name", "Untitled")
        if not isinstance(settings["name"], str) or not settings["name"].strip():
            raise invalid("name: the job name must be a non-empty string")
        problem = settings_problem(settings, self.root / "job.json")
        if problem:
            raise invalid(problem)
        return settings

    def _write(self, job_id: int, settings: dict, created_time: int) -> None:
        path = self.file_of(job_id)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"job_id": job_id, "creator_user_name": self.user, "created_time": created_time,
                                   "settings": settings}, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    def create(self, settings: Any) -> int:
        """`jobs/create`: the new job's id."""
        settings = self._checked(settings)
        try:
            job_id = self.history.create_job(settings["name"], settings, None)
        except HistoryError as exc:
            raise ApiError(400, "RESOURCE_ALREADY_EXISTS", str(exc)) from None
        self._write(job_id, settings, self.history.job(job_id)["created_time"])
        self.history.update_job(job_id, settings["name"], settings,
                                {"file": str(self.file_of(job_id)), "job_key": settings["name"], "target": None})
        return job_id

    def reset(self, job_id: int, settings: Any) -> None:
        """`jobs/reset`: the job's settings replaced as a whole."""
        job = self.row(job_id)
        if not self.is_api_job(job):
            source = job.get("source") or {}
            raise invalid(f"Job {job_id} is defined in {source.get('file', 'a file')} (job key "
                          f"{source.get('job_key', '?')}): edit that file; the API changes only jobs it created")
        settings = self._checked(settings)
        try:
            self.history.update_job(job_id, settings["name"], settings)
        except HistoryError as exc:
            raise ApiError(400, "RESOURCE_ALREADY_EXISTS", str(exc)) from None
        self._write(job_id, settings, job["created_time"])

    def update(self, job_id: int, new_settings: Any, fields_to_remove: Any) -> None:
        """`jobs/update`: top-level fields replaced, `tasks` / `job_clusters` merged by key, fields removed."""
        if new_settings is not None and not isinstance(new_settings, dict):
            raise invalid("new_settings must be an object")
        if fields_to_remove is not None and not isinstance(fields_to_remove, list):
            raise invalid("fields_to_remove must be a list")
        current = json.loads(json.dumps(self.settings_of(self.row(job_id))))
        for key, value in (new_settings or {}).items():
            if key in ("tasks", "job_clusters") and isinstance(value, list):
                id_key = "task_key" if key == "tasks" else "job_cluster_key"
                merged = {item.get(id_key): item for item in current.get(key) or []}
                merged.update({item.get(id_key): item for item in value if isinstance(item, dict)})
                current[key] = list(merged.values())
            else:
                current[key] = value
        for field in fields_to_remove or []:
            if isinstance(field, str) and field.startswith("tasks/"):
                current["tasks"] = [t for t in current.get("tasks") or [] if t.get("task_key") != field[6:]]
            elif isinstance(field, str) and field.startswith("job_clusters/"):
                current["job_clusters"] = [c for c in current.get("job_clusters") or []
                                           if c.get("job_cluster_key") != field[13:]]
            else:
                current.pop(str(field), None)
        self.reset(job_id, current)

    def delete(self, job_id: int) -> None:
        """`jobs/delete`: the job, its runs' records and (for an API job) its file."""
        job = self.row(job_id)
        try:
            self.history.delete_job(job_id)
        except HistoryError as exc:
            raise ApiError(400, "INVALID_STATE", str(exc)) from None
        if self.is_api_job(job):
            self.file_of(job_id).unlink(missing_ok=True)

    def submitted(self, settings: dict) -> int:
        """A `runs/submit` run's job: its tasks as an API job named after the run (the history
        records every run under a job), tagged `day7-submitted`; a second submit gets `#2`, …"""
        settings = dict(settings)
        settings["tags"] = {**(settings.get("tags") or {}), "day7-submitted": "true"}
        base = settings["name"]
        for n in range(1, 10_000):
            settings["name"] = base if n == 1 else f"{base} #{n}"
            if self.history.find_job(settings["name"]) is None:
                return self.create(settings)
        raise invalid(f"too many submitted runs named '{base}'")
