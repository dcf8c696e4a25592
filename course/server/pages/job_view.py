"""What the jobs list and a job's page show: recent runs × tasks, settings, trigger, next fire times."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

import yaml

from course.jobs.local.history import History
from course.jobs.model import cron, states
from course.server.pages.run_view import duration, run_state, task_state, when

YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)   # libyaml when present: ~5x faster
MATRIX_RUNS = 20   # Databricks' matrix shows the recent runs; older ones are a click away in runs/list


def trigger_of(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The job's one trigger in words, whether it is paused, and the next fire times of a schedule."""
    schedule = settings.get("schedule")
    if schedule:
        expr, tz = schedule.get("quartz_cron_expression", ""), schedule.get("timezone_id") or "UTC"
        paused = schedule.get("pause_status") == "PAUSED"
        try:
            words = cron.describe_schedule(expr)
            nxt = cron.next_fire_times(expr, tz, datetime.now(timezone.utc), 5)
            fires = [t.strftime("%Y-%m-%d %H:%M %Z") for t in nxt]
            problem = ""
        except (cron.TriggerError, ValueError) as exc:
            words, fires, problem = expr, [], str(exc)
        return {"kind": "schedule", "words": words, "expression": expr, "timezone": tz, "paused": paused,
                "next": [] if paused else fires, "problem": problem, "block": "schedule"}
    trigger = settings.get("trigger")
    if trigger:
        paused = trigger.get("pause_status") == "PAUSED"
        if trigger.get("file_arrival"):
            words = f"when files arrive in {trigger['file_arrival'].get('url', '?')}"
        elif trigger.get("periodic"):
            p = trigger["periodic"]
            words = f"every {p.get('interval')} {str(p.get('unit', '')).lower()}"
        else:
            words = "a trigger"
        return {"kind": "trigger", "words": words, "paused": paused, "next": [], "problem": "", "block": "trigger"}
    if settings.get("continuous"):
        paused = settings["continuous"].get("pause_status") == "PAUSED"
        return {"kind": "continuous", "words": "continuously, a new run as each one ends", "paused": paused,
                "next": [], "problem": "", "block": "continuous"}
    return {"kind": "manual", "words": "manually (no schedule or trigger)", "paused": False, "next": [],
            "problem": "", "block": None}


def task_keys(settings: Mapping[str, Any]) -> list[str]:
    return [t.get("task_key", "?") for t in settings.get("tasks") or []]


def matrix(history: History, job_id: int, keys: list[str]) -> dict[str, Any]:
    """Recent runs (newest first) × tasks: each cell the task's latest attempt in that run.

    Task runs are read as history records (one indexed query per run), not as API objects:
    the API shape resolves a file URL per task run, which is most of the time on a busy disk."""
    runs = history.list_runs(job_id=job_id, limit=MATRIX_RUNS)
    columns, rows_seen = [], list(keys)
    for run in runs:
        latest = states.latest_attempts(history.task_runs(run.run_id))
        for key in latest:
            if key not in rows_seen:
                rows_seen.append(key)   # a task since removed from the job still shows in old runs
        life = run.state.life_cycle_state.value if run.state and run.state.life_cycle_state else "PENDING"
        result = run.state.result_state.value if run.state and run.state.result_state else None
        columns.append({
            "run_id": run.run_id, "state": run_state(life, result), "start": when(run.start_time),
            "duration": duration(run.start_time, run.end_time or None, None),
            "trigger": run.trigger.value if run.trigger else "",
            "cells": {k: {"state": task_state(t), "task_run_id": t.task_run_id} for k, t in latest.items()},
        })
    return {"task_keys": rows_seen, "runs": columns}


def job_page(history: History, job_id: int, name: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the job page renders."""
    keys = task_keys(settings)
    return {
        "job_id": job_id, "name": name, "settings": settings,
        "settings_yaml": yaml.dump(dict(settings), Dumper=YAML_DUMPER, sort_keys=False, default_flow_style=False),
        "trigger": trigger_of(settings), "matrix": matrix(history, job_id, keys),
        "parameters": [(p.get("name"), p.get("default", "")) for p in settings.get("parameters") or []],
        "tasks": [{"key": t.get("task_key"), "depends_on": [d.get("task_key") for d in t.get("depends_on") or []],
                   "what": _what(t), "run_if": t.get("run_if", ""), "retries": t.get("max_retries", 0),
                   "timeout": t.get("timeout_seconds", 0), "cluster": t.get("job_cluster_key", "")}
                  for t in settings.get("tasks") or []],
    }


def _what(task: Mapping[str, Any]) -> str:
    """What a task runs, in a few words."""
    if "notebook_task" in task:
        return "notebook " + str(task["notebook_task"].get("notebook_path", ""))
    if "spark_python_task" in task:
        return "python " + str(task["spark_python_task"].get("python_file", ""))
    if "condition_task" in task:
        c = task["condition_task"]
        return f"if {c.get('left')} {c.get('op')} {c.get('right')}"
    kinds = [k for k in task if k.endswith("_task")]
    return kinds[0] if kinds else ""


def jobs_list(history: History, jobs: list[tuple[int, str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """One line per job: name, trigger, its latest run."""
    out = []
    for job_id, name, settings in jobs:
        last = history.list_runs(job_id=job_id, limit=1)
        run = last[0] if last else None
        state = ""
        if run is not None and run.state and run.state.life_cycle_state:
            state = run_state(run.state.life_cycle_state.value,
                              run.state.result_state.value if run.state.result_state else None)
        out.append({"job_id": job_id, "name": name, "trigger": trigger_of(settings), "tasks": len(settings.get("tasks") or []),
                    "last_run": run.run_id if run else None, "last_state": state,
                    "last_start": when(run.start_time) if run else ""})
    return out


__all__ = ["job_page", "jobs_list", "matrix", "trigger_of"]
