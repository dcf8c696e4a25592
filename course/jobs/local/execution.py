"""The state one run (or repair) shares between the loop thread and the task workers:
the job, the history, the event bus, the compute, and whether the run was cancelled."""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from course.jobs.local.events import EventBus
from course.jobs.model import states
from course.jobs.model.dag import FAILURE_RUN_IFS


@dataclass
class RunOptions:
    overrides: dict[str, str] = field(default_factory=dict)
    layers: list[str] | None = None          # --layer: run only these tasks
    max_parallel: int = 4
    trigger: str = "ONE_TIME"
    trigger_time_ms: int | None = None            # when the trigger fired (default: the run's start)
    file_arrival_location: str | None = None      # FILE_ARRIVAL: the watched url
    on_update: Callable[[Any], None] | None = None   # called with a jobs.Run after each change
    on_note: Callable[[str], None] | None = None     # one-line notes for the person watching
    max_queue_seconds: float = 48 * 3600             # Databricks: "queued for up to 48 hours"
    calling_jobs: tuple[int, ...] = ()               # run_job_task: the jobs whose tasks started this run


class Execution:
    """Shared by the loop and the workers of one LocalRunner."""

    def __init__(self, settings, history, options: RunOptions):
        self.settings = settings
        self.history = history
        self.options = options
        self.by_key = {t.task_key: t for t in settings.tasks or []}
        self.bus = EventBus()
        self.cancel_reason: str | None = None  # "CANCELED" or "TIMEDOUT" (job timeout)
        self.hard_cancel = False               # a second cancel: not even cleanup tasks run
        self.trigger = options.trigger         # a repair keeps the trigger of the run it repairs
        self.job_id: int | None = None
        self.run_dir: Path | None = None
        self.compute = None                    # compute.manager.Compute while a scope executes
        self.loaded = None                     # spec.LoadedJob (artifacts, library paths), set by LocalRunner
        self.events: queue.Queue = queue.Queue()   # workers -> loop: ("changed" | "done", key, payload)
        self._attempts: dict[str, Any] = {}
        self._attempt_tasks: dict[str, Any] = {}   # label -> its task (for-each iterations are not in by_key)
        self.recorder: Callable[[Any], None] = lambda event: None  # the history listener, for iterations
        self._lock = threading.RLock()  # re-entrant: cancel() may run in a signal handler

    def note(self, text: str) -> None:
        if self.options.on_note:
            self.options.on_note(text)

    def changed(self, task_key: str) -> None:
        """Tell the loop something about this task changed (it redraws from its own thread)."""
        self.events.put(("changed", task_key, None))

    def cancel(self, why: str = "CANCELED") -> None:
        """Stop the run: running attempts are killed, nothing new starts except the
        failure-handling tasks a user cancel lets run; a second cancel stops those too."""
        with self._lock:
            if self.cancel_reason:
                self.hard_cancel = True
            else:
                self.cancel_reason = why
            attempts = list(self._attempts.values())
        for attempt in attempts:
            attempt.stop("CANCELED")

    def may_run_after_cancel(self, task) -> bool:
        """Databricks runs the tasks whose run_if handles failure (AT_LEAST_ONE_FAILED,
        ALL_FAILED) after a cancel, e.g. a cleanup task. Not after the job's own timeout
        (the run's time is up: the kit's choice) nor after a second cancel."""
        run_if = states.value(getattr(task, "run_if", None)) or "ALL_SUCCESS"
        return self.cancel_reason == "CANCELED" and not self.hard_cancel and run_if in FAILURE_RUN_IFS

    def cluster_lost(self, cluster_key: str, message: str) -> None:
        """A job cluster died: the attempts running on it end now (INTERNAL_ERROR, retryable)."""
        with self._lock:
            # a for-each task runs nothing on the cluster itself: its iterations end (and retry)
            hit = [a for k, a in self._attempts.items() if self._attempt_tasks[k].for_each_task is None
                   and self.compute.cluster_key(self._attempt_tasks[k]) == cluster_key]
        for attempt in hit:
            attempt.stop("INTERNAL_ERROR", message)

    def begin_attempt(self, label: str, attempt, task=None) -> bool:
        """Register a running attempt under `label` (its task key, or `key[i]` for an iteration)
        so a cancel can stop it; False once the run is cancelled, unless the task is one a
        cancel lets run."""
        task = task or self.by_key[label]
        with self._lock:
            if self.cancel_reason and not self.may_run_after_cancel(task):
                return False
            self._attempts[label] = attempt
            self._attempt_tasks[label] = task
            return True

    def end_attempt(self, label: str) -> None:
        with self._lock:
            self._attempts.pop(label, None)
            self._attempt_tasks.pop(label, None)

    def stop_attempts(self, prefix: str, why: str = "CANCELED") -> None:
        """Stop the running attempts whose label starts with `prefix` (a for-each's iterations)."""
        with self._lock:
            hit = [a for k, a in self._attempts.items() if k.startswith(prefix)]
        for attempt in hit:
            attempt.stop(why)

    def running_attempt(self, task_key: str) -> bool:
        return task_key in self._attempts

    def refill(self, scope, pool) -> None:
        """A task took its kernel: have one warming for the next task of this pool."""
        if self.cancel_reason:
            return
        waiting = [self.by_key[k] for k in scope.to_run
                   if k not in scope.results and not self.running_attempt(k)]
        self.compute.refill(pool, waiting)
