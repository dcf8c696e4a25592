"""Admission of a new run under `max_concurrent_runs`: run it, queue it, or skip it; and the queue.

A run holds a slot from admission until it ends; PENDING runs not yet admitted and QUEUED
runs do not. Orphans are closed before slots are counted, so a dead runner never blocks
its job. Each decision is one write transaction, so concurrent processes agree on it.
"""
from __future__ import annotations

import sqlite3
import time

from course.jobs.local.history.db import HistoryError
from course.jobs.local.history.ownership import Ownership
from course.jobs.local.history.records import TERMINAL_SQL
from course.jobs.model import states

SKIPPED_MESSAGE = (
    "Skipping this run because the limit of {n} maximum concurrent runs has been "
    "reached (MAXIMUM_CONCURRENT_RUNS_REACHED)."
)


class Admission(Ownership):
    """Concurrency slots per job: `admit`, `wait_for_slot`, `active_runs`."""

    def _slots(self, conn: sqlite3.Connection, job_id: int, run_id: int) -> tuple[int, int]:
        """(runs holding a slot, QUEUED runs ahead of run_id) for a job, orphans closed first."""
        self._close_orphans(conn, job_id)
        used = conn.execute(
            f"""SELECT COUNT(*) FROM runs WHERE job_id = ? AND run_id != ?
                  AND life_cycle_state NOT IN ({TERMINAL_SQL}) AND life_cycle_state != 'QUEUED'
                  AND NOT (life_cycle_state = 'PENDING' AND admitted = 0)""", (job_id, run_id)).fetchone()[0]
        ahead = conn.execute("SELECT COUNT(*) FROM runs WHERE job_id = ? AND run_id < ? AND life_cycle_state = 'QUEUED'",
                             (job_id, run_id)).fetchone()[0]
        return used, ahead

    def admit(self, job_id: int, run_id: int, max_concurrent_runs: int = 1, queue_enabled: bool = False) -> str:
        """Atomically decide "RUN" (slot taken, PENDING), "QUEUE" (QUEUED) or "SKIP" (SKIPPED) for a new run."""
        with self._tx() as conn:
            row = self._run_row(conn, run_id)
            if row["job_id"] != job_id:
                raise ValueError(f"run {run_id} belongs to job {row['job_id']}, not {job_id}")
            if states.is_terminal(row["life_cycle_state"]):
                raise HistoryError(f"run {run_id} already ended ({row['life_cycle_state']})")
            conn.execute("UPDATE runs SET max_concurrent_runs = ?, queue_enabled = ? WHERE run_id = ?",
                         (max_concurrent_runs, int(queue_enabled), run_id))
            used, ahead = self._slots(conn, job_id, run_id)
            if used < max_concurrent_runs and not (queue_enabled and ahead):
                conn.execute("UPDATE runs SET admitted = 1 WHERE run_id = ?", (run_id,))
                if row["life_cycle_state"] == states.QUEUED:
                    self._set_run_state(conn, run_id, states.PENDING, None, "")
                return "RUN"
            if queue_enabled:
                self._set_run_state(conn, run_id, states.QUEUED, None, "")
                return "QUEUE"
            self._set_run_state(conn, run_id, states.SKIPPED, states.MAXIMUM_CONCURRENT_RUNS_REACHED,
                                SKIPPED_MESSAGE.format(n=max_concurrent_runs))
            return "SKIP"

    def wait_for_slot(self, run_id: int, poll_s: float = 0.2, timeout: float | None = None,
                      max_concurrent_runs: int | None = None) -> bool:
        """Block until a QUEUED run takes a free slot, first come first served by run_id.

        Returns True once admitted (run PENDING), False if the run ended while queued
        (e.g. canceled); raises TimeoutError after `timeout` seconds, leaving it QUEUED.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._tx() as conn:
                row = self._run_row(conn, run_id)
                if states.is_terminal(row["life_cycle_state"]):
                    return False
                if row["life_cycle_state"] != states.QUEUED:
                    return True
                limit = max_concurrent_runs if max_concurrent_runs is not None else (row["max_concurrent_runs"] or 1)
                used, ahead = self._slots(conn, row["job_id"], run_id)
                if used < limit and not ahead:
                    conn.execute("UPDATE runs SET admitted = 1 WHERE run_id = ?", (run_id,))
                    self._set_run_state(conn, run_id, states.PENDING, None, "")
                    return True
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"run {run_id} still queued after {timeout} s")
            time.sleep(poll_s if deadline is None else max(0.0, min(poll_s, deadline - time.monotonic())))

    def active_runs(self, job_id: int) -> list[int]:
        """Ids of the job's runs that have not ended (queued ones included)."""
        rows = self._query(f"SELECT run_id FROM runs WHERE job_id = ? AND life_cycle_state NOT IN ({TERMINAL_SQL}) "
                           "ORDER BY run_id", (job_id,))
        return [r[0] for r in rows]
