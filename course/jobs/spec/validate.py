"""Validation against the databricks-sdk dataclasses, then the checks ``from_dict`` cannot do.

Unknown fields are found by walking the ``JobSettings`` dataclasses' type hints
(``from_dict`` silently drops them); the same walk checks enum values, required
fields and scalar types, converting ``"3"`` → 3 where a variable produced a string.
Then ``check_settings`` checks the graph, retries, clusters, parameter names and
the schedule's Quartz grammar.
"""
from __future__ import annotations

import dataclasses
import enum
import json
import re
import typing
from functools import cache
from pathlib import Path
from typing import Any

from course.jobs.model import dag
from course.jobs.model.cron import validate_quartz_cron
from course.jobs.model.params import ParamError, validate_param_name
from course.jobs.spec.errors import JobSpecError, join, names, suggest

__all__ = ["clean", "check_settings", "check_runnable", "build"]


# ---------------------------------------------------------------- dataclass walk

@cache
def _hints(tp) -> dict[str, Any]:
    return typing.get_type_hints(tp)


@cache
def _required(tp) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(tp)
                 if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)


def clean(value: Any, tp: Any, path: str, file: Path) -> Any:
    """Check ``value`` against the SDK type ``tp``; return it with scalars coerced."""
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
        origin = typing.get_origin(tp)

    def bad(expected: str):
        return JobSpecError(file, path, f"expected {expected}, got {type(value).__name__} {value!r}")

    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise bad("a mapping")
        hints, out = _hints(tp), {}
        for k, v in value.items():
            if k not in hints:
                raise JobSpecError(file, join(path, f".{k}"),
                                   f"unknown field '{k}'{suggest(k, hints)}")
            c = clean(v, hints[k], join(path, f".{k}"), file)
            if c is not None:
                out[k] = c
        for k in _required(tp):
            if k not in out:
                raise JobSpecError(file, path, f"missing required field '{k}'")
        return out
    if origin is list:
        if not isinstance(value, list):
            raise bad("a list")
        (item_tp,) = typing.get_args(tp) or (Any,)
        return [c for i, v in enumerate(value)
                if (c := clean(v, item_tp, f"{path}[{i}]", file)) is not None]
    if origin is dict:
        if not isinstance(value, dict):
            raise bad("a mapping")
        _, val_tp = typing.get_args(tp) or (str, Any)
        return {str(k): clean(v, val_tp, join(path, f".{k}"), file) for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        options = [e.value for e in tp]
        if value not in options:
            raise JobSpecError(file, path, f"invalid value {value!r}{suggest(value, options)} "
                                           f"(expected one of: {', '.join(options)})")
        return value
    if tp is str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if tp is bool:
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if tp is int:
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
        return value
    if tp is float:
        if isinstance(value, bool):
            raise bad("a number")
        if isinstance(value, (int, float)):
            return value
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad("a number") from None
    return value


# ---------------------------------------------------------------- checks from_dict cannot do

def check_settings(s, prefix: str, file_of, default_file: Path) -> None:
    """Checks ``from_dict`` cannot do. ``file_of(task_key)`` names the declaring file."""
    tasks = s.tasks or []
    tpath = lambda i: join(prefix, f".tasks[{i}]")  # noqa: E731
    tfile = lambda i: file_of(tasks[i].task_key)  # noqa: E731
    if s.timeout_seconds is not None and s.timeout_seconds < 0:
        raise JobSpecError(default_file, join(prefix, ".timeout_seconds"),
                           f"must be >= 0 (0 = no timeout), got {s.timeout_seconds}")
    seen_params: set[str] = set()
    for i, p in enumerate(s.parameters or []):
        where = join(prefix, f".parameters[{i}].name")
        try:
            validate_param_name(p.name)
        except ParamError as exc:
            raise JobSpecError(default_file, where, str(exc)) from None
        if p.name in seen_params:
            raise JobSpecError(default_file, where, f"duplicate job parameter '{p.name}'")
        seen_params.add(p.name)
    clusters = [c.job_cluster_key for c in s.job_clusters or []]
    for i, key in enumerate(clusters):
        if key in clusters[:i]:
            raise JobSpecError(default_file, join(prefix, f".job_clusters[{i}].job_cluster_key"),
                               f"duplicate job cluster key '{key}'")
    try:
        dag.validate_graph(tasks)
    except dag.GraphError as exc:
        i = exc.task_index
        sub = {"duplicate": ".task_key", "missing": f".depends_on[{exc.dep_index}]",
               "cycle": ".depends_on"}[exc.kind]
        raise JobSpecError(tfile(i), tpath(i) + sub, str(exc)) from None
    by_key = {t.task_key: t for t in tasks}
    for i, t in enumerate(tasks):
        if not any(getattr(t, f.name) is not None for f in dataclasses.fields(t) if f.name.endswith("_task")):
            raise JobSpecError(tfile(i), tpath(i), f"task '{t.task_key}' has no task type "
                                                   "(e.g. notebook_task, spark_python_task, condition_task)")
        for j, d in enumerate(t.depends_on or []):
            if d.outcome is None:
                continue
            where = tpath(i) + f".depends_on[{j}].outcome"
            if d.outcome not in ("true", "false"):
                raise JobSpecError(tfile(i), where, f"outcome must be \"true\" or \"false\", got {d.outcome!r}")
            if by_key[d.task_key].condition_task is None:
                raise JobSpecError(tfile(i), where,
                                   f"outcome '{d.outcome}' needs a condition task upstream, "
                                   f"but '{d.task_key}' is not a condition_task")
        if t.max_retries is not None and t.max_retries < -1:
            raise JobSpecError(tfile(i), tpath(i) + ".max_retries",
                               f"must be -1 (retry forever), 0 or more, got {t.max_retries}")
        for name in ("min_retry_interval_millis", "timeout_seconds"):
            v = getattr(t, name)
            if v is not None and v < 0:
                raise JobSpecError(tfile(i), tpath(i) + f".{name}", f"must be >= 0, got {v}")
        if t.job_cluster_key and t.job_cluster_key not in clusters:
            raise JobSpecError(tfile(i), tpath(i) + ".job_cluster_key",
                               f"job cluster '{t.job_cluster_key}' is not defined "
                               f"(job_clusters: {names(clusters)})")
        for k in ((t.notebook_task.base_parameters or {}) if t.notebook_task else {}):
            try:
                validate_param_name(k)
            except ParamError as exc:
                raise JobSpecError(tfile(i), tpath(i) + f".notebook_task.base_parameters.{k}",
                                   str(exc)) from None
        if t.for_each_task is not None:
            _check_for_each(t.for_each_task, tpath(i) + ".for_each_task", tfile(i))
    _check_trigger(s, prefix, default_file)
    _refuse_backfill_refs(s.as_dict(), prefix, default_file)
    if s.schedule is not None:
        try:
            validate_quartz_cron(s.schedule.quartz_cron_expression)
        except ValueError as exc:
            raise JobSpecError(default_file, join(prefix, ".schedule.quartz_cron_expression"),
                               f"bad Quartz cron: {exc}") from None


_BACKFILL_REF = re.compile(r"\{\{\s*backfill\.[^}]*\}\}")


def _refuse_backfill_refs(value: Any, path: str, file: Path) -> None:
    """`{{backfill.*}}` only has a value in a Databricks backfill run, which the kit cannot
    start: refused at load rather than left literal in a parameter."""
    if isinstance(value, dict):
        for k, v in value.items():
            _refuse_backfill_refs(v, join(path, f".{k}"), file)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _refuse_backfill_refs(v, f"{path}[{i}]", file)
    elif isinstance(value, str) and (m := _BACKFILL_REF.search(value)):
        raise JobSpecError(file, path, f"{m.group(0)}: backfill references are not supported locally "
                                       "(only a Databricks backfill run sets them; the kit runs no backfills)")


def _check_for_each(spec, path: str, file: Path) -> None:
    """What the Jobs API refuses in a for_each_task: `concurrency` outside 1..100, and
    written-out `inputs` that are not a JSON array (a `{{reference}}` is checked when it runs)."""
    if spec.task is not None and spec.task.for_each_task is not None:
        raise JobSpecError(file, path + ".task.for_each_task",
                           "a for_each_task cannot run another for_each_task (nor can it on Databricks)")
    if spec.concurrency is not None and not 1 <= spec.concurrency <= 100:
        raise JobSpecError(file, path + ".concurrency", f"must be between 1 and 100, got {spec.concurrency}")
    if "{{" in spec.inputs:
        return
    try:
        items = json.loads(spec.inputs)
    except ValueError:
        items = None
    if not isinstance(items, list):
        raise JobSpecError(file, path + ".inputs", f"expected a JSON array (or a {{{{reference}}}} to one), "
                                                   f"got {spec.inputs[:80]!r}")


TRIGGER_MINIMUM_SECONDS = 60  # the Jobs API: "The minimum allowed value is 60 seconds"


def _check_trigger(s, prefix: str, file: Path) -> None:
    """Databricks refuses trigger waits under 60 s; so does the kit (a local demo included)."""
    trigger = s.trigger
    for kind in ("file_arrival", "table_update", "model"):
        config = getattr(trigger, kind, None) if trigger else None
        for name in ("min_time_between_triggers_seconds", "wait_after_last_change_seconds"):
            v = getattr(config, name, None)
            if v is not None and v < TRIGGER_MINIMUM_SECONDS:
                raise JobSpecError(file, join(prefix, f".trigger.{kind}.{name}"),
                                   f"must be at least {TRIGGER_MINIMUM_SECONDS} seconds (as on Databricks), "
                                   f"got {v}; leave it out to fire as soon as a change is seen")


def check_runnable(s, prefix: str, file_of) -> None:
    """For a local run: a task type without an executor (spark_jar_task, dbt_task, …) is
    refused now, naming the task and the type, before any cluster starts."""
    from course.jobs.local.executors import refusal

    for i, t in enumerate(s.tasks or []):
        why = refusal(t)
        if why:
            raise JobSpecError(file_of(t.task_key), join(prefix, f".tasks[{i}]"), why)


def build(job: dict, prefix: str, file_of, default_file: Path):
    """``jobs.JobSettings`` from a substituted job dict, or the first JobSpecError."""
    from databricks.sdk.service import jobs
    cleaned = clean(job, jobs.JobSettings, prefix, default_file)
    settings = jobs.JobSettings.from_dict(cleaned)
    check_settings(settings, prefix, file_of, default_file)
    return settings
