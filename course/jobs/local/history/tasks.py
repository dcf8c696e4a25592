"""Task runs (every attempt, in every repair) and the task values they set: create, update, read."""
from __future__ import annotations

import json
import os
import sqlite3
from typing import Any, Iterable, Mapping

from course.jobs.local.history.db import RunNotFound, dumps, now_ms
from course.jobs.local.history.records import Runs, TaskRunRecord, check_code, check_state, str_dict
from course.jobs.model import states


class TaskRuns(Runs):
    """The task runs of a run and their task values."""

    def create_task_run(
        self,
        run_id: int,
        task_key: str,
        attempt_number: int = 0,
        original_attempt_run_id: int | None = None,
        repair_id: int | None = None,
        depends_on: Iterable[str | Mapping[str, str]] = (),
        notebook_path: str | None = None,
        parameters: Mapping[str, str] | None = None,
        *,
        life_cycle_state: str = "PENDING",
        task_type: str | None = None,
        task_settings: Mapping[str, Any] | None = None,
        parent_task_run_id: int | None = None,
    ) -> int:
        """Record a new task run (attempt) of `task_key`; returns its task run id.

        `repair_id` None means the run's latest repair (the original run when never
        repaired). `original_attempt_run_id` defaults to the task run's own id for
        attempt 0, else to attempt 0 of the same task in the same repair. start_time is
        set now, except for BLOCKED / WAITING_FOR_RETRY (set when it starts running).
        `task_type` is the task's `*_task` field name and `task_settings` that field as
        defined (JSON); without them the task run reads back as a notebook task.
        `parent_task_run_id`: the for-each task run this one is an iteration of.
        """
        life_cycle_state, _ = check_state(life_cycle_state, None)
        deps = [{"task_key": d} if isinstance(d, str) else dict(d) for d in depends_on]
        params = str_dict(parameters, "parameters")
        t = now_ms()
        with self._tx() as conn:
            self._run_row(conn, run_id)
            if repair_id is None:
                repair_id = conn.execute("SELECT MAX(repair_id) FROM repairs WHERE run_id = ?",
                                         (run_id,)).fetchone()[0]
            task_run_id = self._next_id(conn)
            if original_attempt_run_id is None:
                if attempt_number == 0:
                    original_attempt_run_id = task_run_id
                else:
                    row = conn.execute(
                        """SELECT task_run_id FROM task_runs WHERE run_id = ? AND task_key = ?
                               AND repair_id IS ? AND attempt_number = 0
                           ORDER BY task_run_id DESC LIMIT 1""",
                        (run_id, task_key, repair_id)).fetchone()
                    original_attempt_run_id = row[0] if row else task_run_id
            start = None if life_cycle_state in (states.BLOCKED, states.WAITING_FOR_RETRY) else t
            conn.execute(
                """INSERT INTO task_runs (task_run_id, run_id, repair_id, task_key, attempt_number,
                       original_attempt_run_id, depends_on, notebook_path, parameters,
                       life_cycle_state, start_time, task_type, task_settings, parent_task_run_id)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (task_run_id, run_id, repair_id, task_key, attempt_number, original_attempt_run_id,
                 dumps(deps), notebook_path, dumps(params), life_cycle_state, start, task_type,
                 None if task_settings is None else dumps(task_settings), parent_task_run_id))
            return task_run_id

    def update_task_run(
        self,
        task_run_id: int,
        *,
        life_cycle_state: str | None = None,
        result_state: str | None = None,
        state_message: str | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        output_path: str | os.PathLike[str] | None = None,
        exit_value: str | None = None,
        error: str | None = None,
        error_trace: str | None = None,
        termination_code: str | None = None,
        termination_type: str | None = None,
        child_run_id: int | None = None,
    ) -> None:
        """Update the given fields of a task run; entering RUNNING sets start_time, a terminal state end_time."""
        check_code(termination_code, termination_type)
        with self._tx() as conn:
            row = conn.execute("SELECT life_cycle_state, result_state, start_time, end_time FROM task_runs "
                               "WHERE task_run_id = ?", (task_run_id,)).fetchone()
            if row is None:
                raise RunNotFound(f"task run {task_run_id} is not in the run history {self.path}")
            fields: dict[str, Any] = {}
            if life_cycle_state is not None:
                life_cycle_state, result_state = check_state(life_cycle_state, result_state)
                fields.update(life_cycle_state=life_cycle_state, result_state=result_state)
                t = now_ms()
                if life_cycle_state == states.RUNNING and row["start_time"] is None and start_time is None:
                    start_time = t
                if states.is_terminal(life_cycle_state):
                    end_time = end_time if end_time is not None else t
                    if row["start_time"] is None and start_time is None:
                        start_time = end_time
                else:
                    fields["end_time"] = None
            elif result_state is not None:
                check_state(row["life_cycle_state"], result_state)
                fields["result_state"] = result_state
            for name, value in (("state_message", state_message), ("start_time", start_time),
                                ("end_time", end_time), ("exit_value", exit_value), ("error", error),
                                ("error_trace", error_trace), ("termination_code", termination_code),
                                ("termination_type", termination_type), ("child_run_id", child_run_id)):
                if value is not None:
                    fields[name] = value
            if output_path is not None:
                fields["output_path"] = str(output_path)
            if fields:
                sets = ", ".join(f"{k} = ?" for k in fields)
                conn.execute(f"UPDATE task_runs SET {sets} WHERE task_run_id = ?", (*fields.values(), task_run_id))

    def set_task_values(self, task_run_id: int, values: Mapping[str, Any]) -> None:
        """Store (upsert) task values set by a task run; values must be JSON-serialisable."""
        t = now_ms()
        rows = [(task_run_id, str(k), dumps(v), t) for k, v in values.items()]
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM task_runs WHERE task_run_id = ?", (task_run_id,)).fetchone() is None:
                raise RunNotFound(f"task run {task_run_id} is not in the run history {self.path}")
            conn.executemany(
                "INSERT INTO task_values (task_run_id, key, value, set_time) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (task_run_id, key) DO UPDATE SET value = excluded.value, set_time = excluded.set_time",
                rows)

    def task_run_values(self, task_run_id: int) -> dict[str, Any]:
        """The task values one task run set (the CLI prints them as `task_values`)."""
        rows = self._query("SELECT key, value FROM task_values WHERE task_run_id = ? ORDER BY key",
                           (task_run_id,))
        return {r["key"]: json.loads(r["value"]) for r in rows}

    @staticmethod
    def _task_record(row: sqlite3.Row) -> TaskRunRecord:
        """A task_runs row as a TaskRunRecord."""
        return TaskRunRecord(
            task_run_id=row["task_run_id"], run_id=row["run_id"], repair_id=row["repair_id"],
            task_key=row["task_key"], attempt_number=row["attempt_number"],
            original_attempt_run_id=row["original_attempt_run_id"],
            depends_on=tuple(d["task_key"] for d in json.loads(row["depends_on"])),
            notebook_path=row["notebook_path"], parameters=json.loads(row["parameters"] or "{}"),
            life_cycle_state=row["life_cycle_state"], result_state=row["result_state"],
            state_message=row["state_message"], start_time=row["start_time"], end_time=row["end_time"],
            output_path=row["output_path"], exit_value=row["exit_value"], error=row["error"],
            error_trace=row["error_trace"], task_type=row["task_type"])

    def task_runs(self, run_id: int) -> list[TaskRunRecord]:
        """Every task run of a run (all attempts, all repairs), oldest first; for-each iterations
        are not tasks of the run (see `iteration_runs`)."""
        rows = self._query("SELECT * FROM task_runs WHERE run_id = ? AND parent_task_run_id IS NULL "
                           "ORDER BY task_run_id", (run_id,))
        return [self._task_record(r) for r in rows]

    def iteration_runs(self, task_run_id: int) -> list[TaskRunRecord]:
        """The task runs (every attempt) of a for-each task run's iterations, oldest first."""
        rows = self._query("SELECT * FROM task_runs WHERE parent_task_run_id = ? ORDER BY task_run_id",
                           (task_run_id,))
        return [self._task_record(r) for r in rows]

    def task_run(self, task_run_id: int) -> TaskRunRecord:
        """One task run; RunNotFound if unknown."""
        row = self._query_one("SELECT * FROM task_runs WHERE task_run_id = ?", (task_run_id,))
        if row is None:
            raise RunNotFound(f"task run {task_run_id} is not in the run history {self.path}")
        return self._task_record(row)

    def latest_task_runs(self, run_id: int) -> dict[str, TaskRunRecord]:
        """The latest attempt of each task of a run, across repairs, keyed by task_key."""
        return states.latest_attempts(self.task_runs(run_id))

    def task_values(self, run_id: int) -> dict[str, dict[str, Any]]:
        """Task values per task_key, from the latest successful attempt of each task of the run."""
        rows = self._query(
            """SELECT t.task_key, v.key, v.value FROM task_values v JOIN task_runs t USING (task_run_id)
               WHERE t.task_run_id IN (SELECT MAX(task_run_id) FROM task_runs
                                       WHERE run_id = ? AND result_state = 'SUCCESS'
                                         AND parent_task_run_id IS NULL GROUP BY task_key)
               ORDER BY t.task_key, v.key""", (run_id,))
        out: dict[str, dict[str, Any]] = {}
        for r in rows:
            out.setdefault(r["task_key"], {})[r["key"]] = json.loads(r["value"])
        return out

    def latest_success(self, job_id: int, task_key: str) -> tuple[int, int, dict[str, Any]] | None:
        """(run_id, task_run_id, task values) of the task's latest successful attempt in any run of the job."""
        row = self._query_one(
            """SELECT t.run_id, t.task_run_id FROM task_runs t JOIN runs r USING (run_id)
               WHERE r.job_id = ? AND t.task_key = ? AND t.result_state = 'SUCCESS'
                 AND t.parent_task_run_id IS NULL
               ORDER BY t.end_time DESC, t.task_run_id DESC LIMIT 1""", (job_id, task_key))
        if row is None:
            return None
        return row["run_id"], row["task_run_id"], self.task_run_values(row["task_run_id"])
