"""`dbutils.jobs.taskValues`: pass small JSON values from a task to the tasks after it.

In a job run (a task context is present) `set` records a scrap (notebooks) or
writes ``task_values.json`` in the output_dir (``.py`` tasks) for the runner to
collect, and `get` reads what upstream tasks of this run set. Outside a job run
`set` only keeps the value in this process and `get` returns `debugValue`, as
on Databricks.
"""
from __future__ import annotations

import json
from typing import Any

from course.runtime import context, scraps, shell

MAX_VALUE_BYTES = 48 * 1024  # "The size of the JSON representation of the value cannot exceed 48 KiB."
NO_DEBUG_VALUE = "Must pass debugValue when calling get outside of a job context. debugValue cannot be None."


class TaskValues:
    """dbutils.jobs.taskValues"""

    def __init__(self) -> None:
        self._local: dict[str, Any] = {}  # values this task set (latest wins)
        self._said_interactive = False

    def set(self, key: str, value: Any) -> None:
        """Set a task value: JSON-serialisable, at most 48 KiB as (compact, UTF-8) JSON."""
        if not isinstance(key, str) or not key:
            raise TypeError(f"taskValues.set: key must be a non-empty string, got {key!r}")
        try:
            text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"taskValues.set({key!r}): the value must be JSON-serialisable; "
                f"got {type(value).__name__} ({exc})"
            ) from None
        size = len(text.encode("utf-8"))
        if size > MAX_VALUE_BYTES:
            raise ValueError(
                f"taskValues.set({key!r}): the value is {size} bytes as JSON, "
                f"more than the {MAX_VALUE_BYTES} bytes (48 KiB) a task value may hold"
            )
        value = json.loads(text)  # what the next task will see (tuples → lists, …)
        self._local[key] = value

        ctx = context.current()
        if ctx is None:
            if not self._said_interactive:
                self._said_interactive = True
                print("taskValues.set: not in a job run, so the value is only kept in this "
                      "session (taskValues.get returns its debugValue here).")
            return
        if shell.kernel_shell() is not None:
            scraps.emit_scrap(scraps.TASK_VALUE_PREFIX + key, value)
        elif ctx.output_dir:
            scraps.write_task_value_file(ctx.output_dir, key, value)

    def get(self, taskKey: str, key: str, default: Any = None, debugValue: Any = None) -> Any:
        """The value `taskKey` set for `key` in this job run.

        Missing task or key: `default`, or ValueError when no default was given.
        Outside a job run: `debugValue`, or TypeError when none was given.
        """
        ctx = context.current()
        if ctx is None:
            if debugValue is None:
                raise TypeError(NO_DEBUG_VALUE)
            return debugValue
        values = dict(ctx.task_values.get(taskKey, {}))
        if taskKey == ctx.task_key:
            values.update(self._local)  # a task can read back what it set itself
        if key in values:
            return values[key]
        if default is not None:
            return default
        known = {task: sorted(vals) for task, vals in ctx.task_values.items()}
        raise ValueError(
            f"taskValues.get: task {taskKey!r} set no value {key!r} in this run "
            f"(values available: {known or 'none'}); pass default=... to allow that"
        )

    def __repr__(self) -> str:
        return "dbutils.jobs.taskValues: set(key, value), get(taskKey, key, default=None, debugValue=None)"


class Jobs:
    """dbutils.jobs"""

    def __init__(self) -> None:
        self.taskValues = TaskValues()

    def __repr__(self) -> str:
        return "dbutils.jobs: taskValues"
