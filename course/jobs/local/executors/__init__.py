"""One executor per task type, in one table.

A task type is the `*_task` field a Jobs API task sets (`notebook_task`, …). Its executor
is a module with `execute(AttemptRequest) -> Outcome` and `NEEDS_COMPUTE` (whether the
attempt waits for the task's job cluster first). A new task type is a new module here
plus one line in `EXECUTORS`; a type not in the table is refused with one sentence.
"""
from __future__ import annotations

import dataclasses
import importlib
from types import ModuleType

from course.jobs.local.executors.base import Attempt, AttemptRequest, Outcome  # noqa: F401 (the executor API)

# task type -> module under course.jobs.local.executors (imported when a task of that type runs)
EXECUTORS = {
    "notebook_task": "notebook",
    "spark_python_task": "python_file",
    "condition_task": "condition",
    "python_wheel_task": "python_wheel",
    "sql_task": "sql",
    "for_each_task": "for_each",
    "run_job_task": "run_job",
}


class UnsupportedTask(Exception):
    """A task type the kit cannot run locally."""


def task_type(task) -> str:
    """The task's `*_task` field name (`notebook_task`, …), or "unknown"."""
    return next((f.name for f in dataclasses.fields(task) if f.name.endswith("_task")
                 and getattr(task, f.name) is not None), "unknown")


def refusal(task) -> str | None:
    """Why `task` (or the task a for_each_task runs) cannot run locally, or None: the types
    without an executor in `EXECUTORS`, said before anything starts."""
    kind = task_type(task)
    if kind == "for_each_task" and task.for_each_task.task is not None:
        nested = refusal(task.for_each_task.task)
        if nested:
            return f"in for_each_task '{task.task_key}', {nested}"
    if kind == "sql_task":
        sql = task.sql_task
        for part, what in (("query", "a saved query"), ("alert", "an alert"), ("dashboard", "a dashboard")):
            if getattr(sql, part) is not None:
                return (f"task '{task.task_key}' runs {what} (sql_task.{part}), which lives in a Databricks "
                        "workspace and cannot run locally; a sql_task with a file can")
    if kind in EXECUTORS:
        return None
    known = list(EXECUTORS)
    return f"task '{task.task_key}' is a {kind}, which cannot run locally (the kit runs {', '.join(known)})"


def executor_for(task) -> ModuleType:
    kind = task_type(task)
    if kind not in EXECUTORS:
        known = list(EXECUTORS)
        raise UnsupportedTask(f"{kind} tasks cannot run locally ({', '.join(known[:-1])} and {known[-1]} can)")
    return importlib.import_module(f"{__name__}.{EXECUTORS[kind]}")


def task_record(task) -> dict:
    """What the history keeps of the task's type: `task_type` and that field as defined."""
    kind = task_type(task)
    field = getattr(task, kind, None)
    return {"task_type": kind, "task_settings": field.as_dict() if field is not None else None}


def task_path(task) -> str | None:
    """The file a task runs (shown in the history), if it runs one."""
    if task.notebook_task is not None:
        return task.notebook_task.notebook_path
    if task.spark_python_task is not None:
        return task.spark_python_task.python_file
    if task.sql_task is not None and task.sql_task.file is not None:
        return task.sql_task.file.path
    return None
