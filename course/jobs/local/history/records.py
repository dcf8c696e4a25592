"""Jobs and job runs as the history stores them: the records, their checks, create / update / read.

`RunRecord` and `TaskRunRecord` are what the runner and the CLI read back; `Runs` holds
the job and run rows. Run ids, task run ids and repair ids come from one increasing id
space, like Databricks (an id never repeats, not even across processes); job ids are a
separate, stable sequence per job name.
"""
from __future__ import annotations

import getpass
import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Mapping

from databricks.sdk.service import jobs

from course.jobs.local.history.db import Database, RunNotFound, dumps, now_ms
from course.jobs.local.history.processes import owner_of
from course.jobs.model import states

# What the SDK accepts, so a typo fails when written rather than when read back.
LIFE_CYCLE_STATES = frozenset(s.value for s in jobs.RunLifeCycleState)
RESULT_STATES = frozenset(s.value for s in jobs.RunResultState)
TRIGGERS = frozenset(t.value for t in jobs.TriggerType)
TERMINATION_CODES = frozenset(c.value for c in jobs.TerminationCodeCode)
TERMINATION_TYPES = frozenset(t.value for t in jobs.TerminationTypeType)
# The terminal life cycle states as an SQL list, for `life_cycle_state [NOT] IN (…)`.
TERMINAL_SQL = ", ".join(f"'{s}'" for s in sorted(states.TERMINAL_LIFE_CYCLE))

# The result a terminal state implies when none is given.
_DEFAULT_RESULT = {states.SKIPPED: states.MAXIMUM_CONCURRENT_RUNS_REACHED, states.INTERNAL_ERROR: states.FAILED}


def str_dict(values: Mapping[str, Any] | None, what: str) -> dict[str, str]:
    """`values` as a plain dict, refused unless it maps strings to strings."""
    out: dict[str, str] = {}
    for key, value in (values or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"{what} must map strings to strings; got {key!r}: {value!r}")
        out[key] = value
    return out


def check_state(life_cycle_state: str, result_state: str | None) -> tuple[str, str | None]:
    """A known (life cycle, result) pair, the result defaulted for SKIPPED / INTERNAL_ERROR."""
    if life_cycle_state not in LIFE_CYCLE_STATES:
        raise ValueError(f"unknown life_cycle_state {life_cycle_state!r}; one of {sorted(LIFE_CYCLE_STATES)}")
    if result_state is not None and result_state not in RESULT_STATES:
        raise ValueError(f"unknown result_state {result_state!r}; one of {sorted(RESULT_STATES)}")
    if states.is_terminal(life_cycle_state):
        if result_state is None:
            if life_cycle_state not in _DEFAULT_RESULT:
                raise ValueError(f"a {life_cycle_state} state needs a result_state")
            result_state = _DEFAULT_RESULT[life_cycle_state]
    elif result_state is not None:
        raise ValueError(f"result_state {result_state!r} given for non-terminal state {life_cycle_state}")
    return life_cycle_state, result_state


def check_code(code: str | None, type_: str | None) -> None:
    """Refuse a termination code or type the Jobs API does not know."""
    if code is not None and code not in TERMINATION_CODES:
        raise ValueError(f"unknown termination code {code!r}")
    if type_ is not None and type_ not in TERMINATION_TYPES:
        raise ValueError(f"unknown termination type {type_!r}")


@dataclass(frozen=True)
class TaskRunRecord:
    """One task run (one attempt) as stored."""

    task_run_id: int
    run_id: int
    repair_id: int | None
    task_key: str
    attempt_number: int
    original_attempt_run_id: int
    depends_on: tuple[str, ...]
    notebook_path: str | None
    parameters: dict[str, str]
    life_cycle_state: str
    result_state: str | None
    state_message: str
    start_time: int | None
    end_time: int | None
    output_path: str | None
    exit_value: str | None
    error: str | None
    error_trace: str | None
    task_type: str | None = None  # the `*_task` field; None in rows written before schema 3

    @property
    def terminal(self) -> bool:
        """True once the attempt has finished."""
        return states.is_terminal(self.life_cycle_state)


@dataclass(frozen=True)
class RunRecord:
    """One job run as stored (current state, i.e. of its latest repair)."""

    run_id: int
    job_id: int
    run_name: str
    trigger: str
    job_parameters: dict[str, str]
    life_cycle_state: str
    result_state: str | None
    state_message: str
    start_time: int
    end_time: int | None
    owner_pid: int | None
    repair_count: int
    latest_repair_id: int | None

    @property
    def terminal(self) -> bool:
        """True once the run (or its latest repair) has finished."""
        return states.is_terminal(self.life_cycle_state)


class Runs(Database):
    """Jobs and job runs: register a job, start a run, move its state, read it back.

    `_run_row` and `_set_run_state` also serve the other parts of `History` (repairs,
    orphans, admission), inside their own transactions."""

    def ensure_job(self, name: str, settings: Mapping[str, Any] | jobs.JobSettings,
                   source: Mapping[str, Any] | None = None) -> int:
        """The stable local job id for `name`, registering it or updating its settings snapshot
        (and, when given, where it was loaded from: {"file", "job_key", "target"})."""
        if isinstance(settings, jobs.JobSettings):
            settings = settings.as_dict()
        blob = dumps(dict(settings))
        origin = dumps(dict(source)) if source is not None else None
        t = now_ms()
        with self._tx() as conn:
            row = conn.execute("SELECT job_id, settings, source FROM jobs WHERE name = ?", (name,)).fetchone()
            if row is None:
                return conn.execute(
                    "INSERT INTO jobs (name, settings, created_time, updated_time, source) VALUES (?, ?, ?, ?, ?)",
                    (name, blob, t, t, origin)).lastrowid
            if row["settings"] != blob or (origin is not None and row["source"] != origin):
                conn.execute("UPDATE jobs SET settings = ?, source = COALESCE(?, source), updated_time = ? "
                             "WHERE job_id = ?", (blob, origin, t, row["job_id"]))
            return row["job_id"]

    def job_source(self, job_id: int) -> dict[str, Any] | None:
        """Where the job was last loaded from ({"file", "job_key", "target"}), if recorded."""
        row = self._query_one("SELECT source FROM jobs WHERE job_id = ?", (job_id,))
        return json.loads(row["source"]) if row and row["source"] else None

    def find_job(self, name: str) -> int | None:
        """The job id registered for `name`, or None."""
        row = self._query_one("SELECT job_id FROM jobs WHERE name = ?", (name,))
        return row["job_id"] if row else None

    def job_settings(self, job_id: int) -> tuple[str, dict[str, Any]]:
        """(name, latest settings snapshot) of a job; RunNotFound if unknown."""
        row = self._query_one("SELECT name, settings FROM jobs WHERE job_id = ?", (job_id,))
        if row is None:
            raise RunNotFound(f"job {job_id} is not in the run history {self.path}")
        return row["name"], json.loads(row["settings"])

    def create_run(
        self,
        job_id: int,
        run_name: str,
        job_parameters: Mapping[str, str] | None = None,
        trigger: str = "ONE_TIME",
        owner_pid: int | None = None,
        queued: bool = False,
    ) -> int:
        """Start a job run (PENDING, or QUEUED) owned by `owner_pid` (default this process); returns run_id."""
        if trigger not in TRIGGERS:
            raise ValueError(f"unknown trigger {trigger!r}; one of {sorted(TRIGGERS)}")
        params = str_dict(job_parameters, "job_parameters")
        owner = owner_of(owner_pid)
        t = now_ms()
        try:
            creator = getpass.getuser()
        except Exception:  # no user name in some containers
            creator = None
        with self._tx() as conn:
            job = conn.execute("SELECT settings FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if job is None:
                raise RunNotFound(f"job {job_id} is not in the run history {self.path}; call ensure_job first")
            defaults = {p["name"]: str(p.get("default", "")) for p in json.loads(job["settings"]).get("parameters") or []
                        if isinstance(p, dict) and "name" in p}
            run_id = self._next_id(conn)
            conn.execute(
                """INSERT INTO runs (run_id, job_id, run_name, trigger, creator, job_parameters,
                       parameter_defaults, life_cycle_state, start_time, queued_since,
                       owner_pid, owner_identity, owner_host)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (run_id, job_id, run_name, trigger, creator, dumps(params), dumps(defaults),
                 states.QUEUED if queued else states.PENDING, t, t if queued else None, *owner))
            return run_id

    def _set_run_state(self, conn: sqlite3.Connection, run_id: int, life_cycle_state: str,
                       result_state: str | None, state_message: str,
                       code: str | None = None, type_: str | None = None) -> None:
        """Write a run state to the run and its latest repair item; tracks end_time and queue time."""
        row = conn.execute("SELECT life_cycle_state, queued_since, queue_duration FROM runs WHERE run_id = ?",
                           (run_id,)).fetchone()
        if row is None:
            raise RunNotFound(f"run {run_id} is not in the run history {self.path}")
        t = now_ms()
        end = t if states.is_terminal(life_cycle_state) else None
        queued_since, queue_duration = row["queued_since"], row["queue_duration"]
        if life_cycle_state == states.QUEUED:
            queued_since = queued_since or t
        elif queued_since is not None:
            queue_duration, queued_since = queue_duration + t - queued_since, None
        conn.execute(
            """UPDATE runs SET life_cycle_state = ?, result_state = ?, state_message = ?, end_time = ?,
                   termination_code = ?, termination_type = ?, queued_since = ?, queue_duration = ?
               WHERE run_id = ?""",
            (life_cycle_state, result_state, state_message or "", end, code, type_,
             queued_since, queue_duration, run_id))
        conn.execute(
            """UPDATE repairs SET life_cycle_state = ?, result_state = ?, state_message = ?, end_time = ?,
                   termination_code = ?, termination_type = ?
               WHERE repair_id = (SELECT MAX(repair_id) FROM repairs WHERE run_id = ?)""",
            (life_cycle_state, result_state, state_message or "", end, code, type_, run_id))

    def set_run_state(
        self,
        run_id: int,
        life_cycle_state: str,
        result_state: str | None = None,
        state_message: str = "",
        *,
        termination_code: str | None = None,
        termination_type: str | None = None,
    ) -> None:
        """Set the run's (and its current repair's) state; end_time is set when terminal, cleared otherwise."""
        life_cycle_state, result_state = check_state(life_cycle_state, result_state)
        check_code(termination_code, termination_type)
        with self._tx() as conn:
            self._set_run_state(conn, run_id, life_cycle_state, result_state, state_message,
                                termination_code, termination_type)

    def set_job_parameters(self, run_id: int, job_parameters: Mapping[str, str]) -> None:
        """Replace a run's job parameter values (resolved once the run id exists)."""
        params = str_dict(job_parameters, "job_parameters")
        with self._tx() as conn:
            if conn.execute("UPDATE runs SET job_parameters = ? WHERE run_id = ?",
                            (dumps(params), run_id)).rowcount == 0:
                raise RunNotFound(f"run {run_id} is not in the run history {self.path}")

    def run_record(self, run_id: int) -> RunRecord:
        """The stored run (current state, parameters, owner, repair count)."""
        with self._tx("DEFERRED") as conn:
            row = self._run_row(conn, run_id)
            rep = conn.execute("SELECT COUNT(*), MAX(repair_id) FROM repairs WHERE run_id = ?", (run_id,)).fetchone()
        return RunRecord(
            run_id=row["run_id"], job_id=row["job_id"], run_name=row["run_name"], trigger=row["trigger"],
            job_parameters=json.loads(row["job_parameters"]), life_cycle_state=row["life_cycle_state"],
            result_state=row["result_state"], state_message=row["state_message"],
            start_time=row["start_time"], end_time=row["end_time"], owner_pid=row["owner_pid"],
            repair_count=rep[0], latest_repair_id=rep[1])

    def run_owner(self, run_id: int) -> tuple[int | None, str | None, str | None] | None:
        """(pid, identity, host) of the process that runs `run_id` (see processes.owner_alive); None if unknown."""
        row = self._query_one("SELECT owner_pid, owner_identity, owner_host FROM runs WHERE run_id = ?", (run_id,))
        return (row["owner_pid"], row["owner_identity"], row["owner_host"]) if row else None

    def run_owned_by(self, pid: int, job_id: int) -> int | None:
        """The newest run of `job_id` that process `pid` started, or None (a server waits for its child's run)."""
        row = self._query_one("SELECT MAX(run_id) AS run_id FROM runs WHERE owner_pid = ? AND job_id = ?",
                              (pid, job_id))
        return row["run_id"] if row else None

    def _run_row(self, conn: sqlite3.Connection, run_id: int) -> sqlite3.Row:
        """The raw run row; RunNotFound if unknown."""
        row = conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFound(f"run {run_id} is not in the run history {self.path}")
        return row
