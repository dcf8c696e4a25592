"""What the run loop reports, and who listens.

The loop decides and starts; everything else learns what happened from these events:
the history records them, notifications alert on them, the progress view redraws.
Listeners are called in the order they subscribed, synchronously, in the emitting
thread: the history subscribes first, so later listeners read a history that is
already up to date.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class RunStarted:
    run_id: int
    repair_id: int | None = None


@dataclass(frozen=True)
class AttemptStarted:
    run_id: int
    task_key: str
    task_run_id: int
    attempt_number: int


@dataclass(frozen=True)
class AttemptFinished:
    """A task run ended: an attempt with its outcome, or a task decided without running
    (`skipped`: UPSTREAM_FAILED, EXCLUDED, …). `last_attempt`: no retry follows."""
    run_id: int
    task_key: str
    task_run_id: int
    outcome: Any                 # executors.Outcome
    last_attempt: bool = True
    skipped: bool = False


@dataclass(frozen=True)
class RunChanged:
    """Something visible changed (a task started, is waiting for a retry, …); from the loop's thread."""
    run_id: int


@dataclass(frozen=True)
class RunFinished:
    """The run (or repair) ended with this state; `termination_code` overrides the usual one."""
    run_id: int
    life_cycle_state: str
    result_state: str
    message: str = ""
    termination_code: str | None = None


Listener = Callable[[Any], None]


class EventBus:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, event: Any) -> None:
        for listener in list(self._listeners):
            listener(event)
