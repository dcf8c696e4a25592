"""Runs whose runner process died (orphans): found by their owner's pid, start time and host, and closed.

An orphan is closed as INTERNAL_ERROR / FAILED (code INTERNAL_ERROR), its unfinished task
runs with it, so it frees its concurrency slot and can be repaired. One whose runner died
after every task had succeeded, in the moment before it closed the run, is closed as the
runner would have closed it: SUCCESS (a FAILED run with nothing to repair would be a dead end). The liveness check
itself is `processes.owner_alive`.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any

from course.jobs.local.history.db import now_ms
from course.jobs.local.history.processes import owner_alive
from course.jobs.local.history.records import TERMINAL_SQL, Runs
from course.jobs.model import states

ORPHAN_MESSAGE = (
    "The runner process (pid {pid}) that owned this run exited before the run finished; "
    "the run was closed as INTERNAL_ERROR and can be repaired."
)
FINISHED_MESSAGE = (
    "The runner process (pid {pid}) exited after every task had succeeded, before it closed the run; "
    "the run was closed as SUCCESS."
)


class Ownership(Runs):
    """Finding and closing orphaned runs."""

    def _orphans(self, conn: sqlite3.Connection, job_id: int | None = None) -> list[sqlite3.Row]:
        """Active runs whose owner process is gone."""
        sql = f"SELECT * FROM runs WHERE life_cycle_state NOT IN ({TERMINAL_SQL})"
        args: tuple[Any, ...] = ()
        if job_id is not None:
            sql, args = sql + " AND job_id = ?", (job_id,)
        rows = conn.execute(sql, args).fetchall()
        return [r for r in rows if not owner_alive(r["owner_pid"], r["owner_identity"], r["owner_host"])]

    def _close_orphans(self, conn: sqlite3.Connection, job_id: int | None = None) -> list[int]:
        """Close orphans inside the caller's write transaction; their run ids."""
        closed = []
        for r in self._orphans(conn, job_id):
            if self._every_task_succeeded(conn, r):
                self._set_run_state(conn, r["run_id"], states.TERMINATED, states.SUCCESS,
                                    FINISHED_MESSAGE.format(pid=r["owner_pid"]))
                closed.append(r["run_id"])
                continue
            message = ORPHAN_MESSAGE.format(pid=r["owner_pid"])
            self._set_run_state(conn, r["run_id"], states.INTERNAL_ERROR, states.FAILED, message,
                                "INTERNAL_ERROR", "INTERNAL_ERROR")
            t = now_ms()
            conn.execute(
                f"""UPDATE task_runs SET life_cycle_state = 'INTERNAL_ERROR', result_state = 'FAILED',
                        state_message = ?, termination_code = 'INTERNAL_ERROR',
                        termination_type = 'INTERNAL_ERROR', end_time = ?, start_time = COALESCE(start_time, ?)
                    WHERE run_id = ? AND life_cycle_state NOT IN ({TERMINAL_SQL})""",
                (message, t, t, r["run_id"]))
            closed.append(r["run_id"])
        return closed

    @staticmethod
    def _every_task_succeeded(conn: sqlite3.Connection, run: sqlite3.Row) -> bool:
        """Each of the job's tasks has a finished latest attempt that succeeded (repairs count)."""
        job = conn.execute("SELECT settings FROM jobs WHERE job_id = ?", (run["job_id"],)).fetchone()
        keys = {t["task_key"] for t in json.loads(job["settings"]).get("tasks") or []} if job else set()
        latest = {}
        for row in conn.execute("SELECT task_key, life_cycle_state, result_state FROM task_runs "
                                "WHERE run_id = ? ORDER BY task_run_id", (run["run_id"],)):
            latest[row["task_key"]] = row
        return bool(keys) and keys <= set(latest) and all(
            states.is_terminal(row["life_cycle_state"]) and row["result_state"] == states.SUCCESS
            for row in latest.values())

    def close_orphans(self) -> list[int]:
        """Close runs whose owner process died (pid + start-time check) as INTERNAL_ERROR/FAILED; their ids."""
        with self._tx() as conn:
            return self._close_orphans(conn)
