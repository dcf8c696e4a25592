"""The one state vocabulary of runs and task runs, as the Jobs API 2.2 names them.

Every module that classifies a state (the DAG rules, history, notifications, the
progress view, the practical check, remote runs) uses these sets and helpers, so
"failed" means the same thing everywhere. Pure: no I/O, no databricks-sdk import;
SDK enum members work wherever a string does (`value()` unwraps them).

Classification (SEMANTICS.md; where Databricks is silent the README says so):
    succeeded     SUCCESS, EXCLUDED
    failed        FAILED, TIMEDOUT, INTERNAL_ERROR
    not executed  UPSTREAM_FAILED, UPSTREAM_CANCELED, DISABLED, CANCELED
"""
from __future__ import annotations

from typing import Any, Iterable, TypeVar

# Life cycle states (the legacy `state` block the SDK's waiter still reads).
QUEUED, PENDING, BLOCKED, RUNNING = "QUEUED", "PENDING", "BLOCKED", "RUNNING"
WAITING_FOR_RETRY, TERMINATING, TERMINATED = "WAITING_FOR_RETRY", "TERMINATING", "TERMINATED"
SKIPPED, INTERNAL_ERROR = "SKIPPED", "INTERNAL_ERROR"

LIFE_CYCLE_STATES = frozenset({QUEUED, PENDING, BLOCKED, RUNNING, WAITING_FOR_RETRY, TERMINATING,
                               TERMINATED, SKIPPED, INTERNAL_ERROR})
TERMINAL_LIFE_CYCLE = frozenset({TERMINATED, SKIPPED, INTERNAL_ERROR})

# Result states (terminal runs and task runs only).
SUCCESS, FAILED, TIMEDOUT, CANCELED = "SUCCESS", "FAILED", "TIMEDOUT", "CANCELED"
EXCLUDED, DISABLED = "EXCLUDED", "DISABLED"
UPSTREAM_FAILED, UPSTREAM_CANCELED = "UPSTREAM_FAILED", "UPSTREAM_CANCELED"
SUCCESS_WITH_FAILURES = "SUCCESS_WITH_FAILURES"                  # job runs only
MAXIMUM_CONCURRENT_RUNS_REACHED = "MAXIMUM_CONCURRENT_RUNS_REACHED"  # a SKIPPED run

SUCCEEDED = frozenset({SUCCESS, EXCLUDED})
FAILED_STATES = frozenset({FAILED, TIMEDOUT, INTERNAL_ERROR})
NOT_EXECUTED = frozenset({UPSTREAM_FAILED, UPSTREAM_CANCELED, DISABLED, CANCELED})
TERMINAL_RESULTS = SUCCEEDED | FAILED_STATES | NOT_EXECUTED
# A leaf in one of these did what the job asked of it (DISABLED: switched off on purpose).
LEAF_OK = frozenset({SUCCESS, EXCLUDED, DISABLED})
# Tasks that did not run because something upstream did not succeed; a repair re-runs them.
SKIPPED_BECAUSE_OF = frozenset({UPSTREAM_FAILED, UPSTREAM_CANCELED, CANCELED})
# An attempt ending in one of these is retried (TIMEDOUT only with retry_on_timeout).
RETRYABLE = frozenset({FAILED, INTERNAL_ERROR})
# What a notification or a progress view reports as a failure of a whole run.
RUN_FAILURES = frozenset({FAILED, TIMEDOUT, INTERNAL_ERROR})


def value(enum_or_str: Any) -> str | None:
    """A state as its API string (`jobs.RunResultState.SUCCESS` -> "SUCCESS"); None stays None."""
    if enum_or_str is None:
        return None
    return str(getattr(enum_or_str, "value", enum_or_str)).upper()


def effective(life_cycle_state: Any, result_state: Any) -> str | None:
    """One word for a (life cycle, result) pair: the result once terminal, INTERNAL_ERROR as such,
    else the life cycle state (RUNNING, WAITING_FOR_RETRY, …)."""
    life, result = value(life_cycle_state), value(result_state)
    if life == INTERNAL_ERROR:
        return INTERNAL_ERROR
    return result or life


def classify(state: Any) -> str:
    """'succeeded', 'failed', 'not_run' or 'active' for a result (or life cycle) state."""
    word = value(state)
    if word in SUCCEEDED or word == SUCCESS_WITH_FAILURES:
        return "succeeded"
    if word in FAILED_STATES:
        return "failed"
    if word in NOT_EXECUTED or word in (SKIPPED, MAXIMUM_CONCURRENT_RUNS_REACHED):
        return "not_run"
    return "active"


def is_terminal(life_cycle_state: Any) -> bool:
    return value(life_cycle_state) in TERMINAL_LIFE_CYCLE


T = TypeVar("T")


def task_run_id_of(task_run: Any) -> int:
    """The id of a task run: `jobs.RunTask.run_id`, or a history record's `task_run_id`."""
    found = getattr(task_run, "task_run_id", None)
    if found is None:
        found = getattr(task_run, "run_id", None)
    return int(found or 0)


def attempts_by_task(task_runs: Iterable[T]) -> dict[str, list[T]]:
    """Task key -> its task runs (attempts and repairs) oldest first.

    The rule used everywhere: task run ids grow with every attempt a run or a repair
    adds (locally and on Databricks), while attempt numbers restart in each repair, so
    the order is by task run id."""
    by_key: dict[str, list[T]] = {}
    for tr in sorted(task_runs, key=task_run_id_of):
        by_key.setdefault(tr.task_key, []).append(tr)
    return by_key


def latest_attempts(task_runs: Iterable[T]) -> dict[str, T]:
    """Task key -> its latest task run (see `attempts_by_task` for the rule)."""
    return {key: runs[-1] for key, runs in attempts_by_task(task_runs).items()}
