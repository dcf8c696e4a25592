"""The history's SQLite connection: opening, migrating, transactions, and the shared id space.

`Database` is the base every part of `History` builds on. One connection per process
(reopened in a forked child, never shared across a fork); threads of a process share it
under a lock. WAL journal, a busy timeout, and `BEGIN IMMEDIATE` around every write make
a decision that reads then writes (allocate an id, admit a run, close orphans, start a
repair) atomic across processes. `_tx`, `_query` and `_next_id` are for the parts of
`History` only, not for its callers.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Self, Sequence

from course.jobs.local.history.schema import MIGRATIONS, SCHEMA_VERSION
from course.platform import paths

BUSY_TIMEOUT_S = 30.0


class RunNotFound(KeyError):
    """A run or task run id that the history does not hold."""

    def __str__(self) -> str:  # KeyError would print the message with quotes
        return str(self.args[0]) if self.args else "run not found"


class HistoryError(RuntimeError):
    """A request the history refuses (repairing an active run, a newer schema, …)."""


def now_ms() -> int:
    """Current time in epoch milliseconds (the Jobs API unit)."""
    return int(time.time() * 1000)


def dumps(value: Any) -> str:
    """Compact JSON, as the history stores it in TEXT columns."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Database:
    """The open history file; one instance per process (reopened after a fork)."""

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

    def _connect(self) -> sqlite3.Connection:
        """Open the connection with WAL, busy timeout and foreign keys, then migrate."""
        conn = sqlite3.connect(str(self.path), timeout=self._busy_timeout_s,
                               isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
        self._use_wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        self._conn, self._pid = conn, os.getpid()
        self._migrate(conn)
        return conn

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        """Switch the file to WAL. Two processes opening a new history at once (two runners
        on a fresh state folder) race for this switch, and SQLite answers the loser "database
        is locked" at once, without its busy timeout: wait for the winner as the timeout would."""
        deadline = time.monotonic() + self._busy_timeout_s
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

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
        """Bring the file to SCHEMA_VERSION; refuse a file written by a newer kit."""
        with self._lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise HistoryError(
                        f"{self.path} has schema version {version}, newer than this kit's "
                        f"{SCHEMA_VERSION}; update the kit or delete the file to start afresh")
                for target in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in MIGRATIONS[target].split(";\n"):
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

    def __enter__(self) -> Self:
        """Use as a context manager; closes on exit."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close on leaving the `with` block."""
        self.close()

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run one read statement under the instance lock (threads share the connection)."""
        with self._lock:
            return self._db().execute(sql, tuple(args)).fetchall()

    def _query_one(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Row | None:
        """The first row of one read statement, or None."""
        return (self._query(sql, args) or [None])[0]

    @staticmethod
    def _next_id(conn: sqlite3.Connection) -> int:
        """Next id of the shared run / task run / repair id space (inside a write transaction)."""
        return conn.execute("UPDATE id_seq SET value = value + 1 WHERE name = 'run' RETURNING value").fetchone()[0]
