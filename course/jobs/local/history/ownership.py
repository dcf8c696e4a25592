"""Runs whose runner process died (orphans): found by their owner's pid, start time and host, and closed.

An orphan is closed as INTERNAL_ERROR / FAILED (code INTERNAL_ERROR), its unfinished task
runs with it, so it frees its concurrency slot and can be repaired. The liveness check
itself is `processes.owner_alive`.
"""
from __future__ import annotations

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

    def close_orphans(self) -> list[int]:
        """Close runs whose owner process died (pid + start-time check) as INTERNAL_ERROR/FAILED; their ids."""
        with self._tx() as conn:
            return self._close_orphans(conn)
