"""Repairs of finished runs: open one (the run becomes active again), count them, read their tasks.

The first repair keeps a snapshot of the ORIGINAL run's outcome, so `repair_history`
can show the original item next to every repair (see `api.py`).
"""
from __future__ import annotations

import json
from typing import Mapping, Sequence

from course.jobs.local.history.db import HistoryError, RunNotFound, dumps, now_ms
from course.jobs.local.history.processes import owner_of
from course.jobs.local.history.records import Runs, str_dict
from course.jobs.model import states


class Repairs(Runs):
    """Repairs of a run, as `runs/repair` creates them."""

    def create_repair(
        self,
        run_id: int,
        rerun_tasks: Sequence[str],
        job_parameters: Mapping[str, str] | None = None,
        *,
        latest_repair_id: int | None = None,
        owner_pid: int | None = None,
    ) -> int:
        """Open a repair of a finished run (run becomes PENDING again, owned by `owner_pid`); returns repair_id.

        `job_parameters` overrides are merged into the run's parameters. When
        `latest_repair_id` is given it must match the run's latest repair (None = no
        repair yet), as the Jobs API requires, so two concurrent repairs cannot both win.
        """
        overrides = str_dict(job_parameters, "job_parameters") if job_parameters is not None else None
        owner = owner_of(owner_pid)
        t = now_ms()
        with self._tx() as conn:
            row = self._run_row(conn, run_id)
            if not states.is_terminal(row["life_cycle_state"]):
                raise HistoryError(f"run {run_id} is {row['life_cycle_state']}; only a finished run can be repaired")
            current = conn.execute("SELECT MAX(repair_id) FROM repairs WHERE run_id = ?", (run_id,)).fetchone()[0]
            if latest_repair_id is not None and latest_repair_id != current:
                raise HistoryError(f"run {run_id}: latest_repair_id {latest_repair_id} is stale, "
                                   f"the latest repair is {current}")
            if current is None:  # keep the ORIGINAL item's outcome for repair_history
                snapshot = {k: row[k] for k in ("life_cycle_state", "result_state", "state_message",
                                                "termination_code", "termination_type", "end_time")}
                conn.execute("UPDATE runs SET original_state = ? WHERE run_id = ?", (dumps(snapshot), run_id))
            repair_id = self._next_id(conn)
            conn.execute(
                """INSERT INTO repairs (repair_id, run_id, rerun_tasks, job_parameters, start_time, life_cycle_state)
                   VALUES (?, ?, ?, ?, ?, 'PENDING')""",
                (repair_id, run_id, dumps(list(rerun_tasks)),
                 dumps(overrides) if overrides is not None else None, t))
            params = json.loads(row["job_parameters"])
            params.update(overrides or {})
            conn.execute(
                """UPDATE runs SET life_cycle_state = 'PENDING', result_state = NULL, state_message = '',
                       end_time = NULL, termination_code = NULL, termination_type = NULL, admitted = 1,
                       job_parameters = ?, owner_pid = ?, owner_identity = ?, owner_host = ?
                   WHERE run_id = ?""",
                (dumps(params), *owner, run_id))
            return repair_id

    def repair_count(self, run_id: int) -> int:
        """How many repairs the run has had (`{{job.repair_count}}`)."""
        return self._query_one("SELECT COUNT(*) FROM repairs WHERE run_id = ?", (run_id,))[0]

    def latest_repair_id(self, run_id: int) -> int | None:
        """The run's latest repair id, None when never repaired."""
        return self._query_one("SELECT MAX(repair_id) FROM repairs WHERE run_id = ?", (run_id,))[0]

    def repair_tasks(self, repair_id: int) -> list[str]:
        """The task keys a repair was asked to re-run."""
        row = self._query_one("SELECT rerun_tasks FROM repairs WHERE repair_id = ?", (repair_id,))
        if row is None:
            raise RunNotFound(f"repair {repair_id} is not in the run history {self.path}")
        return json.loads(row[0])
