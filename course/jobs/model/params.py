"""Job and task parameters, and ``{{…}}`` dynamic value references.

Precedence for a notebook task (SEMANTICS "Parameters"):
    run-time override  >  job parameter default  >  task ``base_parameters``
Job parameters are pushed down to every notebook task; everything is a string.

Dynamic value references are resolved when a task starts (``resolve_refs``).
Job parameter values are resolved once per run in *job* context, so a default
like ``{{job.start_time.iso_date}}`` works but ``{{task.name}}`` there is an error.

Choices where Databricks does not say (also in the README):
* ``year``/``month``/``day``/``hour``/``minute``/``second`` are plain numbers
  (``7``, not ``07``); ``iso_datetime`` is ``YYYY-MM-DDTHH:MM:SS``; all UTC.
* ``{{job.trigger.type}}`` is the trigger type lower-cased (``periodic``, ``one_time``,
  ``file_arrival`` …); ``{{job.trigger.time.*}}`` is when the trigger fired (the start
  time of a run started by hand); ``{{job.trigger.file_arrival.location}}`` is
  empty unless a file arrival started the run.
* ``{{tasks.<key>.result_state}}`` is lower-case (``success``, ``failed`` …) as on Databricks.
* Non-string task values are rendered as JSON (``true``, ``3``, ``{"a": 1}``).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Collection, Iterable, Mapping

__all__ = [
    "ParamError", "RefContext", "validate_param_name", "parse_overrides",
    "job_parameter_values", "resolve_job_parameters", "notebook_parameters",
    "resolve_refs", "resolve_task_parameters", "resolve_python_arguments",
    "resolve_condition", "render_value", "TIME_ARGS",
]

_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
_REF = re.compile(r"\{\{(.*?)\}\}")
# One path segment: a `backtick-quoted` name or a plain run of non-dot characters.
_SEG = re.compile(r"`([^`]*)`|([^.`\s]+)")

TIME_ARGS = ("iso_date", "iso_datetime", "year", "month", "day", "hour", "minute", "second",
             "timestamp_ms", "iso_weekday", "is_weekday")
NAMESPACES = ("job", "task", "tasks", "workspace")


class ParamError(ValueError):
    """A bad parameter name, override, or dynamic value reference."""


@dataclass
class RefContext:
    """What ``{{…}}`` references can see; the run loop fills one per task start.

    ``tasks`` maps a task key to ``{"run_id": …, "result_state": …, "values": {…}}``
    for the tasks that have finished in this run. ``job_task_keys`` (optional)
    lets errors tell "no such task" from "has not run yet".
    """

    job_id: int | str | None = None
    job_name: str | None = None
    run_id: int | str | None = None
    repair_count: int = 0
    start_time_ms: int | None = None
    trigger_type: str | None = None
    trigger_time_ms: int | None = None
    file_arrival_location: str | None = None
    job_parameters: dict[str, str] = field(default_factory=dict)
    task_key: str | None = None
    task_run_id: int | str | None = None
    execution_count: int | None = None
    notebook_path: str | None = None
    tasks: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    workspace_id: int | str | None = None
    workspace_url: str | None = None
    job_task_keys: Collection[str] | None = None


# ---------------------------------------------------------------- names and overrides

def validate_param_name(name: str) -> str:
    """Return ``name`` if it is a valid parameter name (letters, digits, ``_ - .``)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ParamError(f"invalid parameter name {name!r}: use letters, digits, '_', '-' and '.'")
    return name


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """``["k=v", …]`` (CLI ``--param``) → ``{"k": "v"}``; the value may contain ``=``."""
    out: dict[str, str] = {}
    for item in items or ():
        name, sep, value = str(item).partition("=")
        if not sep:
            raise ParamError(f"bad parameter {item!r}: expected NAME=VALUE")
        try:
            validate_param_name(name)
        except ParamError as exc:
            raise ParamError(f"bad parameter {item!r}: {exc}") from None
        out[name] = value
    return out


def render_value(value: Any) -> str:
    """Parameters are strings: strings stay, booleans become true/false, the rest JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def job_parameter_values(settings, overrides: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Job parameter defaults with run-time overrides applied (refs not yet resolved).

    Databricks rejects a ``job_parameters`` entry the job does not define; so do we.
    """
    values = {p.name: render_value(p.default) for p in (settings.parameters or [])}
    unknown = [k for k in (overrides or {}) if k not in values]
    if unknown:
        defined = ", ".join(values) if values else "none"
        raise ParamError(f"unknown job parameter {', '.join(map(repr, unknown))} "
                         f"(defined: {defined})")
    values.update({k: render_value(v) for k, v in (overrides or {}).items()})
    return values


def resolve_job_parameters(settings, overrides: Mapping[str, Any] | None,
                           ctx: RefContext) -> dict[str, str]:
    """Job parameter values with their ``{{…}}`` references resolved in job context."""
    raw = job_parameter_values(settings, overrides)
    return {k: resolve_refs(v, ctx, where=f"job parameter '{k}'", job_scope=True)
            for k, v in raw.items()}


def notebook_parameters(task, job_params: Mapping[str, str]) -> dict[str, str]:
    """A notebook task's parameters: ``base_parameters``, then the job parameters
    (a job parameter beats a base parameter of the same name). Other task types
    get no push-down (``{}``); they use ``{{job.parameters.x}}`` explicitly."""
    nb = getattr(task, "notebook_task", None)
    if nb is None:
        return {}
    params = {k: render_value(v) for k, v in (nb.base_parameters or {}).items()}
    params.update({k: render_value(v) for k, v in job_params.items()})
    return params


# ---------------------------------------------------------------- references

def _split(content: str) -> list[str] | None:
    parts, pos = [], 0
    while True:
        m = _SEG.match(content, pos)
        if not m:
            return None
        parts.append(m.group(1) if m.group(1) is not None else m.group(2))
        pos = m.end()
        if pos == len(content):
            return parts
        if content[pos] != ".":
            return None
        pos += 1


def _time(ms: int, arg: str, ref: str) -> str:
    t = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    if arg == "iso_date":
        return t.strftime("%Y-%m-%d")
    if arg == "iso_datetime":
        return t.strftime("%Y-%m-%dT%H:%M:%S")
    if arg in ("year", "month", "day", "hour", "minute", "second"):
        return str(getattr(t, arg))
    if arg == "timestamp_ms":
        return str(int(ms))
    if arg == "iso_weekday":
        return str(t.isoweekday())
    if arg == "is_weekday":
        return "true" if t.isoweekday() <= 5 else "false"
    raise ParamError(f"{ref}: unknown time argument '{arg}' (expected one of: {', '.join(TIME_ARGS)})")


def _need(value, ref: str, what: str):
    if value is None:
        raise ParamError(f"{ref}: {what} is not available here")
    return value


def _lookup(parts: list[str], ref: str, ctx: RefContext, job_scope: bool) -> str:
    ns, rest = parts[0], parts[1:]
    unknown = ParamError(f"{ref}: unknown reference in namespace '{ns}'")
    if job_scope and (ns in ("task", "tasks") or ns == "job" and rest[:1] == ["parameters"]):
        raise ParamError(f"{ref}: not available in a job parameter (job parameters are "
                         "resolved once per run; use it in a task parameter instead)")
    if ns == "job":
        simple = {"id": ctx.job_id, "name": ctx.job_name, "run_id": ctx.run_id,
                  "repair_count": ctx.repair_count}
        if len(rest) == 1 and rest[0] in simple:
            return str(_need(simple[rest[0]], ref, f"job.{rest[0]}"))
        if len(rest) == 2 and rest[0] == "start_time":
            return _time(_need(ctx.start_time_ms, ref, "the start time"), rest[1], ref)
        if rest == ["trigger", "type"]:
            return str(_need(ctx.trigger_type, ref, "the trigger type")).lower()
        if len(rest) == 3 and rest[:2] == ["trigger", "time"]:
            ms = ctx.trigger_time_ms if ctx.trigger_time_ms is not None else ctx.start_time_ms
            return _time(_need(ms, ref, "the trigger time"), rest[2], ref)
        if rest == ["trigger", "file_arrival", "location"]:
            return ctx.file_arrival_location or ""
        if len(rest) == 2 and rest[0] == "parameters":
            if rest[1] not in ctx.job_parameters:
                defined = ", ".join(ctx.job_parameters) or "none"
                raise ParamError(f"{ref}: no job parameter '{rest[1]}' (defined: {defined})")
            return render_value(ctx.job_parameters[rest[1]])
        if len(rest) > 2 and rest[0] == "parameters":
            quoted = "`" + ".".join(rest[1:]) + "`"
            raise ParamError(f"{ref}: unknown reference; a name with dots needs backticks: "
                             f"{{{{job.parameters.{quoted}}}}}")
        raise unknown
    if ns == "task":
        simple = {"name": ctx.task_key, "run_id": ctx.task_run_id,
                  "execution_count": ctx.execution_count, "notebook_path": ctx.notebook_path}
        if len(rest) == 1 and rest[0] in simple:
            return str(_need(simple[rest[0]], ref, f"task.{rest[0]}"))
        raise unknown
    if ns == "tasks":
        if len(rest) < 2 or not (rest[1] in ("run_id", "result_state") and len(rest) == 2
                                 or rest[1] == "values" and len(rest) == 3):
            raise unknown
        key = rest[0]
        if ctx.job_task_keys is not None and key not in ctx.job_task_keys:
            raise ParamError(f"{ref}: no task '{key}' in this job "
                             f"(tasks: {', '.join(ctx.job_task_keys)})")
        info = ctx.tasks.get(key)
        if info is None:
            who = f"task '{ctx.task_key}'" if ctx.task_key else "this task"
            raise ParamError(f"{ref}: task '{key}' has not run yet; "
                             f"{who} must depend on '{key}' (directly or not) to use it")
        if rest[1] == "run_id":
            return str(_need(info.get("run_id"), ref, f"the run id of '{key}'"))
        if rest[1] == "result_state":
            state = _need(info.get("result_state"), ref, f"the result state of '{key}'")
            return str(getattr(state, "value", state)).lower()
        values = info.get("values") or {}
        if rest[2] not in values:
            has = ", ".join(values) or "none"
            raise ParamError(f"{ref}: task '{key}' did not set task value '{rest[2]}' "
                             f"(it set: {has})")
        return render_value(values[rest[2]])
    if ns == "workspace":
        simple = {"id": ctx.workspace_id, "url": ctx.workspace_url}
        if len(rest) == 1 and rest[0] in simple:
            return str(_need(simple[rest[0]], ref, f"workspace.{rest[0]}"))
        raise unknown
    raise AssertionError(ns)


def resolve_refs(text: str, ctx: RefContext, *, where: str | None = None,
                 job_scope: bool = False) -> str:
    """Replace every ``{{…}}`` reference in ``text``.

    Unknown namespaces and malformed references stay literal (as on Databricks);
    an unknown name in a known namespace, or a value that is not available,
    raises ParamError naming the reference (and ``where``, when given).
    """
    if not isinstance(text, str) or "{{" not in text:
        return text

    def sub(m: re.Match) -> str:
        parts = _split(m.group(1).strip())
        if not parts or parts[0] not in NAMESPACES:
            return m.group(0)
        try:
            return _lookup(parts, m.group(0), ctx, job_scope)
        except ParamError as exc:
            raise ParamError(f"{where}: {exc}" if where else str(exc)) from None

    return _REF.sub(sub, text)


# ---------------------------------------------------------------- per task

def _task_ctx(settings, overrides, ctx: RefContext) -> tuple[dict[str, str], RefContext]:
    job_params = resolve_job_parameters(settings, overrides, ctx)
    keys = ctx.job_task_keys if ctx.job_task_keys is not None else [t.task_key for t in settings.tasks or []]
    return job_params, replace(ctx, job_parameters=job_params, job_task_keys=keys)


def resolve_task_parameters(settings, task, overrides: Mapping[str, Any] | None,
                            ctx: RefContext) -> dict[str, str]:
    """The resolved parameters a notebook task receives as widgets.

    ``base_parameters`` are resolved in task context, then the (already resolved)
    job parameters are laid over them.
    """
    job_params, tctx = _task_ctx(settings, overrides, ctx)
    tctx = replace(tctx, task_key=tctx.task_key or task.task_key)
    base = notebook_parameters(task, {})
    resolved = {k: resolve_refs(v, tctx, where=f"task '{task.task_key}' parameter '{k}'")
                for k, v in base.items()}
    if getattr(task, "notebook_task", None) is not None:
        resolved.update(job_params)
    return resolved


def resolve_python_arguments(settings, task, overrides: Mapping[str, Any] | None,
                             ctx: RefContext) -> list[str]:
    """``spark_python_task.parameters`` (argv) with references resolved."""
    _, tctx = _task_ctx(settings, overrides, ctx)
    tctx = replace(tctx, task_key=tctx.task_key or task.task_key)
    spt = getattr(task, "spark_python_task", None)
    return [resolve_refs(render_value(a), tctx, where=f"task '{task.task_key}' argument {i}")
            for i, a in enumerate((spt.parameters or []) if spt else [])]


def resolve_condition(settings, task, overrides: Mapping[str, Any] | None,
                      ctx: RefContext) -> tuple[str, str]:
    """A condition task's ``(left, right)`` operands with references resolved."""
    _, tctx = _task_ctx(settings, overrides, ctx)
    tctx = replace(tctx, task_key=tctx.task_key or task.task_key)
    cond = task.condition_task
    return (resolve_refs(cond.left, tctx, where=f"task '{task.task_key}' condition left"),
            resolve_refs(cond.right, tctx, where=f"task '{task.task_key}' condition right"))
