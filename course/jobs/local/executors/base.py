"""What every executor shares: the attempt's outcome, a stoppable attempt, and the request.

An executor runs one attempt of one task type and returns an `Outcome`. An `Attempt` can
be cancelled or timed out from another thread: the kernel or process is killed at once
and the outcome says CANCELED/TIMEDOUT.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

@dataclass
class Outcome:
    state: str                          # SUCCESS, FAILED, TIMEDOUT, CANCELED, INTERNAL_ERROR
    message: str = ""
    trace: str | None = None
    exit_value: str | None = None
    task_values: dict[str, Any] = field(default_factory=dict)
    condition_outcome: str | None = None  # "true"/"false" for condition tasks


class Attempt:
    """A running attempt that another thread may stop (timeout or Ctrl-C)."""

    def __init__(self, timeout_s: float | None):
        self.timeout_s = timeout_s or None
        self.stopped_as: str | None = None  # "TIMEDOUT", "CANCELED" (or INTERNAL_ERROR: its cluster died)
        self.stop_message: str | None = None
        self._kill = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def on_kill(self, kill) -> None:
        """Register how to stop what runs now; applies at once if already stopped."""
        with self._lock:
            self._kill = kill
            stopped = self.stopped_as
        if stopped:
            kill()

    def start_clock(self) -> None:
        if self.timeout_s:
            self._timer = threading.Timer(self.timeout_s, self.stop, args=("TIMEDOUT",))
            self._timer.daemon = True
            self._timer.start()

    def stop(self, why: str, message: str | None = None) -> None:
        with self._lock:
            if self.stopped_as:
                return
            self.stopped_as, self.stop_message = why, message
            kill = self._kill
        if kill:
            kill()

    def finish(self) -> None:
        if self._timer:
            self._timer.cancel()

    def stopped_outcome(self) -> Outcome:
        if self.stop_message:
            return Outcome(self.stopped_as, self.stop_message)
        if self.stopped_as == "TIMEDOUT":
            return Outcome("TIMEDOUT", f"Timed out after {self.timeout_s:g} seconds")
        return Outcome("CANCELED", "Run was canceled")


@dataclass
class AttemptRequest:
    """Everything an executor needs for one attempt, handed over by the run loop."""
    task: Any                          # jobs.Task
    settings: Any                      # jobs.JobSettings (for parameter resolution)
    job_parameters: dict[str, str]     # the run's resolved job parameters
    refs: Any                          # params.RefContext for {{…}} references
    context: Any                       # runtime.context.TaskContext, injected as day7_task
    attempt: Attempt
    output_stem: Path                  # runs/<run_id>/<task_key>/<attempt-stem>
    compute: Any                       # compute.manager.Compute: pools and cluster addresses
    record_output: Callable[[str], None]   # tell the history where the output lives
    kernel_taken: Callable[[Any], None] = lambda pool: None  # a task took a kernel from `pool`
    record: Callable[..., None] = lambda **fields: None  # update this task run's history row
    run_iteration: Callable[[Any, "Iteration"], Outcome] | None = None  # for_each: one iteration's attempts
    stop_iterations: Callable[[], None] = lambda: None   # for_each: stop the running iterations
    history: Any = None                # the run history (run_job_task records the run it starts)
    options: Any = None                # the run's RunOptions (notes for the person watching)
    loaded: Any = None                 # spec.LoadedJob: the bundle's artifacts, where library paths start


@dataclass
class Iteration:
    """One input of a for_each_task; the run loop fills in where it belongs."""
    index: int
    kernel_taken: Callable[[Any], None] = lambda pool: None
    parent_task_run_id: int | None = None
    parent: Attempt | None = None      # the for-each attempt: stopping it stops the iteration
    label: str = ""
    folder: Path | None = None
