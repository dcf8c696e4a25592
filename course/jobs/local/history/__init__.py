"""Run history in SQLite: jobs, runs, task runs (every attempt), repairs, task values.

One file (`course.platform.paths.history_db()` unless a path is given), written as things
happen and shared by every process of the kit. `History` is the one object callers use:

    from course.jobs.local.history import History

    with History() as history:
        run = history.get_run(run_id)       # a jobs.Run, as runs/get returns it

Modules, one job each:
    schema      the tables, SCHEMA_VERSION and the migrations that upgrade an older file
    db          the connection (WAL, busy timeout, BEGIN IMMEDIATE writes), the errors
    records     jobs and runs: RunRecord, TaskRunRecord, create / update / read
    tasks       task runs and the task values they set
    repairs     repairs of finished runs
    processes   who owns a run and whether that process still runs (psutil)
    ownership   closing runs whose owner died (orphans)
    admission   max_concurrent_runs: run, queue or skip; waiting for a slot
    status      the Jobs API state / status blocks for a stored state
    api         jobs.Run / jobs.RunTask / jobs.RunOutput from the stored rows
    jobtable    jobs by id: list, create, rename, delete (the local workspace's Jobs API)
    history     History, the parts put together
"""
from course.jobs.local.history.admission import SKIPPED_MESSAGE
from course.jobs.local.history.db import BUSY_TIMEOUT_S, HistoryError, RunNotFound, now_ms
from course.jobs.local.history.history import History
from course.jobs.local.history.ownership import ORPHAN_MESSAGE
from course.jobs.local.history.processes import owner_alive, process_identity
from course.jobs.local.history.records import RunRecord, TaskRunRecord
from course.jobs.local.history.schema import SCHEMA_VERSION
from course.jobs.local.history.status import QUEUED_MESSAGE

__all__ = [
    "BUSY_TIMEOUT_S", "History", "HistoryError", "ORPHAN_MESSAGE", "QUEUED_MESSAGE", "RunNotFound",
    "RunRecord", "SCHEMA_VERSION", "SKIPPED_MESSAGE", "TaskRunRecord", "now_ms", "owner_alive",
    "process_identity",
]
