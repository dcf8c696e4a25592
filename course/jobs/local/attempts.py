"""One task of a run: its attempts, retries and the wait between them.

Runs in a worker thread per task. Each attempt is a task run in the history (created
here, because the attempt needs its id); its end is reported as an event.
"""
from __future__ import annotations

import dataclasses
import time
import traceback
from typing import TYPE_CHECKING

from course.jobs.local.events import AttemptFinished, AttemptStarted
from course.jobs.local.executors import UnsupportedTask, executor_for, task_path, task_record
from course.jobs.local.executors.base import Attempt, AttemptRequest, Iteration, Outcome
from course.jobs.model import params, states
from course.jobs.schedules.triggers import retry_mode
from course.platform import paths
from course.runtime.context import TaskContext

if TYPE_CHECKING:
    from course.jobs.local.execution import Execution
    from course.jobs.local.plan import Scope


class TaskAttempts:
    """Runs `task` of `scope` until it succeeds or its retries are spent.

    An iteration of a for_each_task is a TaskAttempts too (`iteration` set): its task runs
    name the for-each task run as their parent, it is registered under its own label
    (`parent[i]`) and recorded directly, not announced as a task of the run."""

    def __init__(self, ex: "Execution", scope: "Scope", task, iteration: "Iteration | None" = None):
        self.ex, self.scope, self.task, self.iteration = ex, scope, task, iteration
        self.label = iteration.label if iteration else task.task_key
        self.current_tr: int | None = None  # the task run of the attempt under way
        self.earlier_executions = self._earlier_executions()

    def _earlier_executions(self) -> int:
        """How often this task ran in the run before this repair: {{task.execution_count}} counts
        retries and repairs (the dynamic-value-references table). Skipped task runs did not run."""
        if self.scope.repair_id is None or self.iteration:  # an iteration counts within its for-each run
            return 0
        not_run = {states.UPSTREAM_FAILED, states.UPSTREAM_CANCELED, states.DISABLED, states.EXCLUDED}
        return sum(1 for tr in self.ex.history.task_runs(self.scope.run_id)
                   if tr.task_key == self.task.task_key and tr.repair_id != self.scope.repair_id
                   and tr.start_time is not None and tr.result_state not in not_run)

    def run(self) -> Outcome:
        """Never raises: a bug ends the task visibly as INTERNAL_ERROR, never left RUNNING."""
        try:
            return self._attempts()
        except Exception as exc:
            outcome = Outcome("INTERNAL_ERROR", f"runner error: {type(exc).__name__}: {exc}",
                              traceback.format_exc())
            tr = self.current_tr
            if tr is not None and not self.ex.history.task_run(tr).terminal:
                try:
                    self._finished(tr, outcome, last=True)
                except Exception:
                    pass
            return outcome

    def _new_task_run(self, number: int, original: int | None, life_cycle_state: str) -> int:
        task = self.task
        return self.ex.history.create_task_run(
            self.scope.run_id, task.task_key, attempt_number=number, original_attempt_run_id=original,
            repair_id=self.scope.repair_id, depends_on=[d.task_key for d in task.depends_on or []],
            notebook_path=task_path(task), life_cycle_state=life_cycle_state,
            parent_task_run_id=self.iteration.parent_task_run_id if self.iteration else None, **task_record(task))

    def _emit(self, event) -> None:
        """Tell the listeners; an iteration is only recorded (it is not a task of the run)."""
        if self.iteration:
            self.ex.recorder(event)
            self.ex.changed(self.task.task_key)
        else:
            self.ex.bus.emit(event)

    def _halted(self) -> bool:
        return bool(self.ex.cancel_reason) or bool(self.iteration and self.iteration.parent.stopped_as)

    def _finished(self, tr: int, outcome: Outcome, last: bool) -> None:
        self._emit(AttemptFinished(self.scope.run_id, self.task.task_key, tr, outcome, last_attempt=last))

    def _attempts(self) -> Outcome:
        task, scope, ex = self.task, self.scope, self.ex
        max_retries = task.max_retries or 0
        interval_s = (task.min_retry_interval_millis or 0) / 1000
        number, original, waiting_tr = 0, None, None
        while True:
            if waiting_tr is None:
                tr = self._new_task_run(number, original, "RUNNING")
            else:
                tr = waiting_tr
                ex.history.update_task_run(tr, life_cycle_state="RUNNING")
            started = time.monotonic()  # after the recorded start_time: the retry interval counts from it
            original = original or tr
            self.current_tr = tr
            if not self.iteration:
                scope.task_run_ids[task.task_key] = tr
            ex.changed(task.task_key)
            self._emit(AttemptStarted(scope.run_id, task.task_key, tr, number))
            outcome = self._attempt(tr, number)
            if outcome.task_values and task.spark_python_task is not None:
                # Databricks documents taskValues for Python notebooks only: the kit is more lenient.
                ex.note(f"{task.task_key}: a Python file task set task values "
                        f"({', '.join(sorted(outcome.task_values))}); the kit passes them on, but Databricks "
                        "documents dbutils.jobs.taskValues for Python notebooks only: on a workspace, set "
                        "them from a notebook task")
            retryable = outcome.state in states.RETRYABLE or (outcome.state == "TIMEDOUT" and task.retry_on_timeout)
            last = (outcome.state == "SUCCESS" or not retryable or self._halted()
                    or (max_retries != -1 and number >= max_retries) or not self._continuous_may_retry())
            self._finished(tr, outcome, last)
            if last:
                return outcome
            number += 1
            waiting_tr = self.current_tr = self._new_task_run(number, original, "WAITING_FOR_RETRY")
            ex.changed(task.task_key)
            # The interval counts from the start of the failed attempt (SEMANTICS.md).
            while time.monotonic() < started + interval_s and not self._halted():
                time.sleep(0.05)
            if self._halted():
                canceled = Outcome("CANCELED", "Run was canceled")
                self._emit(AttemptFinished(scope.run_id, task.task_key, waiting_tr, canceled, skipped=True))
                return canceled

    def _continuous_may_retry(self) -> bool:
        """A continuous job retries a task only with task_retry_mode ON_FAILURE, and only while
        another task of the run is still running its first attempt (the API's TaskRetryMode text);
        otherwise the run ends and the continuous trigger starts a new one."""
        ex, scope = self.ex, self.scope
        if ex.settings.continuous is None:
            return True
        if retry_mode(ex.settings) != "ON_FAILURE":
            return False
        return any(ex.running_attempt(key) and ex.history.task_run(tr).attempt_number == 0
                   for key, tr in list(scope.task_run_ids.items()) if key != self.task.task_key)

    def _ref_context(self, tr: int, number: int) -> params.RefContext:
        scope, ex, task = self.scope, self.ex, self.task
        tasks = {k: {"run_id": scope.task_run_ids.get(k), "result_state": r, "values": scope.values.get(k, {})}
                 for k, r in scope.results.items()}
        return params.RefContext(
            job_id=ex.job_id, job_name=ex.settings.name, run_id=scope.run_id,
            repair_count=scope.repair_count, start_time_ms=scope.start_time_ms,
            trigger_type=ex.trigger, trigger_time_ms=ex.options.trigger_time_ms,
            file_arrival_location=ex.options.file_arrival_location,
            job_parameters=scope.job_parameters, task_key=task.task_key, task_run_id=tr,
            execution_count=self.earlier_executions + number + 1, notebook_path=task_path(task), tasks=tasks,
            workspace_id=0, workspace_url=f"file://{paths.home()}",
            job_task_keys=list(ex.by_key))

    def _iterations(self, tr: int, attempt: Attempt, folder):
        """How a for_each_task (this task) runs one iteration: the nested task's own attempts,
        as task runs under `tr`, stopped with `attempt`, their outputs in `folder`."""
        def run_iteration(nested, iteration: Iteration) -> Outcome:
            placed = dataclasses.replace(iteration, parent_task_run_id=tr, parent=attempt,
                                         label=f"{self.task.task_key}[{iteration.index}]",
                                         folder=folder / f"iteration-{iteration.index}")
            return TaskAttempts(self.ex, self.scope, nested, placed).run()
        return run_iteration

    def _attempt(self, tr: int, number: int) -> Outcome:
        task = self.task
        attempt = Attempt(task.timeout_seconds)
        # a run's cancel is begin_attempt's to judge: it lets failure-handling tasks start
        parent_stopped = bool(self.iteration and self.iteration.parent.stopped_as)
        if parent_stopped or not self.ex.begin_attempt(self.label, attempt, task):
            return Outcome("CANCELED", "Run was canceled")
        try:
            return self._dispatch(tr, number, attempt)
        except (params.ParamError, UnsupportedTask) as exc:
            return Outcome("FAILED", str(exc))
        except Exception as exc:  # a runner bug or no kernel: end this attempt visibly, never RUNNING
            return Outcome("INTERNAL_ERROR", f"runner error: {type(exc).__name__}: {exc}",
                           traceback.format_exc())
        finally:
            self.ex.end_attempt(self.label)

    def _dispatch(self, tr: int, number: int, attempt: Attempt) -> Outcome:
        task, scope, ex = self.task, self.scope, self.ex
        refs = self._ref_context(tr, number)
        executor = executor_for(task)
        if executor.NEEDS_COMPUTE:
            blocked = ex.compute.wait_ready(task, attempt)
            if blocked is not None:
                return blocked
        folder = ex.run_dir / task.task_key if not self.iteration else self.iteration.folder
        stem = f"repair-{scope.repair_count}-attempt-{number}" if scope.repair_id else f"attempt-{number}"
        context = TaskContext(job_id=ex.job_id, job_name=ex.settings.name, run_id=scope.run_id,
                              task_key=task.task_key, task_run_id=tr, attempt_number=number,
                              repair_count=scope.repair_count, parameters={},
                              task_values={k: v for k, v in scope.values.items() if v},
                              output_dir=str(folder / stem))
        request = AttemptRequest(task=task, settings=ex.settings, job_parameters=scope.job_parameters, refs=refs,
                                 context=context, attempt=attempt, output_stem=folder / stem, compute=ex.compute,
                                 record_output=lambda path: ex.history.update_task_run(tr, output_path=path),
                                 kernel_taken=lambda pool: ex.refill(scope, pool),
                                 record=lambda **fields: ex.history.update_task_run(tr, **fields),
                                 run_iteration=self._iterations(tr, attempt, folder / stem),
                                 stop_iterations=lambda: ex.stop_attempts(f"{task.task_key}["),
                                 history=ex.history, options=ex.options, loaded=ex.loaded)
        if self.iteration:
            request.kernel_taken = self.iteration.kernel_taken
        return executor.execute(request)
