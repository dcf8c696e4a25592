"""The run loop: decide every task whose dependencies are done, start those that run,
collect what the workers report, and roll the run up at the end.

The DAG rules are `model/dag.py`'s pure functions. Only the loop's thread decides;
each running task has a worker thread (`attempts.TaskAttempts`) that reports through
the execution's queue.
"""
from __future__ import annotations

import dataclasses
import queue
import threading
from typing import TYPE_CHECKING

from course.jobs.local.attempts import TaskAttempts
from course.jobs.local.events import AttemptFinished, RunChanged, RunFinished
from course.jobs.local.executors import task_path, task_record
from course.jobs.local.executors.base import Outcome
from course.jobs.local.listeners import SKIP_MESSAGES
from course.jobs.model import dag

if TYPE_CHECKING:
    from course.jobs.local.execution import Execution
    from course.jobs.local.plan import Scope


class RunLoop:
    def __init__(self, ex: "Execution", scope: "Scope"):
        self.ex, self.scope = ex, scope
        self.running: set[str] = set()
        self.messages: dict[str, str] = {}  # key -> what its last task run said (for the run's message)

    def run(self) -> None:
        while True:
            self.schedule()
            if not self.running:
                return
            self.collect(block=True)

    def schedule(self) -> None:
        """Decide every task whose dependencies are done; start those that run."""
        scope, ex = self.scope, self.ex
        changed = True
        while changed:
            changed = False
            for key in dag.ready(scope.tasks, scope.results, self.running, scope.outcomes):
                task = ex.by_key[key]
                deps = [d.task_key for d in task.depends_on or []]
                decision = dag.decide(task, {d: scope.results[d] for d in deps if d in scope.results},
                                      {d: scope.outcomes[d] for d in deps if d in scope.outcomes})
                if decision == dag.RUN and ex.cancel_reason and not ex.may_run_after_cancel(task):
                    decision = "CANCELED"
                if decision != dag.RUN:
                    self.record_skip(task, decision)
                    changed = True
                    continue
                if len(self.running) >= ex.options.max_parallel:
                    continue
                self.running.add(key)
                threading.Thread(target=self._worker, args=(task,), daemon=True, name=f"task-{key}").start()

    def _worker(self, task) -> None:
        outcome = TaskAttempts(self.ex, self.scope, task).run()
        self.ex.events.put(("done", task.task_key, outcome))

    def collect(self, block: bool) -> None:
        try:
            kind, key, payload = self.ex.events.get(timeout=0.2 if block else 0)
        except queue.Empty:
            return
        if kind == "done":
            self.running.discard(key)
            outcome: Outcome = payload
            self.scope.results[key] = outcome.state
            self.messages[key] = outcome.message
            if outcome.state == "SUCCESS":
                self.scope.values[key] = outcome.task_values
            if outcome.condition_outcome is not None:
                self.scope.outcomes[key] = outcome.condition_outcome
        self.ex.bus.emit(RunChanged(self.scope.run_id))

    def drain(self) -> None:
        """After a cancel: wait for the killed attempts to report, then skip the rest
        (failure-handling tasks the cancel lets run are waited for too)."""
        while True:
            while self.running:
                try:
                    self.collect(block=True)
                except KeyboardInterrupt:
                    self.ex.cancel("CANCELED")  # a second Ctrl-C also stops the cleanup tasks
            self.schedule()
            if not self.running:
                return

    def record_skip(self, task, state: str) -> None:
        scope, ex = self.scope, self.ex
        tr = ex.history.create_task_run(scope.run_id, task.task_key, repair_id=scope.repair_id,
                                        depends_on=[d.task_key for d in task.depends_on or []],
                                        notebook_path=task_path(task), **task_record(task))
        scope.results[task.task_key] = state
        scope.task_run_ids[task.task_key] = tr
        self.messages[task.task_key] = SKIP_MESSAGES.get(state, state)
        ex.bus.emit(AttemptFinished(scope.run_id, task.task_key, tr, Outcome(state, self.messages[task.task_key]),
                                    skipped=True))
        ex.bus.emit(RunChanged(scope.run_id))

    def verdict(self) -> RunFinished:
        """The run's end: anything never decided (a cancel mid-way) is canceled, then the roll-up."""
        scope, ex = self.scope, self.ex
        for key in scope.to_run:
            if key not in scope.results:
                self.record_skip(ex.by_key[key], "CANCELED")
        run_keys = scope.to_run | set(scope.results) if scope.repair_id else scope.to_run
        decided = [t for t in scope.tasks if t.task_key in run_keys]
        tasks = [dataclasses.replace(t, depends_on=[d for d in t.depends_on or [] if d.task_key in run_keys])
                 for t in decided]
        verdict = dag.job_result(tasks, {k: scope.results[k] for k in run_keys})
        state, message = verdict.result_state, ""
        if ex.cancel_reason == "TIMEDOUT":
            state, message = "TIMEDOUT", f"Run timed out after {ex.settings.timeout_seconds} seconds"
        elif state == "CANCELED":
            message = "Run was canceled"
        elif verdict.task_key and state != "SUCCESS":
            detail = self.messages.get(verdict.task_key)
            if detail is None:  # a task a repair kept as it was: its message is in the history
                latest = ex.history.latest_task_runs(scope.run_id).get(verdict.task_key)
                detail = latest.state_message if latest else ""
            detail = detail or scope.results.get(verdict.task_key, "")
            message = f"Task {verdict.task_key} failed with message: {detail}"
        # A failed multi-task run reads INTERNAL_ERROR/FAILED on real workspaces (SEMANTICS.md).
        life = "INTERNAL_ERROR" if state == "FAILED" else "TERMINATED"
        return RunFinished(scope.run_id, life, state, message)
