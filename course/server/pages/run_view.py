"""What the run page and its live stream show, read from the run history.

`run_page` gathers one run: its tasks drawn as a graph, every attempt of every task (in
every repair), the run's parameters, its repair history, and the tasks a repair would
preselect (the failed ones and the ones skipped because of them: `dag.repair_selection`).
`live_snapshot` is the small part the page's event stream sends while the run moves.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from course.jobs.local.compute.cluster import running_uis
from course.jobs.local.history import History, TaskRunRecord
from course.jobs.model import dag, states
from course.server.pages.graph import layout


def when(ms: int | None) -> str:
    """Epoch milliseconds as local wall time, '' when unset."""
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def duration(start: int | None, end: int | None, now_ms: int | None = None) -> str:
    """'1m 05s' between two epoch-ms times (to now while still running), '' when not started."""
    if not start:
        return ""
    stop = end or now_ms
    if not stop:
        return ""
    seconds = max(0, (stop - start) // 1000)
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def task_state(tr: TaskRunRecord) -> str:
    """One word for a task run: its result once finished, else its life cycle state."""
    return states.effective(tr.life_cycle_state, tr.result_state) or "PENDING"


def run_state(life_cycle_state: str, result_state: str | None) -> str:
    """One word for a job run: its result once finished (a failed multi-task run's INTERNAL_ERROR
    life cycle is the API's quirk; its pages say FAILED, as the workspace's do), else its life cycle."""
    return states.value(result_state) or states.value(life_cycle_state) or "PENDING"


def _graph(task_runs: list[TaskRunRecord], settings: dict[str, Any], terminal: bool
           ) -> tuple[dict[str, TaskRunRecord], dict[str, tuple[str, ...]]]:
    """Latest attempt per task, and the graph to draw: while the run is active, every task of
    the job (those not started yet show PENDING); once it has ended, the tasks it ran."""
    latest = states.latest_attempts(task_runs)
    deps: dict[str, tuple[str, ...]] = {}
    for task in settings.get("tasks") or []:
        key = task.get("task_key")
        if key and (key in latest or not terminal):
            deps[key] = tuple(d.get("task_key") for d in task.get("depends_on") or [])
    for tr in task_runs:   # what actually ran wins over the job's current definition
        deps[tr.task_key] = latest[tr.task_key].depends_on
    return latest, deps


class _Task:
    """A task as `dag.repair_selection` reads it (task_key, depends_on[].task_key)."""

    class _Dep:
        def __init__(self, key: str):
            self.task_key = key

    def __init__(self, key: str, parents: tuple[str, ...]):
        self.task_key = key
        self.depends_on = [self._Dep(p) for p in parents]


def repair_preselection(deps: dict[str, tuple[str, ...]], latest: dict[str, TaskRunRecord]) -> set[str]:
    """The tasks Databricks' Repair dialog ticks: the unsuccessful ones and those skipped because of them."""
    tasks = [_Task(k, tuple(p for p in parents if p in deps)) for k, parents in deps.items()]
    return dag.repair_selection(tasks, {k: task_state(tr) for k, tr in latest.items()})


def live_snapshot(history: History, run_id: int) -> dict[str, Any]:
    """The run's state and each task's latest attempt: what the page updates without reloading."""
    record = history.run_record(run_id)
    task_runs = history.task_runs(run_id)
    latest = states.latest_attempts(task_runs)
    now = int(datetime.now().timestamp() * 1000)
    return {
        "run_id": run_id,
        "state": run_state(record.life_cycle_state, record.result_state),
        "message": record.state_message,
        "terminal": record.terminal,
        "repairs": record.repair_count,
        "attempts": len(task_runs),
        "spark_uis": [] if record.terminal else [u["url"] for u in running_uis(history.runs_root / str(run_id))],
        "tasks": {k: {"state": task_state(tr), "task_run_id": tr.task_run_id, "attempt": tr.attempt_number,
                      "duration": duration(tr.start_time, tr.end_time, now if not tr.terminal else None)}
                  for k, tr in latest.items()},
    }


def run_page(history: History, run_id: int) -> dict[str, Any]:
    """Everything the run page renders (RunNotFound for an unknown run)."""
    run = history.get_run(run_id, include_tasks=False, include_history=True)
    record = history.run_record(run_id)
    task_runs = history.task_runs(run_id)
    job_name, settings = history.job_settings(record.job_id)
    latest, deps = _graph(task_runs, settings, record.terminal)
    now = int(datetime.now().timestamp() * 1000)
    links = {k: f"/task-runs/{tr.task_run_id}" for k, tr in latest.items()}
    graph = layout(deps, {k: task_state(tr) for k, tr in latest.items()}, links)
    attempts = [{
        "task_key": tr.task_key, "task_run_id": tr.task_run_id, "attempt": tr.attempt_number,
        "repair_id": tr.repair_id, "state": task_state(tr), "start": when(tr.start_time),
        "duration": duration(tr.start_time, tr.end_time, None if tr.terminal else now),
        "message": tr.state_message} for tr in task_runs]
    repair_items = [{
        "type": item.type.value if item.type else "", "id": item.id, "start": when(item.start_time),
        "duration": duration(item.start_time, item.end_time, None),
        "state": run_state(item.state.life_cycle_state.value, item.state.result_state.value
                           if item.state.result_state else None),
        "tasks": [tr.task_key for tr in task_runs if tr.task_run_id in set(item.task_run_ids or [])]}
        for item in run.repair_history or []]
    terminal = record.terminal
    return {
        "run": record, "job_id": record.job_id, "job_name": job_name,
        "state": run_state(record.life_cycle_state, record.result_state),
        "start": when(record.start_time), "duration": duration(record.start_time, record.end_time,
                                                              None if terminal else now),
        "parameters": [(p.name, p.value, p.default) for p in run.job_parameters or []],
        "graph": graph, "attempts": attempts, "repairs": repair_items,
        "task_keys": list(deps), "preselected": repair_preselection(deps, latest) if terminal else set(),
        "latest_repair_id": record.latest_repair_id, "terminal": terminal,
        "settings_parameters": settings.get("parameters") or [],
        # the JVM is gone once the run has ended: no link then
        "spark_uis": [] if terminal else running_uis(history.runs_root / str(run_id)),
    }
