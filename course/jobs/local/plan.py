"""What one execution works on: a new run (all tasks, or `--layer` ones), or a repair.

Planning reads the job and the history and decides the scope; it starts nothing.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from course.jobs.model import dag


class RunError(Exception):
    """Nothing was run: the request cannot be carried out (message says why)."""


@dataclass
class Scope:
    """What one execution (a run, or a repair of it) works on."""
    run_id: int
    repair_id: int | None
    repair_count: int
    job_parameters: dict[str, str]
    start_time_ms: int
    tasks: list                    # every task the DAG functions see (run + already decided)
    to_run: set[str]               # the keys this execution runs
    results: dict[str, str]        # key -> result state, pre-filled for tasks kept as they were
    values: dict[str, dict]        # key -> task values
    outcomes: dict[str, str]       # condition task key -> "true"/"false"
    task_run_ids: dict[str, int]   # key -> latest task run id (for {{tasks.x.run_id}})


def layer_scope(by_key: dict, layers: list[str] | None) -> list[str]:
    """The task keys a new run runs: all, or the `--layer` ones (unknown names refused)."""
    if not layers:
        return list(by_key)
    unknown = [k for k in layers if k not in by_key]
    if unknown:
        raise RunError(f"--layer {', '.join(unknown)}: no such task (tasks: {', '.join(by_key)})")
    return list(dict.fromkeys(layers))


def provided_upstream(settings, by_key: dict, history, job_id: int, scope: list[str]) -> dict[str, dict]:
    """For --layer: each outside dependency's result from the latest successful run."""
    provided: dict[str, dict] = {}

    def lend(key: str) -> bool:
        found = history.latest_success(job_id, key)
        if found is not None:
            provided[key] = {"run_id": found[0], "task_run_id": found[1], "values": found[2]}
        return found is not None

    for key in scope:
        for dep in by_key[key].depends_on or []:
            if dep.task_key in scope or dep.task_key in provided:
                continue
            if not lend(dep.task_key):
                raise RunError(f"task '{key}' needs a successful '{dep.task_key}' first and no run has one: "
                               f"run `python runner.py --layer {dep.task_key}` (or the whole job) first")
    # Tasks further upstream lend their values too when they have some: a notebook may read
    # any upstream task's values (gold reading bronze's), not only its direct dependencies'.
    further = dag.upstream(settings.tasks, scope) - set(scope) - set(provided)
    for key in (k for k in by_key if k in further):
        lend(key)
    return provided


def run_scope(settings, record, job_params: dict[str, str], scope_keys: list[str],
              provided: dict[str, dict]) -> Scope:
    """A new run: provided upstream tasks count as already done, and their own
    dependencies are not part of this run."""
    tasks = [t if t.task_key in scope_keys else dataclasses.replace(t, depends_on=None)
             for t in settings.tasks if t.task_key in scope_keys or t.task_key in provided]
    return Scope(record.run_id, None, 0, job_params, record.start_time, tasks, set(scope_keys),
                 {k: "SUCCESS" for k in provided}, {k: v["values"] for k, v in provided.items()},
                 {}, {k: v["task_run_id"] for k, v in provided.items()})


def repair_selection(settings, latest: dict, run_id: int, rerun_tasks: list[str] | None,
                     rerun_dependents: bool) -> set[str]:
    """The task keys a repair re-runs (Databricks' default: the unsuccessful ones and
    those skipped because of them)."""
    results = {k: tr.result_state or tr.life_cycle_state for k, tr in latest.items()}
    try:
        selected = dag.repair_selection(list(settings.tasks), results, rerun_tasks=rerun_tasks or None,
                                        rerun_all_failed=not rerun_tasks, rerun_dependents=rerun_dependents)
    except ValueError as exc:
        raise RunError(str(exc)) from None
    if not selected:
        raise RunError(f"run {run_id} has nothing to repair: every task succeeded "
                       "(name tasks with --task to run them again)")
    return selected


def repair_scope(settings, by_key: dict, record, repair_id: int, repair_count: int, job_params: dict[str, str],
                 latest: dict, values: dict, selected: set[str]) -> Scope:
    """A repair: selected tasks run again, the others keep their results and values."""
    results = {k: tr.result_state or tr.life_cycle_state for k, tr in latest.items()}
    kept = {k: r for k, r in results.items() if k not in selected and k in by_key}
    # A task the original run never reached (its runner died first) and the repair
    # did not select stays not run: it counts as canceled for its dependents.
    kept.update({k: "CANCELED" for k in by_key if k not in selected and k not in kept})
    outcomes = {k: latest[k].exit_value for k in kept
                if by_key[k].condition_task is not None and latest[k].exit_value}
    return Scope(record.run_id, repair_id, repair_count, job_params, record.start_time,
                 list(settings.tasks), selected, kept, {k: values.get(k, {}) for k in kept}, outcomes,
                 {k: latest[k].task_run_id for k in kept})
