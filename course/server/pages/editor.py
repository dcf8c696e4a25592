"""The job editor's writes: a job's form saved into a bundle YAML file, the learner's comments kept.

The form sends the fields it edits (name, parameters, schedule, and per task its notebook,
depends_on, run_if, job cluster, retries, timeout). `apply` puts them into the file's
`resources.jobs.<key>` with ruamel.yaml's round-trip mode, so comments, key order and
every field the form does not show (notifications, base_parameters, targets …) stay as
the learner wrote them; a task the form no longer lists is removed. `save` checks the
result with the kit's own loader before replacing the file: a job that would not load is
refused in one sentence and the file is unchanged.
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from course.jobs.spec import JobSpecError, load_job

KEY = re.compile(r"^[A-Za-z0-9_-]+$")
RUN_IFS = ("ALL_SUCCESS", "AT_LEAST_ONE_SUCCESS", "NONE_FAILED", "ALL_DONE", "AT_LEAST_ONE_FAILED", "ALL_FAILED")
DAILY_2AM = "0 0 2 * * ?"   # the form's "daily at 2 AM" helper (Quartz: seconds first, ? for day-of-week)
NEW_FILE_HEADER = "# Jobs made in the local workspace's job editor. Edit freely: the editor keeps your comments.\n"


class EditorError(ValueError):
    """The form's content is not a job: one sentence saying which field and why."""


def _yaml() -> YAML:
    yaml = YAML()          # round-trip: comments and order survive
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    yaml.width = 100
    return yaml


def _text(form: dict, name: str, where: str, *, required: bool = False) -> str:
    value = form.get(name, "")
    if not isinstance(value, (str, int)):
        raise EditorError(f"{where}{name} must be text")
    value = str(value).strip()
    if required and not value:
        raise EditorError(f"{where}{name} is empty")
    return value


def _count(form: dict, name: str, where: str) -> int:
    value = _text(form, name, where) or "0"
    if not value.isdigit():
        raise EditorError(f"{where}{name} must be a whole number of 0 or more, not {value!r}")
    return int(value)


def _set(node: CommentedMap, key: str, value: Any, *, keep_if: bool = True) -> None:
    """Set `key` when `keep_if`, else remove it (so defaults do not clutter the learner's file)."""
    if keep_if:
        node[key] = value
    elif key in node:
        del node[key]


def _task(existing: CommentedMap | None, form: dict, index: int, bundle_dir: Path) -> CommentedMap:
    where = f"tasks[{index}]."
    node = existing if existing is not None else CommentedMap()
    key = _text(form, "task_key", where, required=True)
    if not KEY.match(key):
        raise EditorError(f"{where}task_key {key!r}: use letters, digits, _ and - only")
    node["task_key"] = key
    deps = [d for d in form.get("depends_on") or [] if d]
    _set(node, "depends_on", CommentedSeq([CommentedMap(task_key=d) for d in deps]), keep_if=bool(deps))
    run_if = _text(form, "run_if", where) or "ALL_SUCCESS"
    if run_if not in RUN_IFS:
        raise EditorError(f"{where}run_if {run_if!r} is not one of {', '.join(RUN_IFS)}")
    _set(node, "run_if", run_if, keep_if=run_if != "ALL_SUCCESS")
    cluster = _text(form, "job_cluster_key", where)
    _set(node, "job_cluster_key", cluster, keep_if=bool(cluster))
    notebook = _text(form, "notebook_path", where, required=True)
    path = Path(notebook)
    relative = os.path.relpath(path, bundle_dir) if path.is_absolute() else notebook
    if not relative.startswith((".", "/")):
        relative = "./" + relative
    task = node.get("notebook_task")
    if not isinstance(task, CommentedMap):
        task = node["notebook_task"] = CommentedMap()
    task["notebook_path"] = relative
    retries, timeout = _count(form, "max_retries", where), _count(form, "timeout_seconds", where)
    _set(node, "max_retries", retries, keep_if=retries > 0)
    _set(node, "timeout_seconds", timeout, keep_if=timeout > 0)
    return node


def apply(doc: CommentedMap, job_key: str, form: dict, bundle_dir: Path) -> None:
    """Write the form into `doc` (a round-trip loaded bundle) under resources.jobs.<job_key>."""
    if not KEY.match(job_key or ""):
        raise EditorError(f"job key {job_key!r}: use letters, digits, _ and - only")
    resources = doc.setdefault("resources", CommentedMap())
    jobs = resources.setdefault("jobs", CommentedMap())
    job = jobs.get(job_key)
    if not isinstance(job, CommentedMap):
        job = jobs[job_key] = CommentedMap()
    job["name"] = _text(form, "name", "", required=True)
    params = [p for p in form.get("parameters") or [] if str(p.get("name", "")).strip()]
    old_params = {p.get("name"): p for p in job.get("parameters") or [] if isinstance(p, CommentedMap)}
    new_params = CommentedSeq()
    for p in params:
        node = old_params.get(p["name"].strip()) or CommentedMap()
        node["name"], node["default"] = p["name"].strip(), str(p.get("default", ""))
        new_params.append(node)
    _set(job, "parameters", new_params, keep_if=bool(new_params))
    schedule = form.get("schedule") or {}
    expr = _text(schedule, "quartz_cron_expression", "schedule.")
    if expr:
        node = job.get("schedule") if isinstance(job.get("schedule"), CommentedMap) else CommentedMap()
        node["quartz_cron_expression"] = expr
        node["timezone_id"] = _text(schedule, "timezone_id", "schedule.") or "UTC"
        node["pause_status"] = "PAUSED" if schedule.get("paused") else "UNPAUSED"
        job["schedule"] = node
    elif "schedule" in job:
        del job["schedule"]
    tasks = form.get("tasks") or []
    if not tasks:
        raise EditorError("a job needs at least one task")
    old_tasks = {t.get("task_key"): t for t in job.get("tasks") or [] if isinstance(t, CommentedMap)}
    keys = [str(t.get("task_key", "")).strip() for t in tasks]
    seq = job.get("tasks") if isinstance(job.get("tasks"), CommentedSeq) else CommentedSeq()
    seq[:] = [_task(old_tasks.get(k), t, i, bundle_dir) for i, (k, t) in enumerate(zip(keys, tasks))]
    job["tasks"] = seq


def render(path: Path, job_key: str, form: dict) -> str:
    """The file's text after saving the form (the "view as YAML" pane); the file is not touched."""
    yaml = _yaml()
    if path.exists():
        doc = yaml.load(path.read_text(encoding="utf-8")) or CommentedMap()
    else:
        doc = yaml.load(NEW_FILE_HEADER + "bundle:\n  name: my_jobs\n")
    apply(doc, job_key, form, path.parent)
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def save(path: Path, job_key: str, form: dict):
    """Write the form into `path` if the result loads as a job; returns the LoadedJob.
    EditorError (file unchanged) when the form or the resulting job is wrong."""
    text = render(path, job_key, form)
    tmp = path.with_name(f".{path.name}.editor-tmp.yml")
    tmp.write_text(text, encoding="utf-8")
    try:
        load_job(tmp, job_key=job_key)
    except JobSpecError as exc:
        tmp.unlink(missing_ok=True)
        raise EditorError(str(exc).replace(str(tmp), str(path))) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return load_job(path, job_key=job_key)


def set_pause(path: Path, job_key: str, block: str, paused: bool):
    """Set `pause_status` of the job's `schedule` / `trigger` / `continuous` block in its bundle file,
    comments kept; returns the job as it now loads (EditorError, file unchanged, if it does not)."""
    yaml = _yaml()
    doc = yaml.load(path.read_text(encoding="utf-8"))
    job = ((doc or {}).get("resources") or {}).get("jobs", {}).get(job_key)
    if not isinstance(job, CommentedMap) or not isinstance(job.get(block), CommentedMap):
        raise EditorError(f"{path}: resources.jobs.{job_key}.{block} is not in this file (set in a target or "
                          "an included file?): pause it where it is defined")
    job[block]["pause_status"] = "PAUSED" if paused else "UNPAUSED"
    out = io.StringIO()
    yaml.dump(doc, out)
    tmp = path.with_name(f".{path.name}.editor-tmp.yml")
    tmp.write_text(out.getvalue(), encoding="utf-8")
    try:
        load_job(tmp, job_key=job_key)
    except JobSpecError as exc:
        tmp.unlink(missing_ok=True)
        raise EditorError(str(exc).replace(str(tmp), str(path))) from None
    os.replace(tmp, path)
    return load_job(path, job_key=job_key)
