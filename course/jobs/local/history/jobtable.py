"""The jobs table as a catalogue: list, read, create, rename, delete jobs by id.

`Runs.ensure_job` registers a job by name when it runs; these are for callers that manage
jobs themselves (the local workspace's Jobs API): a job created through the API exists
before it ever runs, can be renamed, and can be deleted with its runs.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from course.jobs.local.history.db import Database, HistoryError, RunNotFound, dumps, now_ms
from course.jobs.local.history.records import TERMINAL_SQL


def _job(row) -> dict[str, Any]:
    return {"job_id": row["job_id"], "name": row["name"], "settings": json.loads(row["settings"]),
            "source": json.loads(row["source"]) if row["source"] else None,
            "created_time": row["created_time"], "updated_time": row["updated_time"]}


class JobTable(Database):
    """Jobs by id: `job`, `jobs`, `create_job`, `update_job`, `delete_job`."""

    def job(self, job_id: int) -> dict[str, Any]:
        """{"job_id", "name", "settings", "source", "created_time", "updated_time"}; RunNotFound if unknown."""
        row = self._query_one("SELECT * FROM jobs WHERE job_id = ?", (job_id,))
        if row is None:
            raise RunNotFound(f"Job {job_id} does not exist.")
        return _job(row)

    def jobs(self, *, offset: int = 0, limit: int = 20, name: str | None = None) -> list[dict[str, Any]]:
        """Jobs by id (oldest first, as the Jobs API lists them), optionally those named `name` (any case)."""
        sql, args = "SELECT * FROM jobs", []
        if name is not None:
            sql += " WHERE lower(name) = lower(?)"
            args.append(name)
        sql += " ORDER BY job_id LIMIT ? OFFSET ?"
        return [_job(r) for r in self._query(sql, (*args, limit, offset))]

    def create_job(self, name: str, settings: Mapping[str, Any], source: Mapping[str, Any] | None) -> int:
        """A new job; HistoryError when a job of that name exists (the history keys runs by job name)."""
        t = now_ms()
        with self._tx() as conn:
            row = conn.execute("SELECT job_id FROM jobs WHERE name = ?", (name,)).fetchone()
            if row is not None:
                raise HistoryError(f"a job named '{name}' already exists (job_id {row['job_id']}); "
                                   "the local workspace keeps job names unique")
            return conn.execute(
                "INSERT INTO jobs (name, settings, created_time, updated_time, source) VALUES (?, ?, ?, ?, ?)",
                (name, dumps(dict(settings)), t, t, dumps(dict(source)) if source is not None else None)).lastrowid

    def update_job(self, job_id: int, name: str, settings: Mapping[str, Any],
                   source: Mapping[str, Any] | None = None) -> None:
        """New name and settings (and source, when given) for job `job_id`."""
        with self._tx() as conn:
            clash = conn.execute("SELECT job_id FROM jobs WHERE name = ? AND job_id != ?", (name, job_id)).fetchone()
            if clash is not None:
                raise HistoryError(f"a job named '{name}' already exists (job_id {clash['job_id']}); "
                                   "the local workspace keeps job names unique")
            done = conn.execute(
                "UPDATE jobs SET name = ?, settings = ?, source = COALESCE(?, source), updated_time = ? "
                "WHERE job_id = ?",
                (name, dumps(dict(settings)), dumps(dict(source)) if source is not None else None, now_ms(), job_id))
            if done.rowcount == 0:
                raise RunNotFound(f"Job {job_id} does not exist.")

    def delete_job(self, job_id: int) -> None:
        """Delete a job and its finished runs (task runs, repairs, task values); refused while a run is active."""
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM jobs WHERE job_id = ?", (job_id,)).fetchone() is None:
                raise RunNotFound(f"Job {job_id} does not exist.")
            active = conn.execute(f"SELECT run_id FROM runs WHERE job_id = ? AND life_cycle_state NOT IN "
                                  f"({TERMINAL_SQL})", (job_id,)).fetchall()
            if active:
                raise HistoryError(f"job {job_id} has active runs ({', '.join(str(r[0]) for r in active)}): "
                                   "cancel them first")
            runs = "SELECT run_id FROM runs WHERE job_id = ?"
            conn.execute(f"DELETE FROM task_values WHERE task_run_id IN "
                         f"(SELECT task_run_id FROM task_runs WHERE run_id IN ({runs}))", (job_id,))
            conn.execute(f"DELETE FROM task_runs WHERE run_id IN ({runs})", (job_id,))
            conn.execute(f"DELETE FROM repairs WHERE run_id IN ({runs})", (job_id,))
            conn.execute("DELETE FROM runs WHERE job_id = ?", (job_id,))
            conn.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,))
