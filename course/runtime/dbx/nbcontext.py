"""`dbutils.notebook.entry_point.getDbutils().notebook().getContext()` locally.

On Databricks this is a Java object reached through Py4J: its methods return Scala
``Option``s (``.get()``, ``.isDefined()``) and a Scala ``Map`` of tags. Learners use it
for the user name, the notebook's path, and the job and run ids, directly or through
``json.loads(ctx.toJson())``. Locally the same shapes answer from the task context the
runner injects (`course.runtime.context`):

==========================  ==============================================================
``userName()``              DATABRICKS_USERNAME or the login name (as bundles see it)
``notebookPath()``          the task's notebook path without extension; interactively the
                            notebook JupyterLab opened (``__session__``), else empty
``tags()``                  jobId, jobName, runId (the task run), multitaskParentRunId and
                            jobRunId (the job run), taskKey, user: job ones only in a job
``currentRunId()``          the task run id in a job, else empty
``apiUrl()``, ``apiToken()`` empty: no workspace and no credentials here
==========================  ==============================================================
"""
from __future__ import annotations

import json
from typing import Any


class ScalaOption:
    """A Scala Option as Py4J shows it: ``get()`` raises on an empty one, like ``None.get``."""

    def __init__(self, value: Any = None) -> None:
        self._value = value

    def isDefined(self) -> bool:
        return self._value is not None

    def isEmpty(self) -> bool:
        return self._value is None

    def get(self) -> Any:
        if self._value is None:
            raise ValueError("java.util.NoSuchElementException: None.get (not set when running locally)")
        return self._value

    def getOrElse(self, default: Any) -> Any:
        return default if self._value is None else self._value

    def __repr__(self) -> str:
        return "None" if self._value is None else f"Some({self._value})"


class ScalaMap:
    """A Scala Map[String, String]: ``apply(k)``, ``get(k)`` (an Option), ``contains``, ``keySet``."""

    def __init__(self, data: dict[str, str]) -> None:
        self._data = data

    def apply(self, key: str) -> str:
        if key not in self._data:
            raise KeyError(f"java.util.NoSuchElementException: key not found: {key}")
        return self._data[key]

    def get(self, key: str) -> ScalaOption:
        return ScalaOption(self._data.get(key))

    def contains(self, key: str) -> bool:
        return key in self._data

    def keySet(self) -> list[str]:
        return list(self._data)

    def size(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return "Map(" + ", ".join(f"{k} -> {v}" for k, v in self._data.items()) + ")"


class RunId:
    def __init__(self, run_id: int) -> None:
        self._id = run_id

    def id(self) -> int:
        return self._id

    def __repr__(self) -> str:
        return f"RunId({self._id})"


def _notebook_path(ctx) -> str | None:
    if ctx is not None and ctx.notebook_path:
        return ctx.notebook_path
    from course.runtime import shell

    session = shell.user_namespace().get("__session__")  # ipykernel: the notebook JupyterLab opened
    if isinstance(session, str) and session.endswith(".ipynb"):
        return session[: -len(".ipynb")]
    return None


class NotebookContext:
    """The object `getContext()` returns."""

    def __init__(self) -> None:
        from course.platform.user import current_user
        from course.runtime import context

        ctx = context.current()
        self._user = current_user()
        self._path = _notebook_path(ctx)
        self._run = ctx.task_run_id if ctx is not None else None
        tags = {"user": self._user}
        if ctx is not None:
            ids = {"jobId": ctx.job_id, "jobName": ctx.job_name, "runId": ctx.task_run_id,
                   "multitaskParentRunId": ctx.run_id, "jobRunId": ctx.run_id, "taskKey": ctx.task_key}
            tags.update({k: str(v) for k, v in ids.items() if v is not None})
        self._tags = tags

    def userName(self) -> ScalaOption:
        return ScalaOption(self._user)

    def notebookPath(self) -> ScalaOption:
        return ScalaOption(self._path)

    def tags(self) -> ScalaMap:
        return ScalaMap(dict(self._tags))

    def currentRunId(self) -> ScalaOption:
        return ScalaOption(RunId(self._run) if self._run is not None else None)

    def jobId(self) -> ScalaOption:
        return ScalaOption(self._tags.get("jobId"))

    def apiUrl(self) -> ScalaOption:
        return ScalaOption()

    def apiToken(self) -> ScalaOption:
        return ScalaOption()

    def workspaceId(self) -> ScalaOption:
        return ScalaOption()

    def clusterId(self) -> ScalaOption:
        return ScalaOption()

    def extraContext(self) -> ScalaMap:
        return ScalaMap({"notebook_path": self._path} if self._path else {})

    def toJson(self) -> str:
        return json.dumps({
            "rootRunId": None,
            "currentRunId": {"id": self._run} if self._run is not None else None,
            "tags": self._tags,
            "extraContext": {"notebook_path": self._path} if self._path else {},
        })


    def __repr__(self) -> str:
        return f"<local notebook context: user {self._user}, notebook {self._path}, tags {self._tags}>"


class _NotebookUtils:
    def getContext(self) -> NotebookContext:
        return NotebookContext()


class _Dbutils:
    def notebook(self) -> _NotebookUtils:
        return _NotebookUtils()


class EntryPoint:
    """`dbutils.notebook.entry_point`: only ``getDbutils().notebook().getContext()``."""

    def getDbutils(self) -> _Dbutils:
        return _Dbutils()

    def __repr__(self) -> str:
        return "<local dbutils.notebook.entry_point: getDbutils().notebook().getContext()>"
