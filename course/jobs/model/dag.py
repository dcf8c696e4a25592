"""Pure functions over a job's task graph and task states.

Nothing here does I/O or imports databricks-sdk: tasks are read duck-typed
(``task_key``, ``depends_on[].task_key/.outcome``, ``run_if``, ``disabled``,
``condition_task``) so ``jobs.Task`` objects work and tests stay fast. States
are Jobs API ``result_state`` strings (``jobs.RunResultState`` members work too).

The rules follow /work/shared/SEMANTICS.md; where Databricks is silent the
choice is written next to the code and in the module docstrings below.

Classification (SEMANTICS):
    succeeded     SUCCESS, EXCLUDED
    failed        FAILED, TIMEDOUT, INTERNAL_ERROR
    not executed  UPSTREAM_FAILED, UPSTREAM_CANCELED, DISABLED, CANCELED
"""
from __future__ import annotations

import heapq
from collections import deque
from typing import Callable, Iterable, Mapping, NamedTuple, Sequence

from course.jobs.model.conditions import evaluate_condition  # re-exported: dag is the rules module
from course.jobs.model.states import value as _state
from course.jobs.model.states import (FAILED_STATES, LEAF_OK, NOT_EXECUTED, SKIPPED_BECAUSE_OF, SUCCEEDED,  # noqa: F401
                                      TERMINAL_RESULTS)

__all__ = [
    "RUN", "SUCCEEDED", "FAILED_STATES", "NOT_EXECUTED", "TERMINAL", "SKIPPED_BECAUSE_OF",
    "GraphError", "JobResult",
    "validate_graph", "find_cycle", "topological_order", "upstream", "downstream", "leaves",
    "dependents", "decide", "ready", "simulate", "job_result", "repair_selection",
    "evaluate_condition",
]

RUN = "RUN"

TERMINAL = TERMINAL_RESULTS

SUCCESS_RUN_IFS = frozenset({"ALL_SUCCESS", "AT_LEAST_ONE_SUCCESS", "NONE_FAILED"})
FAILURE_RUN_IFS = frozenset({"AT_LEAST_ONE_FAILED", "ALL_FAILED"})
RUN_IFS = SUCCESS_RUN_IFS | FAILURE_RUN_IFS | {"ALL_DONE"}


class GraphError(ValueError):
    """A structural problem in the task graph.

    ``kind`` is ``duplicate``, ``missing`` or ``cycle``; ``task_index`` /
    ``dep_index`` locate it in ``tasks[i].depends_on[j]`` so spec.py can print a
    field path; ``cycle`` lists the keys of a cycle (first key repeated last).
    """

    def __init__(self, message: str, *, kind: str, task_index: int, dep_index: int | None = None,
                 cycle: Sequence[str] = ()):
        super().__init__(message)
        self.kind, self.task_index, self.dep_index, self.cycle = kind, task_index, dep_index, list(cycle)


class JobResult(NamedTuple):
    """How a finished run rolls up: its result_state and the task that explains it."""

    result_state: str
    task_key: str | None  # the (first) failed / canceled task, None on SUCCESS


# ---------------------------------------------------------------- accessors



def _deps(task) -> list[str]:
    return [d.task_key for d in (task.depends_on or [])]


def _run_if(task) -> str:
    return _state(getattr(task, "run_if", None)) or "ALL_SUCCESS"


def _index(tasks: Iterable) -> dict:
    return {t.task_key: t for t in tasks}


# ---------------------------------------------------------------- graph shape

def find_cycle(tasks: Sequence) -> list[str] | None:
    """A dependency cycle as ``[a, b, c, a]`` (a depends on b …), or None."""
    by_key = _index(tasks)
    colour: dict[str, int] = {}  # 1 = on the DFS stack, 2 = done
    for start in by_key:
        if colour.get(start):
            continue
        stack: list[tuple[str, Iterable[str]]] = [(start, iter(_deps(by_key[start])))]
        path = [start]
        colour[start] = 1
        while stack:
            key, it = stack[-1]
            nxt = next((d for d in it if d in by_key), None)
            if nxt is None:
                colour[key] = 2
                stack.pop()
                path.pop()
            elif colour.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not colour.get(nxt):
                colour[nxt] = 1
                stack.append((nxt, iter(_deps(by_key[nxt]))))
                path.append(nxt)
    return None


def validate_graph(tasks: Sequence) -> None:
    """Raise GraphError on a duplicate task key, a missing dependency or a cycle."""
    seen: dict[str, int] = {}
    for i, t in enumerate(tasks):
        if t.task_key in seen:
            raise GraphError(f"duplicate task key '{t.task_key}' (also tasks[{seen[t.task_key]}])",
                             kind="duplicate", task_index=i)
        seen[t.task_key] = i
    names = ", ".join(seen)
    for i, t in enumerate(tasks):
        for j, dep in enumerate(_deps(t)):
            if dep not in seen:
                raise GraphError(f"task '{dep}' does not exist (tasks: {names})",
                                 kind="missing", task_index=i, dep_index=j)
    cycle = find_cycle(tasks)
    if cycle:
        raise GraphError("dependency cycle: " + " -> ".join(cycle),
                         kind="cycle", task_index=seen[cycle[0]], cycle=cycle)


def topological_order(tasks: Sequence) -> list[str]:
    """Keys with every task after its dependencies; ties keep definition order.

    Raises GraphError when the graph is not a DAG.
    """
    validate_graph(tasks)
    order_of = {t.task_key: i for i, t in enumerate(tasks)}
    waiting = {t.task_key: len(set(_deps(t))) for t in tasks}
    children = dependents(tasks)
    heap = [order_of[k] for k, n in waiting.items() if n == 0]
    heapq.heapify(heap)
    keys = [t.task_key for t in tasks]
    out: list[str] = []
    while heap:
        key = keys[heapq.heappop(heap)]
        out.append(key)
        for child in children[key]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(heap, order_of[child])
    return out


def dependents(tasks: Sequence) -> dict[str, list[str]]:
    """Direct dependents of every task: ``{key: [keys that depend on it]}``."""
    out: dict[str, list[str]] = {t.task_key: [] for t in tasks}
    for t in tasks:
        for dep in dict.fromkeys(_deps(t)):
            if dep in out:
                out[dep].append(t.task_key)
    return out


def _closure(start: Iterable[str], edges: Mapping[str, Iterable[str]]) -> set[str]:
    seen: set[str] = set()
    todo = deque(start)
    while todo:
        for nxt in edges.get(todo.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def upstream(tasks: Sequence, keys: Iterable[str]) -> set[str]:
    """Every task the given tasks depend on, directly or not (not the keys themselves,
    unless one of them is upstream of another)."""
    return _closure(keys, {t.task_key: _deps(t) for t in tasks})


def downstream(tasks: Sequence, keys: Iterable[str]) -> set[str]:
    """Every task that depends on one of the given tasks, directly or not."""
    return _closure(keys, dependents(tasks))


def leaves(tasks: Sequence) -> list[str]:
    """Tasks nothing depends on, in definition order (they decide the run's result)."""
    children = dependents(tasks)
    return [t.task_key for t in tasks if not children[t.task_key]]


# ---------------------------------------------------------------- run_if

CANCELED_STATES = frozenset({"CANCELED", "UPSTREAM_CANCELED"})


def _met(run_if: str, states: list[str]) -> bool:
    ok = sum(s in SUCCEEDED for s in states)
    bad = sum(s in FAILED_STATES for s in states)
    if run_if in FAILURE_RUN_IFS:
        # Databricks, conditional tasks: a cancellation propagates downstream and the
        # failure-handling tasks run (a cleanup task runs after a canceled task).
        bad += sum(s in CANCELED_STATES for s in states)
    if run_if == "ALL_SUCCESS":
        return ok == len(states)
    if run_if == "AT_LEAST_ONE_SUCCESS":
        return ok > 0
    if run_if == "NONE_FAILED":
        return bad == 0 and ok + bad > 0  # "executed" = succeeded or failed
    if run_if == "ALL_DONE":
        return True
    if run_if == "AT_LEAST_ONE_FAILED":
        return bad > 0
    if run_if == "ALL_FAILED":
        return bad == len(states)
    raise ValueError(f"unknown run_if {run_if!r} (expected one of: {', '.join(sorted(RUN_IFS))})")


def decide(task, dep_results: Mapping[str, object],
           dep_outcomes: Mapping[str, object] | None = None) -> str | None:
    """What happens to ``task`` given its dependencies' result states.

    Returns ``"RUN"``, a terminal result state for a task that will not run
    (``EXCLUDED``, ``UPSTREAM_FAILED``, ``UPSTREAM_CANCELED``, ``DISABLED``), or
    None while some dependency has not finished. ``dep_outcomes`` holds the
    ``"true"``/``"false"`` outcome of finished condition tasks.

    Order of the rules:
    1. ``disabled: true`` → DISABLED at once (Databricks decides it at run creation).
    2. No dependencies → RUN. Some dependency not terminal → None.
    3. A ``depends_on[].outcome`` that a successful condition task did not
       produce → EXCLUDED (the branch is not taken; Databricks docs, If/else task).
    4. Every dependency EXCLUDED → EXCLUDED, whatever run_if.
    5. run_if met (SEMANTICS table + classification) → RUN.
    6. Not met:
       * DISABLED when it would have been met had the DISABLED parents run as
         run_if hoped, and (for success-requiring run_ifs) no other parent
         failed or was canceled — Databricks "Disabled tasks" page: a task whose
         run_if can't be met *because* a parent is disabled is disabled too;
         a real failure upstream is never masked;
       * AT_LEAST_ONE_FAILED / ALL_FAILED → EXCLUDED (a canceled parent counts as
         failed for them: Databricks runs failure-handling tasks after a cancel);
       * otherwise UPSTREAM_CANCELED when the only bad parents were canceled
         (CANCELED / UPSTREAM_CANCELED), else UPSTREAM_FAILED. (Our choice.)
    """
    if getattr(task, "disabled", None):
        return "DISABLED"
    deps = task.depends_on or []
    if not deps:
        return RUN
    states = [_state(dep_results.get(d.task_key)) for d in deps]
    if any(s not in TERMINAL for s in states):
        return None
    outcomes = dep_outcomes or {}
    for d, s in zip(deps, states):
        if d.outcome is not None and s == "SUCCESS":
            got = outcomes.get(d.task_key)
            got = str(got).lower() if got is not None else None
            if got != str(d.outcome).lower():
                return "EXCLUDED"
    if all(s == "EXCLUDED" for s in states):
        return "EXCLUDED"
    run_if = _run_if(task)
    if _met(run_if, states):
        return RUN
    blocked_by_failure = any(s in FAILED_STATES or s == "UPSTREAM_FAILED" for s in states)
    canceled = any(s in CANCELED_STATES for s in states)
    if "DISABLED" in states:
        failure_handler = run_if in FAILURE_RUN_IFS
        stand_in = "FAILED" if failure_handler else "SUCCESS"
        if (_met(run_if, [stand_in if s == "DISABLED" else s for s in states])
                and (failure_handler or not (blocked_by_failure or canceled))):
            return "DISABLED"
    if run_if in FAILURE_RUN_IFS:
        return "EXCLUDED"
    return "UPSTREAM_CANCELED" if canceled and not blocked_by_failure else "UPSTREAM_FAILED"


def _dep_views(task, results: Mapping[str, object], outcomes: Mapping[str, object]):
    keys = _deps(task)
    return ({k: results[k] for k in keys if k in results},
            {k: outcomes[k] for k in keys if k in outcomes})


def ready(tasks: Sequence, results: Mapping[str, object], running: Iterable[str] = (),
          outcomes: Mapping[str, object] | None = None) -> list[str]:
    """Tasks not started (not in ``results`` nor ``running``) whose decision is known,
    in topological order. Call ``decide`` on each to learn whether to run or skip it."""
    running = set(running)
    outcomes = outcomes or {}
    by_key = _index(tasks)
    out = []
    for key in topological_order(tasks):
        if key in results or key in running:
            continue
        if decide(by_key[key], *_dep_views(by_key[key], results, outcomes)) is not None:
            out.append(key)
    return out


def simulate(tasks: Sequence, run: Callable[[str], str],
             outcome: Callable[[str], object] | None = None,
             results: Mapping[str, object] | None = None) -> dict[str, str]:
    """Play a whole run without executing anything: ``run(key)`` gives the result
    state of each task that runs, ``outcome(key)`` the outcome of a condition task.
    ``results`` pre-seeds kept results (a repair). Returns every task's final state.
    Useful for dry runs and for testing the rules end to end."""
    final = {k: _state(v) for k, v in (results or {}).items()}
    outs: dict[str, object] = {}
    by_key = _index(tasks)
    for key in topological_order(tasks):  # deps always finish before dependents
        if key in final:
            continue
        task = by_key[key]
        decision = decide(task, *_dep_views(task, final, outs))
        final[key] = _state(run(key)) if decision == RUN else decision
        if decision == RUN and getattr(task, "condition_task", None) is not None and outcome:
            outs[key] = outcome(key)
    return final


# ---------------------------------------------------------------- results

def job_result(tasks: Sequence, results: Mapping[str, object]) -> JobResult:
    """Roll a finished run's task states up into the run's result_state.

    * any task CANCELED → CANCELED (the run was canceled);
    * any leaf not in SUCCESS/EXCLUDED/DISABLED → FAILED;
    * every leaf fine but some task failed (or was skipped for it) → SUCCESS_WITH_FAILURES;
    * else SUCCESS.
    A task TIMEDOUT (its own ``timeout_seconds``) is a failed task, so a TIMEDOUT
    leaf makes the run FAILED; a run is TIMEDOUT only when the *job's*
    ``timeout_seconds`` stops it, which the run loop reports itself.
    ``task_key`` names the first (topological order) failed task — the one the
    "Task <key> failed with message: …" state message is about.
    """
    states = {t.task_key: _state(results.get(t.task_key)) for t in tasks}
    missing = [k for k, s in states.items() if s not in TERMINAL]
    if missing:
        raise ValueError(f"run not finished: no terminal state for {', '.join(missing)}")
    order = topological_order(tasks)
    canceled = [k for k in order if states[k] == "CANCELED"]
    if canceled:
        return JobResult("CANCELED", canceled[0])
    failed = [k for k in order if states[k] in FAILED_STATES]
    bad_leaves = [k for k in leaves(tasks) if states[k] not in LEAF_OK]
    if bad_leaves:
        return JobResult("FAILED", failed[0] if failed else bad_leaves[0])
    unsuccessful = failed or [k for k in order if states[k] in SKIPPED_BECAUSE_OF]
    if unsuccessful:
        return JobResult("SUCCESS_WITH_FAILURES", unsuccessful[0])
    return JobResult("SUCCESS", None)


def repair_selection(tasks: Sequence, results: Mapping[str, object],
                     rerun_tasks: Iterable[str] | None = None,
                     rerun_all_failed: bool = False,
                     rerun_dependents: bool = False) -> set[str]:
    """The task keys a repair re-runs.

    * ``rerun_tasks``: those tasks; ``rerun_all_failed`` or neither: every
      unsuccessful task (failed, canceled, skipped or never finished).
    * Always added: tasks skipped because of a selected task (UPSTREAM_FAILED /
      UPSTREAM_CANCELED / CANCELED downstream of it, through skipped tasks) —
      otherwise they would stay skipped and the run could not recover.
    * ``rerun_dependents``: every downstream task too, even successful ones.
    Raises ValueError for unknown keys or both selectors at once.
    """
    by_key = _index(tasks)
    if rerun_tasks is not None and rerun_all_failed:
        raise ValueError("rerun_tasks and rerun_all_failed are mutually exclusive")
    states = {k: _state(results.get(k)) for k in by_key}
    if rerun_tasks is not None:
        chosen = list(dict.fromkeys(rerun_tasks))
        unknown = [k for k in chosen if k not in by_key]
        if unknown:
            raise ValueError(f"unknown task {', '.join(map(repr, unknown))} "
                             f"(tasks: {', '.join(by_key)})")
        selected = set(chosen)
    else:
        selected = {k for k, s in states.items() if s not in SUCCEEDED and s != "DISABLED"}
    children = dependents(tasks)
    todo = deque(selected)
    while todo:  # close over "skipped because of"
        for child in children[todo.popleft()]:
            if child not in selected and states[child] in SKIPPED_BECAUSE_OF:
                selected.add(child)
                todo.append(child)
    if rerun_dependents:
        selected |= downstream(tasks, selected)
    return selected
