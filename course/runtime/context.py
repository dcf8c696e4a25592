"""The task context the runner hands to a notebook (or `.py` task), read at call time.

Contract with the runner:

* Notebook tasks: papermill injects ONE parameter, ``day7_task`` (a dict), into
  the injected-parameters cell, so it sits in the notebook's global namespace
  before the ``try: dbutils / except NameError`` idiom cell runs.
* ``.py`` tasks (spark_python_task, run as a subprocess): the environment
  variable ``DAY7_TASK`` holds the same dict as JSON.

The global wins over the environment variable. No context → interactive mode.
The dict::

    {"job_id": 1, "job_name": "day7", "run_id": 12, "task_key": "silver",
     "task_run_id": 15, "attempt_number": 0, "repair_count": 0,
     "parameters": {"source_path": "..."},        # final widget values, strings
     "task_values": {"bronze": {"rows_written": 123}},  # upstream values, this run
     "output_dir": "/abs/.day7/runs/12/silver/attempt-0",
     "notebook_path": "/abs/course/notebooks/silver"}

Every key is optional; ``parameters`` / ``task_values`` default to empty.
Reading it on every call (not at import) lets one kernel switch modes, e.g. a
learner can paste a ``day7_task = {...}`` cell to rehearse a job run.
"""
from __future__ import annotations

import json
import os
from typing import Any, Mapping, NamedTuple

from course.runtime import shell

CONTEXT_VARIABLE = "day7_task"
CONTEXT_ENV = "DAY7_TASK"


class TaskContext(NamedTuple):
    """What a task run knows about itself; mirrors `day7_task`.

    A NamedTuple, not a dataclass: `dataclasses` pulls in `inspect` (~18 ms),
    too much for an import every notebook pays.
    """

    job_id: int | None = None
    job_name: str | None = None
    run_id: int | None = None
    task_key: str | None = None
    task_run_id: int | None = None
    attempt_number: int = 0
    repair_count: int = 0
    parameters: Mapping[str, str] = {}
    task_values: Mapping[str, Mapping[str, Any]] = {}
    output_dir: str | None = None
    notebook_path: str | None = None   # the notebook task's path, without its extension

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = CONTEXT_VARIABLE) -> "TaskContext":
        if not isinstance(data, Mapping):
            raise ValueError(f"{source} must be a dict, got {type(data).__name__}")
        unknown = set(data) - set(cls._fields)
        if unknown:
            raise ValueError(f"{source} has unknown keys: {sorted(unknown)}")
        params = data.get("parameters") or {}
        values = data.get("task_values") or {}
        if not isinstance(params, Mapping) or not isinstance(values, Mapping):
            raise ValueError(f"{source}: 'parameters' and 'task_values' must be dicts")
        return cls(
            **{k: v for k, v in data.items() if k not in ("parameters", "task_values")},
            # Widget values are always strings on Databricks.
            parameters={str(k): str(v) for k, v in params.items()},
            task_values={str(k): dict(v) for k, v in values.items()},
        )

    def to_dict(self) -> dict[str, Any]:
        data = self._asdict()
        data["parameters"] = dict(self.parameters)
        data["task_values"] = {k: dict(v) for k, v in self.task_values.items()}
        return data


_env_cache: tuple[str, TaskContext] | None = None


def current() -> TaskContext | None:
    """The context of the task being run, or None when interactive."""
    global _env_cache
    raw = shell.user_namespace().get(CONTEXT_VARIABLE)
    if raw is not None:
        if isinstance(raw, TaskContext):
            return raw
        return TaskContext.from_dict(raw)
    env = os.environ.get(CONTEXT_ENV)
    if not env:
        return None
    if _env_cache is None or _env_cache[0] != env:
        try:
            data = json.loads(env)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{CONTEXT_ENV} is not valid JSON: {exc}") from None
        _env_cache = (env, TaskContext.from_dict(data, source=CONTEXT_ENV))
    return _env_cache[1]


def in_job() -> bool:
    """True under the runner (a task context is present)."""
    return current() is not None
