"""Run history in SQLite: jobs, runs, task runs (every attempt), repairs, task values.

One file (`course.platform.paths.history_db()` unless a path is given), written as things
happen and shared by every process of the kit:

- WAL journal, a busy timeout, and `BEGIN IMMEDIATE` around every write, so a
  decision that reads then writes (allocate an id, admit a run, close orphans,
  start a repair) is atomic across processes.
- Run ids, task run ids and repair ids come from one increasing id space
  (table `id_seq`), like Databricks: an id never repeats, not even across
  `History` instances or processes. Job ids are a separate, stable sequence per
  job name.
- `PRAGMA user_version` holds the schema version; `_MIGRATIONS` upgrades older
  files and a file from a newer kit is refused with a clear message.

Reading returns databricks-sdk dataclasses (`jobs.Run`, `jobs.RunOutput`) whose
`.as_dict()` has the Jobs API 2.2 `runs/get` / `runs/get-output` shape. State
mapping (legacy `state` block → new `status` block), see `_status_for`:

| state (life_cycle / result)          | status.state | termination code (type)               |
|--------------------------------------|--------------|---------------------------------------|
| QUEUED                               | QUEUED       | queue_details MAX_CONCURRENT_RUNS_REACHED |
| PENDING / BLOCKED / RUNNING / TERMINATING | same    | –                                     |
| WAITING_FOR_RETRY                    | WAITING      | –                                     |
| TERMINATED SUCCESS                   | TERMINATED   | SUCCESS (SUCCESS)                     |
| TERMINATED SUCCESS_WITH_FAILURES     | TERMINATED   | SUCCESS_WITH_FAILURES (SUCCESS)       |
| TERMINATED FAILED                    | TERMINATED   | RUN_EXECUTION_ERROR (CLIENT_ERROR)    |
| INTERNAL_ERROR FAILED, job run       | TERMINATED   | RUN_EXECUTION_ERROR (CLIENT_ERROR): the real-workspace quirk, a failed multi-task run reads `INTERNAL_ERROR / FAILED / "Task <key> failed with message: …"` |
| INTERNAL_ERROR, task run             | TERMINATED   | INTERNAL_ERROR (INTERNAL_ERROR)       |
| TERMINATED TIMEDOUT                  | TERMINATED   | CANCELED (CLIENT_ERROR): "canceled by the platform, e.g. maximum run duration exceeded" |
| TERMINATED CANCELED                  | TERMINATED   | USER_CANCELED (SUCCESS)               |
| TERMINATED UPSTREAM_FAILED / UPSTREAM_CANCELED | TERMINATED | SKIPPED (CLIENT_ERROR)       |
| TERMINATED EXCLUDED                  | TERMINATED   | SKIPPED (SUCCESS)                     |
| TERMINATED DISABLED                  | TERMINATED   | DISABLED (SUCCESS)                    |
| SKIPPED (MAXIMUM_CONCURRENT_RUNS_REACHED) | TERMINATED | MAX_CONCURRENT_RUNS_EXCEEDED (CLIENT_ERROR) |

A caller can override the code (e.g. `close_orphans` records INTERNAL_ERROR /
INTERNAL_ERROR for a run whose runner died, not RUN_EXECUTION_ERROR).

Not every field the brief names exists in the SDK: `RunTask` has no
`original_attempt_run_id` (only `Run` has), so `tasks[]` carries
`attempt_number` and the link to the first attempt lives in the store
(`TaskRunRecord.original_attempt_run_id`) and in `get_output(...).metadata`.
"""
from __future__ import annotations

import getpass
import json
import os
import socket
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from databricks.sdk.service import jobs

from course.platform import paths

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0

TERMINAL_STATES = frozenset({"TERMINATED", "SKIPPED", "INTERNAL_ERROR"})
"""Life cycle states after which nothing changes (until a repair reopens the run)."""

_LIFE_CYCLE_STATES = frozenset(s.value for s in jobs.RunLifeCycleState)
_RESULT_STATES = frozenset(s.value for s in jobs.RunResultState)
_TRIGGERS = frozenset(t.value for t in jobs.TriggerType)
_CODES = frozenset(c.value for c in jobs.TerminationCodeCode)
_TYPES = frozenset(t.value for t in jobs.TerminationTypeType)

SKIPPED_MESSAGE = (
    "Skipping this run because the limit of {n} maximum concurrent runs has been "
    "reached (MAXIMUM_CONCURRENT_RUNS_REACHED)."
)
QUEUED_MESSAGE = "Queued due to reaching maximum concurrent runs of {n}."
ORPHAN_MESSAGE = (
    "The runner process (pid {pid}) that owned this run exited before the run finished; "
    "the run was closed as INTERNAL_ERROR and can be repaired."
)


class RunNotFound(KeyError):
    """A run or task run id that the history does not hold."""

    def __str__(self) -> str:  # KeyError would print the message with quotes
        return str(self.args[0]) if self.args else "run not found"


class HistoryError(RuntimeError):
    """A request the history refuses (repairing an active run, a newer schema, …)."""


# --------------------------------------------------------------------------- schema

_SCHEMA_V1 = """
CREATE TABLE id_seq (            -- one increasing id space for runs, task runs, repairs
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO id_seq (name, value) VALUES ('run', 0);

CREATE TABLE jobs (
    job_id       INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused
    name         TEXT NOT NULL UNIQUE,
    settings     TEXT NOT NULL,                      -- JSON snapshot of JobSettings
    created_time INTEGER NOT NULL,
    updated_time INTEGER NOT NULL
);

CREATE TABLE runs (
    run_id              INTEGER PRIMARY KEY,
    job_id              INTEGER NOT NULL REFERENCES jobs(job_id),
    run_name            TEXT NOT NULL,
    trigger             TEXT NOT NULL,
    creator             TEXT,
    job_parameters      TEXT NOT NULL,    -- JSON {name: value}, current (repairs merge overrides)
    parameter_defaults  TEXT NOT NULL,    -- JSON {name: default} from the settings at creation
    life_cycle_state    TEXT NOT NULL,    -- current state (of the latest repair when repaired)
    result_state        TEXT,
    state_message       TEXT NOT NULL DEFAULT '',
    termination_code    TEXT,             -- explicit override of the derived code
    termination_type    TEXT,
    start_time          INTEGER NOT NULL, -- epoch ms
    end_time            INTEGER,
    original_state      TEXT,             -- JSON snapshot of the ORIGINAL item, set by the first repair
    admitted            INTEGER NOT NULL DEFAULT 0,
    max_concurrent_runs INTEGER,
    queue_enabled       INTEGER,
    queued_since        INTEGER,
    queue_duration      INTEGER NOT NULL DEFAULT 0,
    owner_pid           INTEGER,
    owner_identity      TEXT,             -- "<boot id>:<start ticks>" from /proc, NULL elsewhere
    owner_host          TEXT
);
CREATE INDEX runs_by_job ON runs (job_id, run_id);
CREATE INDEX runs_by_state ON runs (life_cycle_state);

CREATE TABLE repairs (
    repair_id        INTEGER PRIMARY KEY,
    run_id           INTEGER NOT NULL REFERENCES runs(run_id),
    rerun_tasks      TEXT NOT NULL,       -- JSON list of task keys
    job_parameters   TEXT,                -- JSON overrides, NULL when none
    start_time       INTEGER NOT NULL,
    end_time         INTEGER,
    life_cycle_state TEXT NOT NULL,
    result_state     TEXT,
    state_message    TEXT NOT NULL DEFAULT '',
    termination_code TEXT,
    termination_type TEXT
);
CREATE INDEX repairs_by_run ON repairs (run_id, repair_id);

CREATE TABLE task_runs (
    task_run_id             INTEGER PRIMARY KEY,
    run_id                  INTEGER NOT NULL REFERENCES runs(run_id),
    repair_id               INTEGER REFERENCES repairs(repair_id),  -- NULL: the original run
    task_key                TEXT NOT NULL,
    attempt_number          INTEGER NOT NULL,
    original_attempt_run_id INTEGER NOT NULL,
    depends_on              TEXT NOT NULL,  -- JSON [{"task_key": …, "outcome"?: …}]
    notebook_path           TEXT,
    parameters              TEXT,           -- JSON {name: value} the task received
    life_cycle_state        TEXT NOT NULL,
    result_state            TEXT,
    state_message           TEXT NOT NULL DEFAULT '',
    termination_code        TEXT,
    termination_type        TEXT,
    start_time              INTEGER,
    end_time                INTEGER,
    output_path             TEXT,
    exit_value              TEXT,
    error                   TEXT,
    error_trace             TEXT
);
CREATE INDEX task_runs_by_run ON task_runs (run_id, task_key, task_run_id);
CREATE INDEX task_runs_by_key ON task_runs (task_key, result_state);

CREATE TABLE task_values (
    task_run_id INTEGER NOT NULL REFERENCES task_runs(task_run_id),
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,  -- JSON
    set_time    INTEGER NOT NULL,
    PRIMARY KEY (task_run_id, key)
) WITHOUT ROWID;
"""

# version reached -> script upgrading from the previous version
_MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1}


# --------------------------------------------------------------------------- records


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

    @property
    def terminal(self) -> bool:
        """True once the attempt has finished."""
        return self.life_cycle_state in TERMINAL_STATES


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
        return self.life_cycle_state in TERMINAL_STATES


# --------------------------------------------------------------------------- helpers


def now_ms() -> int:
    """Current time in epoch milliseconds (the Jobs API unit)."""
    return int(time.time() * 1000)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _str_dict(values: Mapping[str, Any] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (values or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"{what} must map strings to strings; got {key!r}: {value!r}")
        out[key] = value
    return out


def _check_state(life_cycle_state: str, result_state: str | None) -> tuple[str, str | None]:
    if life_cycle_state not in _LIFE_CYCLE_STATES:
        raise ValueError(f"unknown life_cycle_state {life_cycle_state!r}; one of {sorted(_LIFE_CYCLE_STATES)}")
    if result_state is not None and result_state not in _RESULT_STATES:
        raise ValueError(f"unknown result_state {result_state!r}; one of {sorted(_RESULT_STATES)}")
    if life_cycle_state in TERMINAL_STATES:
        if result_state is None:
            defaults = {"SKIPPED": "MAXIMUM_CONCURRENT_RUNS_REACHED", "INTERNAL_ERROR": "FAILED"}
            if life_cycle_state not in defaults:
                raise ValueError(f"a {life_cycle_state} state needs a result_state")
            result_state = defaults[life_cycle_state]
    elif result_state is not None:
        raise ValueError(f"result_state {result_state!r} given for non-terminal state {life_cycle_state}")
    return life_cycle_state, result_state


def _check_code(code: str | None, type_: str | None) -> None:
    if code is not None and code not in _CODES:
        raise ValueError(f"unknown termination code {code!r}")
    if type_ is not None and type_ not in _TYPES:
        raise ValueError(f"unknown termination type {type_!r}")


_V2_STATE = {
    "QUEUED": "QUEUED", "PENDING": "PENDING", "BLOCKED": "BLOCKED", "RUNNING": "RUNNING",
    "WAITING_FOR_RETRY": "WAITING", "TERMINATING": "TERMINATING",
    "TERMINATED": "TERMINATED", "SKIPPED": "TERMINATED", "INTERNAL_ERROR": "TERMINATED",
}
_RESULT_CODE = {
    "SUCCESS": ("SUCCESS", "SUCCESS"),
    "SUCCESS_WITH_FAILURES": ("SUCCESS_WITH_FAILURES", "SUCCESS"),
    "FAILED": ("RUN_EXECUTION_ERROR", "CLIENT_ERROR"),
    "TIMEDOUT": ("CANCELED", "CLIENT_ERROR"),
    "CANCELED": ("USER_CANCELED", "SUCCESS"),
    "UPSTREAM_FAILED": ("SKIPPED", "CLIENT_ERROR"),
    "UPSTREAM_CANCELED": ("SKIPPED", "CLIENT_ERROR"),
    "EXCLUDED": ("SKIPPED", "SUCCESS"),
    "DISABLED": ("DISABLED", "SUCCESS"),
    "MAXIMUM_CONCURRENT_RUNS_REACHED": ("MAX_CONCURRENT_RUNS_EXCEEDED", "CLIENT_ERROR"),
}


def _status_for(
    life_cycle_state: str,
    result_state: str | None,
    message: str,
    *,
    code: str | None = None,
    type_: str | None = None,
    is_task: bool = False,
    max_concurrent_runs: int | None = None,
) -> tuple[jobs.RunState, jobs.RunStatus]:
    """The legacy `state` block and the new `status` block for one stored state."""
    queue_reason = None
    queue_details = None
    if life_cycle_state == "QUEUED":
        queue_reason = QUEUED_MESSAGE.format(n=max_concurrent_runs if max_concurrent_runs is not None else 1)
        queue_details = jobs.QueueDetails(code=jobs.QueueDetailsCodeCode.MAX_CONCURRENT_RUNS_REACHED,
                                          message=queue_reason)
    state = jobs.RunState(
        life_cycle_state=jobs.RunLifeCycleState(life_cycle_state),
        result_state=jobs.RunResultState(result_state) if result_state else None,
        state_message=message or "",
        queue_reason=queue_reason,
        user_cancelled_or_timedout=result_state in ("CANCELED", "TIMEDOUT"),
    )
    details = None
    if life_cycle_state in TERMINAL_STATES:
        if code is None:
            if life_cycle_state == "INTERNAL_ERROR":
                # A job run: the failed multi-task run quirk. A task run: a real internal error.
                code, dflt_type = (("INTERNAL_ERROR", "INTERNAL_ERROR") if is_task
                                   else ("RUN_EXECUTION_ERROR", "CLIENT_ERROR"))
            elif life_cycle_state == "SKIPPED":
                code, dflt_type = _RESULT_CODE["MAXIMUM_CONCURRENT_RUNS_REACHED"]
            else:
                code, dflt_type = _RESULT_CODE.get(result_state or "", ("INTERNAL_ERROR", "INTERNAL_ERROR"))
            type_ = type_ or dflt_type
        details = jobs.TerminationDetails(
            code=jobs.TerminationCodeCode(code),
            type=jobs.TerminationTypeType(type_) if type_ else None,
            message=message or "",
        )
    status = jobs.RunStatus(
        state=jobs.RunLifecycleStateV2State(_V2_STATE[life_cycle_state]),
        termination_details=details,
        queue_details=queue_details,
    )
    return state, status


# --------------------------------------------------------------------------- process identity

_BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state letter, start time in clock ticks since boot) from /proc/<pid>/stat, or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2:].split()  # after "pid (comm) "; comm may hold spaces
    return fields[0], fields[19]  # field 3 = state, field 22 = starttime


def process_identity(pid: int) -> str | None:
    """A token that changes when `pid` is reused: boot id + process start ticks (Linux), else None."""
    stat = _proc_stat(pid)
    if stat is None:
        return None
    try:
        boot = _BOOT_ID_FILE.read_text().strip()
    except OSError:
        boot = ""
    return f"{boot}:{stat[1]}"


def _pid_exists(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return not ok or code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_alive(pid: int | None, identity: str | None, host: str | None) -> bool:
    """Whether the process that owns a run still runs (unknown → assumed alive)."""
    if pid is None:
        return True
    if host and host != socket.gethostname():
        return True  # another machine's process: we cannot tell, so never close it
    if not _pid_exists(pid):
        return False
    stat = _proc_stat(pid)
    if stat is None:
        return True  # no /proc: the pid check is all we have
    if stat[0] in ("Z", "X"):
        return False  # exited, not yet reaped
    return identity is None or process_identity(pid) == identity


# --------------------------------------------------------------------------- the store


class History:
    """The run history database; one instance per process (reopened after a fork)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, busy_timeout_s: float = BUSY_TIMEOUT_S):
        """Open (and create or migrate) the history at `path`, default `paths.history_db()`."""
        self.path = Path(path) if path is not None else paths.history_db()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.runs_root = self.path.parent / "runs"
        self._busy_timeout_s = busy_timeout_s
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._connect()

    # ----- connection and transactions

    def _connect(self) -> sqlite3.Connection:
        """Open the connection with WAL, busy timeout and foreign keys, then migrate."""
        conn = sqlite3.connect(str(self.path), timeout=self._busy_timeout_s,
                               isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        self._conn, self._pid = conn, os.getpid()
        self._migrate(conn)
        return conn

    def _db(self) -> sqlite3.Connection:
        """The open connection, reopened in a forked child."""
        if self._conn is None:
            raise HistoryError(f"history {self.path} is closed")
        if self._pid != os.getpid():  # inherited through fork: never share a connection
            self._conn = None
            return self._connect()
        return self._conn

    @contextmanager
    def _tx(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        """A transaction: IMMEDIATE (write lock up front) for writes, DEFERRED for consistent reads."""
        with self._lock:
            conn = self._db()
            conn.execute(f"BEGIN {mode}")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise HistoryError(
                        f"{self.path} has schema version {version}, newer than this kit's "
                        f"{SCHEMA_VERSION}; update the kit or delete the file to start afresh")
                for target in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in _MIGRATIONS[target].split(";\n"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {target}")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> History:
        """Use as a context manager; closes on exit."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close on leaving the `with` block."""
        self.close()

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run one read statement under the instance lock (threads share the connection)."""
        with self._lock:
            return self._db().execute(sql, tuple(args)).fetchall()

    @staticmethod
    def _next_id(conn: sqlite3.Connection) -> int:
        """Next id of the shared run / task run / repair id space (inside a write transaction)."""
        return conn.execute("UPDATE id_seq SET value = value + 1 WHERE name = 'run' RETURNING value").fetchone()[0]

    # ----- jobs

    def ensure_job(self, name: str, settings: Mapping[str, Any] | jobs.JobSettings) -> int:
        """The stable local job id for `name`, registering it or updating its settings snapshot."""
        if isinstance(settings, jobs.JobSettings):
            settings = settings.as_dict()
        blob = _dumps(dict(settings))
        t = now_ms()
        with self._tx() as conn:
            row = conn.execute("SELECT job_id, settings FROM jobs WHERE name = ?", (name,)).fetchone()
            if row is None:
                return conn.execute(
                    "INSERT INTO jobs (name, settings, created_time, updated_time) VALUES (?, ?, ?, ?)",
                    (name, blob, t, t)).lastrowid
            if row["settings"] != blob:
                conn.execute("UPDATE jobs SET settings = ?, updated_time = ? WHERE job_id = ?",
                             (blob, t, row["job_id"]))
            return row["job_id"]

    def find_job(self, name: str) -> int | None:
        """The job id registered for `name`, or None."""
        row = (self._query("SELECT job_id FROM jobs WHERE name = ?", (name,)) or [None])[0]
        return row["job_id"] if row else None

    def job_settings(self, job_id: int) -> tuple[str, dict[str, Any]]:
        """(name, latest settings snapshot) of a job; RunNotFound if unknown."""
        row = (self._query("SELECT name, settings FROM jobs WHERE job_id = ?", (job_id,)) or [None])[0]
        if row is None:
            raise RunNotFound(f"job {job_id} is not in the run history {self.path}")
        return row["name"], json.loads(row["settings"])

    # ----- runs

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
        if trigger not in _TRIGGERS:
            raise ValueError(f"unknown trigger {trigger!r}; one of {sorted(_TRIGGERS)}")
        params = _str_dict(job_parameters, "job_parameters")
        pid = os.getpid() if owner_pid is None else owner_pid
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
                (run_id, job_id, run_name, trigger, creator, _dumps(params), _dumps(defaults),
                 "QUEUED" if queued else "PENDING", t, t if queued else None,
                 pid, process_identity(pid), socket.gethostname()))
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
        end = t if life_cycle_state in TERMINAL_STATES else None
        queued_since, queue_duration = row["queued_since"], row["queue_duration"]
        if life_cycle_state == "QUEUED":
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
        life_cycle_state, result_state = _check_state(life_cycle_state, result_state)
        _check_code(termination_code, termination_type)
        with self._tx() as conn:
            self._set_run_state(conn, run_id, life_cycle_state, result_state, state_message,
                                termination_code, termination_type)

    def set_job_parameters(self, run_id: int, job_parameters: Mapping[str, str]) -> None:
        """Replace a run's job parameter values (resolved once the run id exists)."""
        params = _str_dict(job_parameters, "job_parameters")
        with self._tx() as conn:
            if conn.execute("UPDATE runs SET job_parameters = ? WHERE run_id = ?",
                            (_dumps(params), run_id)).rowcount == 0:
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

    def _run_row(self, conn: sqlite3.Connection, run_id: int) -> sqlite3.Row:
        """The raw run row; RunNotFound if unknown."""
        row = conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFound(f"run {run_id} is not in the run history {self.path}")
        return row

    # ----- task runs

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
    ) -> int:
        """Record a new task run (attempt) of `task_key`; returns its task run id.

        `repair_id` None means the run's latest repair (the original run when never
        repaired). `original_attempt_run_id` defaults to the task run's own id for
        attempt 0, else to attempt 0 of the same task in the same repair. start_time is
        set now, except for BLOCKED / WAITING_FOR_RETRY (set when it starts running).
        """
        life_cycle_state, _ = _check_state(life_cycle_state, None)
        deps = [{"task_key": d} if isinstance(d, str) else dict(d) for d in depends_on]
        params = _str_dict(parameters, "parameters")
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
            start = None if life_cycle_state in ("BLOCKED", "WAITING_FOR_RETRY") else t
            conn.execute(
                """INSERT INTO task_runs (task_run_id, run_id, repair_id, task_key, attempt_number,
                       original_attempt_run_id, depends_on, notebook_path, parameters,
                       life_cycle_state, start_time)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (task_run_id, run_id, repair_id, task_key, attempt_number, original_attempt_run_id,
                 _dumps(deps), notebook_path, _dumps(params), life_cycle_state, start))
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
    ) -> None:
        """Update the given fields of a task run; entering RUNNING sets start_time, a terminal state end_time."""
        _check_code(termination_code, termination_type)
        with self._tx() as conn:
            row = conn.execute("SELECT life_cycle_state, result_state, start_time, end_time FROM task_runs "
                               "WHERE task_run_id = ?", (task_run_id,)).fetchone()
            if row is None:
                raise RunNotFound(f"task run {task_run_id} is not in the run history {self.path}")
            fields: dict[str, Any] = {}
            if life_cycle_state is not None:
                life_cycle_state, result_state = _check_state(life_cycle_state, result_state)
                fields.update(life_cycle_state=life_cycle_state, result_state=result_state)
                t = now_ms()
                if life_cycle_state == "RUNNING" and row["start_time"] is None and start_time is None:
                    start_time = t
                if life_cycle_state in TERMINAL_STATES:
                    end_time = end_time if end_time is not None else t
                    if row["start_time"] is None and start_time is None:
                        start_time = end_time
                else:
                    fields["end_time"] = None
            elif result_state is not None:
                _check_state(row["life_cycle_state"], result_state)
                fields["result_state"] = result_state
            for name, value in (("state_message", state_message), ("start_time", start_time),
                                ("end_time", end_time), ("exit_value", exit_value), ("error", error),
                                ("error_trace", error_trace), ("termination_code", termination_code),
                                ("termination_type", termination_type)):
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
        rows = [(task_run_id, str(k), _dumps(v), t) for k, v in values.items()]
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
            error_trace=row["error_trace"])

    def task_runs(self, run_id: int) -> list[TaskRunRecord]:
        """Every task run of a run (all attempts, all repairs), oldest first."""
        rows = self._query("SELECT * FROM task_runs WHERE run_id = ? ORDER BY task_run_id",
                                  (run_id,))
        return [self._task_record(r) for r in rows]

    def task_run(self, task_run_id: int) -> TaskRunRecord:
        """One task run; RunNotFound if unknown."""
        row = (self._query("SELECT * FROM task_runs WHERE task_run_id = ?", (task_run_id,)) or [None])[0]
        if row is None:
            raise RunNotFound(f"task run {task_run_id} is not in the run history {self.path}")
        return self._task_record(row)

    def latest_task_runs(self, run_id: int) -> dict[str, TaskRunRecord]:
        """The latest attempt of each task of a run, across repairs, keyed by task_key."""
        return {r.task_key: r for r in self.task_runs(run_id)}  # ordered by id: the last one wins

    def task_values(self, run_id: int) -> dict[str, dict[str, Any]]:
        """Task values per task_key, from the latest successful attempt of each task of the run."""
        rows = self._query(
            """SELECT t.task_key, v.key, v.value FROM task_values v JOIN task_runs t USING (task_run_id)
               WHERE t.task_run_id IN (SELECT MAX(task_run_id) FROM task_runs
                                       WHERE run_id = ? AND result_state = 'SUCCESS' GROUP BY task_key)
               ORDER BY t.task_key, v.key""", (run_id,))
        out: dict[str, dict[str, Any]] = {}
        for r in rows:
            out.setdefault(r["task_key"], {})[r["key"]] = json.loads(r["value"])
        return out

    def latest_success(self, job_id: int, task_key: str) -> tuple[int, int, dict[str, Any]] | None:
        """(run_id, task_run_id, task values) of the task's latest successful attempt in any run of the job."""
        row = (self._query(
            """SELECT t.run_id, t.task_run_id FROM task_runs t JOIN runs r USING (run_id)
               WHERE r.job_id = ? AND t.task_key = ? AND t.result_state = 'SUCCESS'
               ORDER BY t.end_time DESC, t.task_run_id DESC LIMIT 1""", (job_id, task_key)) or [None])[0]
        if row is None:
            return None
        return row["run_id"], row["task_run_id"], self.task_run_values(row["task_run_id"])

    # ----- repairs

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
        overrides = _str_dict(job_parameters, "job_parameters") if job_parameters is not None else None
        pid = os.getpid() if owner_pid is None else owner_pid
        t = now_ms()
        with self._tx() as conn:
            row = self._run_row(conn, run_id)
            if row["life_cycle_state"] not in TERMINAL_STATES:
                raise HistoryError(f"run {run_id} is {row['life_cycle_state']}; only a finished run can be repaired")
            current = conn.execute("SELECT MAX(repair_id) FROM repairs WHERE run_id = ?", (run_id,)).fetchone()[0]
            if latest_repair_id is not None and latest_repair_id != current:
                raise HistoryError(f"run {run_id}: latest_repair_id {latest_repair_id} is stale, "
                                   f"the latest repair is {current}")
            if current is None:  # keep the ORIGINAL item's outcome for repair_history
                snapshot = {k: row[k] for k in ("life_cycle_state", "result_state", "state_message",
                                                "termination_code", "termination_type", "end_time")}
                conn.execute("UPDATE runs SET original_state = ? WHERE run_id = ?", (_dumps(snapshot), run_id))
            repair_id = self._next_id(conn)
            conn.execute(
                """INSERT INTO repairs (repair_id, run_id, rerun_tasks, job_parameters, start_time, life_cycle_state)
                   VALUES (?, ?, ?, ?, ?, 'PENDING')""",
                (repair_id, run_id, _dumps(list(rerun_tasks)),
                 _dumps(overrides) if overrides is not None else None, t))
            params = json.loads(row["job_parameters"])
            params.update(overrides or {})
            conn.execute(
                """UPDATE runs SET life_cycle_state = 'PENDING', result_state = NULL, state_message = '',
                       end_time = NULL, termination_code = NULL, termination_type = NULL, admitted = 1,
                       job_parameters = ?, owner_pid = ?, owner_identity = ?, owner_host = ?
                   WHERE run_id = ?""",
                (_dumps(params), pid, process_identity(pid), socket.gethostname(), run_id))
            return repair_id

    def repair_count(self, run_id: int) -> int:
        """How many repairs the run has had (`{{job.repair_count}}`)."""
        return (self._query("SELECT COUNT(*) FROM repairs WHERE run_id = ?", (run_id,)) or [None])[0][0]

    def latest_repair_id(self, run_id: int) -> int | None:
        """The run's latest repair id, None when never repaired."""
        return (self._query("SELECT MAX(repair_id) FROM repairs WHERE run_id = ?", (run_id,)) or [None])[0][0]

    def repair_tasks(self, repair_id: int) -> list[str]:
        """The task keys a repair was asked to re-run."""
        row = (self._query("SELECT rerun_tasks FROM repairs WHERE repair_id = ?", (repair_id,)) or [None])[0]
        if row is None:
            raise RunNotFound(f"repair {repair_id} is not in the run history {self.path}")
        return json.loads(row[0])

    # ----- reading as Jobs API objects

    def _url(self, *parts: str) -> str:
        """file:// URL below the runs folder next to the database."""
        return self.runs_root.joinpath(*parts).resolve().as_uri()

    def _run_task(self, row: sqlite3.Row) -> jobs.RunTask:
        """A task_runs row as a jobs.RunTask (API shape)."""
        state, status = _status_for(row["life_cycle_state"], row["result_state"], row["state_message"],
                                    code=row["termination_code"], type_=row["termination_type"], is_task=True)
        start, end = row["start_time"], row["end_time"]
        duration = end - start if start is not None and end is not None else None
        params = json.loads(row["parameters"] or "{}")
        notebook = None
        resolved = None
        if row["notebook_path"]:
            notebook = jobs.NotebookTask(notebook_path=row["notebook_path"], base_parameters=params or None)
            if params:
                resolved = jobs.ResolvedValues(notebook_task=jobs.ResolvedNotebookTaskValues(base_parameters=params))
        url = (Path(row["output_path"]).resolve().as_uri() if row["output_path"]
               else self._url(str(row["run_id"]), row["task_key"]))
        return jobs.RunTask(
            task_key=row["task_key"],
            run_id=row["task_run_id"],
            attempt_number=row["attempt_number"],
            state=state,
            status=status,
            start_time=start or 0,
            end_time=end or 0,
            setup_duration=0 if duration is not None else None,
            execution_duration=duration,
            cleanup_duration=0 if duration is not None else None,
            run_duration=duration,
            depends_on=[jobs.TaskDependency.from_dict(d) for d in json.loads(row["depends_on"])] or None,
            notebook_task=notebook,
            resolved_values=resolved,
            run_page_url=url,
        )

    def _history_items(self, conn: sqlite3.Connection, run: sqlite3.Row,
                       tasks: list[sqlite3.Row]) -> list[jobs.RepairHistoryItem]:
        """repair_history: the ORIGINAL item, then one REPAIR item per repair."""
        repairs = conn.execute("SELECT * FROM repairs WHERE run_id = ? ORDER BY repair_id",
                               (run["run_id"],)).fetchall()
        original = json.loads(run["original_state"]) if repairs and run["original_state"] else dict(run)

        def item(kind: str, rid: int | None, start: int, s: Mapping[str, Any]) -> jobs.RepairHistoryItem:
            state, status = _status_for(s["life_cycle_state"], s["result_state"], s["state_message"],
                                        code=s["termination_code"], type_=s["termination_type"],
                                        max_concurrent_runs=run["max_concurrent_runs"])
            return jobs.RepairHistoryItem(
                type=jobs.RepairHistoryItemType(kind), id=rid, start_time=start, end_time=s["end_time"] or 0,
                state=state, status=status,
                task_run_ids=[t["task_run_id"] for t in tasks if t["repair_id"] == rid])

        items = [item("ORIGINAL", None, run["start_time"], original)]
        items += [item("REPAIR", r["repair_id"], r["start_time"], r) for r in repairs]
        return items

    def _run(self, conn: sqlite3.Connection, row: sqlite3.Row, *, include_tasks: bool,
             include_history: bool) -> jobs.Run:
        """A runs row as a jobs.Run (API shape)."""
        state, status = _status_for(row["life_cycle_state"], row["result_state"], row["state_message"],
                                    code=row["termination_code"], type_=row["termination_type"],
                                    max_concurrent_runs=row["max_concurrent_runs"])
        need_rows = include_tasks or include_history or row["original_state"] is not None
        task_rows = (conn.execute("SELECT * FROM task_runs WHERE run_id = ? ORDER BY task_run_id",
                                  (row["run_id"],)).fetchall() if need_rows else [])
        history = self._history_items(conn, row, task_rows) if (include_history or row["original_state"]) else []
        terminal = row["life_cycle_state"] in TERMINAL_STATES
        run_duration = None
        if terminal:  # the original run and every repair, idle time between them excluded
            spans = [(h.end_time or 0) - (h.start_time or 0) for h in history] or [row["end_time"] - row["start_time"]]
            run_duration = sum(max(0, s) for s in spans)
        queue_duration = row["queue_duration"] + (now_ms() - row["queued_since"] if row["queued_since"] else 0)
        params = json.loads(row["job_parameters"])
        defaults = json.loads(row["parameter_defaults"])
        names = list(defaults) + [n for n in params if n not in defaults]
        return jobs.Run(
            job_id=row["job_id"],
            run_id=row["run_id"],
            number_in_job=row["run_id"],
            original_attempt_run_id=row["run_id"],
            attempt_number=0,
            creator_user_name=row["creator"],
            run_name=row["run_name"],
            run_type=jobs.RunType.JOB_RUN,
            trigger=jobs.TriggerType(row["trigger"]),
            state=state,
            status=status,
            start_time=row["start_time"],
            end_time=row["end_time"] or 0,
            setup_duration=0,
            execution_duration=0,  # 0 for multi-task job runs, as in the API; see run_duration
            cleanup_duration=0,
            run_duration=run_duration,
            queue_duration=queue_duration or None,
            job_parameters=[jobs.JobParameter(name=n, default=defaults.get(n), value=params.get(n, defaults.get(n)))
                            for n in names] or None,
            tasks=[self._run_task(t) for t in task_rows] if include_tasks else None,
            repair_history=history if include_history else None,
            run_page_url=self._url(str(row["run_id"])),
        )

    def get_run(self, run_id: int, *, include_history: bool = True, include_tasks: bool = True) -> jobs.Run:
        """The run as `runs/get` returns it: every task run, repair_history, state and status."""
        with self._tx("DEFERRED") as conn:
            return self._run(conn, self._run_row(conn, run_id), include_tasks=include_tasks,
                             include_history=include_history)

    def list_runs(self, job_id: int | None = None, limit: int = 25, active_only: bool = False,
                  *, completed_only: bool = False, expand_tasks: bool = False, offset: int = 0) -> list[jobs.Run]:
        """Runs newest first, like `runs/list` (tasks only with expand_tasks)."""
        where, args = [], []
        if job_id is not None:
            where.append("job_id = ?")
            args.append(job_id)
        terminal = ", ".join(f"'{s}'" for s in TERMINAL_STATES)
        if active_only:
            where.append(f"life_cycle_state NOT IN ({terminal})")
        if completed_only:
            where.append(f"life_cycle_state IN ({terminal})")
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY run_id DESC LIMIT ? OFFSET ?"
        with self._tx("DEFERRED") as conn:
            rows = conn.execute(sql, (*args, limit, offset)).fetchall()
            return [self._run(conn, r, include_tasks=expand_tasks, include_history=False) for r in rows]

    def get_output(self, task_run_id: int) -> jobs.RunOutput:
        """`runs/get-output` for a task run: notebook result (exit value), error, trace, metadata."""
        with self._tx("DEFERRED") as conn:
            row = conn.execute("SELECT * FROM task_runs WHERE task_run_id = ?", (task_run_id,)).fetchone()
            if row is None:
                if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (task_run_id,)).fetchone():
                    raise RunNotFound(f"{task_run_id} is a job run; get_output takes the run_id of a task run "
                                      "(see tasks[].run_id)")
                raise RunNotFound(f"task run {task_run_id} is not in the run history {self.path}")
            parent = self._run_row(conn, row["run_id"])
            task = self._run_task(row)
        metadata = jobs.Run(
            job_id=parent["job_id"], run_id=row["task_run_id"], job_run_id=row["run_id"],
            number_in_job=row["task_run_id"], original_attempt_run_id=row["original_attempt_run_id"],
            attempt_number=row["attempt_number"], creator_user_name=parent["creator"],
            run_name=parent["run_name"], run_type=jobs.RunType.JOB_RUN,
            trigger=jobs.TriggerType(parent["trigger"]), state=task.state, status=task.status,
            start_time=task.start_time, end_time=task.end_time, setup_duration=task.setup_duration,
            execution_duration=task.execution_duration, cleanup_duration=task.cleanup_duration,
            run_duration=task.run_duration, run_page_url=task.run_page_url, tasks=[task])
        notebook = None
        if row["notebook_path"] and row["life_cycle_state"] in TERMINAL_STATES:
            notebook = jobs.NotebookOutput(result=row["exit_value"], truncated=False)
        return jobs.RunOutput(notebook_output=notebook, error=row["error"], error_trace=row["error_trace"],
                              metadata=metadata)

    # ----- crash safety and concurrency

    def _orphans(self, conn: sqlite3.Connection, job_id: int | None = None) -> list[sqlite3.Row]:
        """Active runs whose owner process is gone."""
        terminal = ", ".join(f"'{s}'" for s in TERMINAL_STATES)
        sql = f"SELECT * FROM runs WHERE life_cycle_state NOT IN ({terminal})"
        args: tuple[Any, ...] = ()
        if job_id is not None:
            sql, args = sql + " AND job_id = ?", (job_id,)
        rows = conn.execute(sql, args).fetchall()
        return [r for r in rows if not owner_alive(r["owner_pid"], r["owner_identity"], r["owner_host"])]

    def _close_orphans(self, conn: sqlite3.Connection, job_id: int | None = None) -> list[int]:
        """Close orphans inside the caller's write transaction; their run ids."""
        closed = []
        terminal = ", ".join(f"'{s}'" for s in TERMINAL_STATES)
        for r in self._orphans(conn, job_id):
            message = ORPHAN_MESSAGE.format(pid=r["owner_pid"])
            self._set_run_state(conn, r["run_id"], "INTERNAL_ERROR", "FAILED", message,
                                "INTERNAL_ERROR", "INTERNAL_ERROR")
            t = now_ms()
            conn.execute(
                f"""UPDATE task_runs SET life_cycle_state = 'INTERNAL_ERROR', result_state = 'FAILED',
                        state_message = ?, termination_code = 'INTERNAL_ERROR',
                        termination_type = 'INTERNAL_ERROR', end_time = ?, start_time = COALESCE(start_time, ?)
                    WHERE run_id = ? AND life_cycle_state NOT IN ({terminal})""",
                (message, t, t, r["run_id"]))
            closed.append(r["run_id"])
        return closed

    def close_orphans(self) -> list[int]:
        """Close runs whose owner process died (pid + start-time check) as INTERNAL_ERROR/FAILED; their ids."""
        with self._tx() as conn:
            return self._close_orphans(conn)

    def _slots(self, conn: sqlite3.Connection, job_id: int, run_id: int) -> tuple[int, int]:
        """(runs holding a slot, QUEUED runs ahead of run_id) for a job, orphans closed first."""
        self._close_orphans(conn, job_id)
        terminal = ", ".join(f"'{s}'" for s in TERMINAL_STATES)
        used = conn.execute(
            f"""SELECT COUNT(*) FROM runs WHERE job_id = ? AND run_id != ?
                  AND life_cycle_state NOT IN ({terminal}) AND life_cycle_state != 'QUEUED'
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
            if row["life_cycle_state"] in TERMINAL_STATES:
                raise HistoryError(f"run {run_id} already ended ({row['life_cycle_state']})")
            conn.execute("UPDATE runs SET max_concurrent_runs = ?, queue_enabled = ? WHERE run_id = ?",
                         (max_concurrent_runs, int(queue_enabled), run_id))
            used, ahead = self._slots(conn, job_id, run_id)
            if used < max_concurrent_runs and not (queue_enabled and ahead):
                conn.execute("UPDATE runs SET admitted = 1 WHERE run_id = ?", (run_id,))
                if row["life_cycle_state"] == "QUEUED":
                    self._set_run_state(conn, run_id, "PENDING", None, "")
                return "RUN"
            if queue_enabled:
                self._set_run_state(conn, run_id, "QUEUED", None, "")
                return "QUEUE"
            self._set_run_state(conn, run_id, "SKIPPED", "MAXIMUM_CONCURRENT_RUNS_REACHED",
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
                if row["life_cycle_state"] in TERMINAL_STATES:
                    return False
                if row["life_cycle_state"] != "QUEUED":
                    return True
                limit = max_concurrent_runs if max_concurrent_runs is not None else (row["max_concurrent_runs"] or 1)
                used, ahead = self._slots(conn, row["job_id"], run_id)
                if used < limit and not ahead:
                    conn.execute("UPDATE runs SET admitted = 1 WHERE run_id = ?", (run_id,))
                    self._set_run_state(conn, run_id, "PENDING", None, "")
                    return True
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"run {run_id} still queued after {timeout} s")
            time.sleep(poll_s if deadline is None else max(0.0, min(poll_s, deadline - time.monotonic())))

    def active_runs(self, job_id: int) -> list[int]:
        """Ids of the job's runs that have not ended (queued ones included)."""
        terminal = ", ".join(f"'{s}'" for s in TERMINAL_STATES)
        rows = self._query(f"SELECT run_id FROM runs WHERE job_id = ? AND life_cycle_state NOT IN ({terminal}) "
                                  "ORDER BY run_id", (job_id,))
        return [r[0] for r in rows]
