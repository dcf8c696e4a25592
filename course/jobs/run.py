"""The run loop: a job run (or a repair of one) on this machine, as Databricks runs it.

The DAG rules are `dag.py`'s pure functions; this module owns the side effects:
job cluster, kernels, threads, the run history. Every state change is written to
the history as it happens, so a runner killed mid-run loses nothing finished and
the next start closes the run as INTERNAL_ERROR (repairable).

Threads: the caller's thread runs the loop (decides, starts, collects); each
running task has a worker thread that runs its attempts (with retries). Workers
report through a queue; only the loop thread decides.
"""
from __future__ import annotations

import dataclasses
import queue
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from course import paths
from course.jobs import dag, lifeline, params
from course.jobs.execute import Attempt, Outcome, child_env, run_condition, run_notebook, run_python
from course.jobs.store import History

FAILED_FOR_RETRY = {"FAILED", "INTERNAL_ERROR"}


class RunError(Exception):
    """Nothing was run: the request cannot be carried out (message says why)."""


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


@dataclass
class _Scope:
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


class LocalRunner:
    """Runs and repairs one loaded job (`spec.LoadedJob`) against a run history."""

    def __init__(self, loaded, history: History | None = None, options: RunOptions | None = None):
        self.loaded = loaded
        self.settings = loaded.settings
        self.history = history or History()
        self.options = options or RunOptions()
        self.by_key = {t.task_key: t for t in self.settings.tasks or []}
        self._cancel: str | None = None  # "CANCELED" or "TIMEDOUT" (job timeout)
        self._attempts: dict[str, Attempt] = {}
        self._lock = threading.RLock()  # re-entrant: cancel() may run in a signal handler
        self._clusters: dict[str, Any] = {}
        self._cluster_errors: dict[str, str] = {}
        self._cluster_ready: dict[str, threading.Event] = {}
        self._pools: dict[tuple, Any] = {}
        self._closing = False
        self._notifier = None         # notify.Notifier, made per run or repair
        self._trigger = self.options.trigger  # a repair keeps the trigger of the run it repairs

    # ------------------------------------------------------------ public API

    def run(self) -> int:
        """Start a new run of the job; returns its run_id once it has ended."""
        self._notifier = self._make_notifier()  # a bad notification setting: nothing written yet
        self._note_orphans()
        job_id = self.history.ensure_job(self.settings.name or self.loaded.key, self.settings.as_dict())
        scope_keys = self._layer_scope()
        provided = self._provided_upstream(job_id, scope_keys)
        try:
            raw = params.job_parameter_values(self.settings, self.options.overrides)
        except params.ParamError as exc:
            raise RunError(str(exc)) from None
        run_name = self.settings.name or self.loaded.key
        if self.options.layers:
            run_name += f" (--layer {' '.join(self.options.layers)})"
        run_id = self.history.create_run(job_id, run_name, raw, trigger=self.options.trigger)
        record = self.history.run_record(run_id)
        # References like {{job.run_id}} in parameter defaults need the run to exist.
        ctx = params.RefContext(job_id=job_id, job_name=self.settings.name, run_id=run_id,
                                start_time_ms=record.start_time, trigger_type=self.options.trigger,
                                trigger_time_ms=self.options.trigger_time_ms,
                                file_arrival_location=self.options.file_arrival_location)
        try:
            job_params = params.resolve_job_parameters(self.settings, self.options.overrides, ctx)
        except params.ParamError as exc:
            self.history.set_run_state(run_id, "INTERNAL_ERROR", "FAILED", str(exc),
                                       termination_code="INVALID_RUN_CONFIGURATION")
            self._notify_finished(run_id)
            raise RunError(str(exc)) from None
        self.history.set_job_parameters(run_id, job_params)
        if not self._admit(job_id, run_id):
            self._notify_finished(run_id)
            return run_id
        # Provided upstream tasks count as already done: their own dependencies are not part of this run.
        tasks = [t if t.task_key in scope_keys else dataclasses.replace(t, depends_on=None)
                 for t in self.settings.tasks if t.task_key in scope_keys or t.task_key in provided]
        scope = _Scope(run_id, None, 0, job_params, record.start_time, tasks, set(scope_keys),
                       {k: "SUCCESS" for k in provided}, {k: v["values"] for k, v in provided.items()},
                       {}, {k: v["task_run_id"] for k, v in provided.items()})
        self._execute(job_id, scope)
        return run_id

    def repair(self, run_id: int, rerun_tasks: list[str] | None = None, rerun_dependents: bool = False,
               overrides: dict[str, str] | None = None) -> int:
        """Re-run failed tasks (or `rerun_tasks`) inside run `run_id`, with the current job definition."""
        self._notifier = self._make_notifier()
        self._note_orphans()
        record = self.history.run_record(run_id)
        if not record.terminal:
            raise RunError(f"run {run_id} is still {record.life_cycle_state}: only a finished run can be repaired")
        latest = self.history.latest_task_runs(run_id)
        results = {k: tr.result_state or tr.life_cycle_state for k, tr in latest.items()}
        tasks = list(self.settings.tasks)
        try:
            selected = dag.repair_selection(tasks, results, rerun_tasks=rerun_tasks or None,
                                            rerun_all_failed=not rerun_tasks, rerun_dependents=rerun_dependents)
        except ValueError as exc:
            raise RunError(str(exc)) from None
        if not selected:
            raise RunError(f"run {run_id} has nothing to repair: every task succeeded "
                           "(name tasks with --task to run them again)")
        defined = {p.name for p in self.settings.parameters or []}
        merged = {k: v for k, v in record.job_parameters.items() if k in defined}
        merged.update(overrides or {})
        ctx = params.RefContext(job_id=record.job_id, job_name=self.settings.name, run_id=run_id,
                                repair_count=record.repair_count + 1,
                                start_time_ms=record.start_time, trigger_type=record.trigger)
        self._trigger = record.trigger
        try:
            job_params = params.resolve_job_parameters(self.settings, merged, ctx)
        except params.ParamError as exc:
            raise RunError(str(exc)) from None
        repair_id = self.history.create_repair(run_id, sorted(selected), job_params,
                                               latest_repair_id=record.latest_repair_id)
        values = self.history.task_values(run_id)
        kept = {k: r for k, r in results.items() if k not in selected and k in self.by_key}
        # A task the original run never reached (its runner died first) and the repair
        # did not select stays not run: it counts as canceled for its dependents.
        kept.update({k: "CANCELED" for k in self.by_key if k not in selected and k not in kept})
        outcomes = {k: latest[k].exit_value for k in kept
                    if self.by_key[k].condition_task is not None and latest[k].exit_value}
        scope = _Scope(run_id, repair_id, self.history.repair_count(run_id), job_params, record.start_time,
                       tasks, selected, kept, {k: values.get(k, {}) for k in kept}, outcomes,
                       {k: latest[k].task_run_id for k in kept})
        self._execute(record.job_id, scope)
        return run_id

    def cancel(self, why: str = "CANCELED") -> None:
        """Stop the run: running attempts are killed, nothing new starts."""
        with self._lock:
            if self._cancel:
                return
            self._cancel = why
            attempts = list(self._attempts.values())
        for attempt in attempts:
            attempt.stop("CANCELED")

    # ------------------------------------------------------------ preparation

    def _note(self, text: str) -> None:
        if self.options.on_note:
            self.options.on_note(text)

    def _make_notifier(self):
        from course.jobs import notify

        try:
            return notify.Notifier(self.settings, on_note=self._note)
        except notify.NotifyConfigError as exc:  # before anything runs: exit 2, nothing changed
            raise RunError(str(exc)) from None

    def _notify(self, event: str, run_id: int, task_run_id: int | None = None, **kwargs) -> None:
        """Report a run or task event to the job's notifications (a no-op for a job without any)."""
        notifier = self._notifier
        if notifier is None or not notifier.active:
            return
        from course.jobs import notify

        run = self.history.get_run(run_id)
        if task_run_id is None:
            getattr(notifier, event)(run, **kwargs)
        else:
            getattr(notifier, event)(run, notify.task_of(run, task_run_id), **kwargs)

    def _notify_finished(self, run_id: int) -> None:
        """The run ended (possibly before it ran anything): its alert, then wait for sending."""
        if self._notifier is not None:
            self._notify("run_finished", run_id)
            self._notifier.close(15)

    def _update(self, run_id: int) -> None:
        if self.options.on_update:
            self.options.on_update(self.history.get_run(run_id))

    def _note_orphans(self) -> None:
        for run_id in self.history.close_orphans():
            self._note(f"run {run_id} was left unfinished by a runner that stopped; "
                       f"closed as INTERNAL_ERROR (repair it with: runner.py repair {run_id})")

    def _layer_scope(self) -> list[str]:
        if not self.options.layers:
            return list(self.by_key)
        unknown = [k for k in self.options.layers if k not in self.by_key]
        if unknown:
            raise RunError(f"--layer {', '.join(unknown)}: no such task (tasks: {', '.join(self.by_key)})")
        return list(dict.fromkeys(self.options.layers))

    def _provided_upstream(self, job_id: int, scope: list[str]) -> dict[str, dict]:
        """For --layer: each outside dependency's result from the latest successful run."""
        provided: dict[str, dict] = {}
        for key in scope:
            for dep in self.by_key[key].depends_on or []:
                if dep.task_key in scope or dep.task_key in provided:
                    continue
                found = self.history.latest_success(job_id, dep.task_key)
                if found is None:
                    raise RunError(f"task '{key}' needs a successful '{dep.task_key}' first and no run has one: "
                                   f"run `python runner.py --layer {dep.task_key}` (or the whole job) first")
                provided[dep.task_key] = {"run_id": found[0], "task_run_id": found[1], "values": found[2]}
        # Tasks further upstream lend their values too when they have some: a notebook may read
        # any upstream task's values (gold reading bronze's), not only its direct dependencies'.
        further = dag.upstream(self.settings.tasks, scope) - set(scope) - set(provided)
        for key in (k for k in self.by_key if k in further):
            found = self.history.latest_success(job_id, key)
            if found is not None:
                provided[key] = {"run_id": found[0], "task_run_id": found[1], "values": found[2]}
        return provided

    def _admit(self, job_id: int, run_id: int) -> bool:
        limit = self.settings.max_concurrent_runs if self.settings.max_concurrent_runs is not None else 1
        queue_enabled = bool(self.settings.queue and self.settings.queue.enabled)
        verdict = self.history.admit(job_id, run_id, limit, queue_enabled)
        if verdict == "SKIP":
            self.history.set_run_state(run_id, "SKIPPED", "MAXIMUM_CONCURRENT_RUNS_REACHED",
                                       f"Skipped: the job already has {limit} active run(s) "
                                       "(max_concurrent_runs) and queueing is off")
            self._update(run_id)
            return False
        if verdict == "QUEUE":
            self._update(run_id)
            self._note(f"queued: the job already has {limit} active run(s); waiting for a slot")
            try:
                if not self.history.wait_for_slot(run_id, max_concurrent_runs=limit):
                    return False
            except KeyboardInterrupt:
                self.history.set_run_state(run_id, "TERMINATED", "CANCELED", "Canceled while queued")
                self._update(run_id)
                self._notify_finished(run_id)
                raise
        return True

    # ------------------------------------------------------------ compute

    def _cluster_key(self, task) -> str | None:
        """Which local job cluster a task runs on (None: none; Spark then starts in the kernel)."""
        if task.job_cluster_key:
            return task.job_cluster_key
        if task.new_cluster is not None:
            return f"task:{task.task_key}"
        return None

    def _cluster_spec(self, key: str):
        if key.startswith("task:"):
            return self.by_key[key[5:]].new_cluster
        for jc in self.settings.job_clusters or []:
            if jc.job_cluster_key == key:
                return jc.new_cluster
        return None

    def _start_clusters(self, keys: set[str]) -> None:
        from course.jobs.cluster import LocalCluster

        for key in sorted(keys):
            spec = self._cluster_spec(key)
            conf = dict(spec.spark_conf or {}) if spec is not None else {}
            self._clusters[key] = LocalCluster(conf, name=f"{key.replace(':', '-')}",
                                               log_path=self._run_dir / f"cluster-{key.replace(':', '-')}.log")
            self._cluster_ready[key] = threading.Event()
            threading.Thread(target=self._boot_cluster, args=(key,), daemon=True).start()

    def _boot_cluster(self, key: str) -> None:
        cluster = self._clusters[key]
        try:
            cluster.start()
        except Exception as exc:  # reported by every task that needs it
            self._cluster_errors[key] = f"job cluster '{key}' failed to start: {exc}"
        finally:
            self._cluster_ready[key].set()
            if self._closing:  # the run ended (Ctrl-C) while the cluster was starting
                cluster.stop()

    def _pool(self, task):
        from course.jobs.kernels import KernelPool

        key = self._cluster_key(task)
        cwd = str(Path(task.notebook_task.notebook_path).parent)
        pool_key = (key, cwd)
        if pool_key not in self._pools:
            # The port is known before the server answers; kernels connect after the gate.
            env = child_env(self._clusters[key].url if key else None)
            gate = self._cluster_ready.get(key) if key else None
            pool = KernelPool(env, size=1, wait_before_warmup=gate, cwd=cwd)
            pool.cluster_key = key
            self._pools[pool_key] = pool
        return self._pools[pool_key]

    def _prestart(self, scope: _Scope) -> None:
        """Start a kernel for each task that can start first, and one for the next; that one
        only once the job cluster is up (it is not needed before, and would slow its start)."""
        notebook_tasks = [self.by_key[k] for k in dag.topological_order(scope.tasks)
                          if k in scope.to_run and self.by_key[k].notebook_task is not None]
        first = {k for k in dag.ready(scope.tasks, scope.results, (), scope.outcomes)}
        budget, extra = self.options.max_parallel + 1, 1
        for task in notebook_tasks:
            if budget <= 0:
                break
            if task.task_key in first:
                self._pool(task).prestart(1)
            elif extra:
                self._pool(task).prestart(1, after_gate=True)
                extra -= 1
            else:
                continue
            budget -= 1

    # ------------------------------------------------------------ the loop

    def _execute(self, job_id: int, scope: _Scope) -> None:
        run_id = scope.run_id
        self._run_dir = paths.runs_dir() / str(run_id)
        self._run_dir.mkdir(parents=True, exist_ok=True)
        if self._notifier is not None:
            self._notifier.run_dir = self._run_dir  # e-mails point at the run's folder
        self._job_id = job_id
        events: queue.Queue = queue.Queue()
        running: set[str] = set()
        job_timer = None
        restore_signals = self._trap_signals()
        try:
            self.history.set_run_state(run_id, "RUNNING")
            self._update(run_id)
            self._notify("run_started", run_id)
            needed = {self._cluster_key(self.by_key[k]) for k in scope.to_run} - {None}
            if needed:
                from course.runtime import delta
                delta.announce(say=self._note if self.options.on_note else None)
                self._note(f"starting job cluster {', '.join(sorted(needed))} (local Spark Connect)")
                self._start_clusters(needed)
            _preimport()  # after the JVM was launched: these imports would delay it
            self._prestart(scope)
            if self.settings.timeout_seconds:
                job_timer = threading.Timer(self.settings.timeout_seconds, self.cancel, args=("TIMEDOUT",))
                job_timer.daemon = True
                job_timer.start()
            self._loop(scope, events, running)
        except KeyboardInterrupt:
            self.cancel("CANCELED")
            self._drain(scope, events, running)
        finally:
            restore_signals()
            if job_timer:
                job_timer.cancel()
            self._finish(scope)
            self._shutdown()
            self._update(run_id)
            self._notify_finished(run_id)

    def _trap_signals(self) -> Callable[[], None]:
        """While the loop runs, Ctrl-C (and SIGTERM, when the caller handles it, as the CLI
        does) cancel the run instead of raising KeyboardInterrupt at an arbitrary point of
        the bookkeeping (a lost "done" event would hang the drain, a half-open history
        transaction would break every later write). Returns a function restoring the handlers."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def handler(signum, frame):
            self.cancel("CANCELED")

        old = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            current = signal.getsignal(sig)
            if current in (signal.SIG_IGN, None) or (sig == signal.SIGTERM and current == signal.SIG_DFL):
                continue  # ignored on purpose (nohup, background job) or not ours to change
            old[sig] = signal.signal(sig, handler)

        def restore() -> None:
            for sig, previous in old.items():
                signal.signal(sig, previous)
        return restore

    def _loop(self, scope: _Scope, events: queue.Queue, running: set[str]) -> None:
        while True:
            self._schedule(scope, events, running)
            if not running:
                return
            self._collect(scope, events, running, block=True)

    def _schedule(self, scope: _Scope, events: queue.Queue, running: set[str]) -> None:
        """Decide every task whose dependencies are done; start those that run."""
        changed = True
        while changed:
            changed = False
            for key in dag.ready(scope.tasks, scope.results, running, scope.outcomes):
                task = self.by_key[key]
                deps = [d.task_key for d in task.depends_on or []]
                decision = dag.decide(task, {d: scope.results[d] for d in deps if d in scope.results},
                                      {d: scope.outcomes[d] for d in deps if d in scope.outcomes})
                if decision == dag.RUN and self._cancel:
                    decision = "CANCELED"
                if decision != dag.RUN:
                    self._record_skip(scope, task, decision)
                    changed = True
                    continue
                if len(running) >= self.options.max_parallel:
                    continue
                running.add(key)
                threading.Thread(target=self._worker, args=(scope, task, events), daemon=True,
                                 name=f"task-{key}").start()

    def _collect(self, scope: _Scope, events: queue.Queue, running: set[str], block: bool) -> None:
        try:
            kind, key, payload = events.get(timeout=0.2 if block else 0)
        except queue.Empty:
            return
        if kind == "done":
            running.discard(key)
            outcome: Outcome = payload
            scope.results[key] = outcome.state
            if outcome.state == "SUCCESS":
                scope.values[key] = outcome.task_values
            if outcome.condition_outcome is not None:
                scope.outcomes[key] = outcome.condition_outcome
        self._update(scope.run_id)

    def _drain(self, scope: _Scope, events: queue.Queue, running: set[str]) -> None:
        """After a cancel: wait for the killed attempts to report, then skip the rest."""
        while running:
            try:
                self._collect(scope, events, running, block=True)
            except KeyboardInterrupt:
                continue  # a second Ctrl-C: we are already stopping
        self._schedule(scope, events, running)

    def _record_skip(self, scope: _Scope, task, state: str) -> None:
        messages = {"UPSTREAM_FAILED": "Upstream task failed", "UPSTREAM_CANCELED": "Upstream task was canceled",
                    "EXCLUDED": "Excluded by run_if or a condition outcome", "DISABLED": "Task is disabled",
                    "CANCELED": "Run was canceled"}
        tr = self.history.create_task_run(scope.run_id, task.task_key, repair_id=scope.repair_id,
                                          depends_on=[d.task_key for d in task.depends_on or []],
                                          notebook_path=_task_path(task))
        self.history.update_task_run(tr, life_cycle_state="TERMINATED", result_state=state,
                                     state_message=messages.get(state, state))
        scope.results[task.task_key] = state
        scope.task_run_ids[task.task_key] = tr
        self._update(scope.run_id)
        self._notify("task_finished", scope.run_id, tr, last_attempt=True)

    # ------------------------------------------------------------ one task

    def _worker(self, scope: _Scope, task, events: queue.Queue) -> None:
        try:
            outcome = self._attempts_of(scope, task, events)
        except Exception as exc:  # a bug must not hang the run: fail the task visibly
            outcome = Outcome("INTERNAL_ERROR", f"runner error: {type(exc).__name__}: {exc}",
                              traceback.format_exc())
            tr = scope.task_run_ids.get(task.task_key)
            if tr is not None and not self.history.task_run(tr).terminal:
                try:
                    self._store_outcome(tr, outcome)  # never leave the task run RUNNING
                    self._notify("task_finished", scope.run_id, tr, last_attempt=True)
                except Exception:
                    pass
        events.put(("done", task.task_key, outcome))

    def _attempts_of(self, scope: _Scope, task, events: queue.Queue) -> Outcome:
        key = task.task_key
        max_retries = task.max_retries or 0
        interval_s = (task.min_retry_interval_millis or 0) / 1000
        number, original, waiting_tr = 0, None, None
        while True:
            if waiting_tr is None:
                tr = self.history.create_task_run(
                    scope.run_id, key, attempt_number=number, original_attempt_run_id=original,
                    repair_id=scope.repair_id, depends_on=[d.task_key for d in task.depends_on or []],
                    notebook_path=_task_path(task), life_cycle_state="RUNNING")
            else:
                tr = waiting_tr
                self.history.update_task_run(tr, life_cycle_state="RUNNING")
            started = time.monotonic()  # after the recorded start_time: the retry interval counts from it
            original = original or tr
            scope.task_run_ids[key] = tr
            events.put(("changed", key, None))
            self._notify("task_started", scope.run_id, tr)
            outcome = self._attempt(scope, task, tr, number)
            self._store_outcome(tr, outcome)
            retryable = outcome.state in FAILED_FOR_RETRY or (
                outcome.state == "TIMEDOUT" and task.retry_on_timeout)
            last = (outcome.state == "SUCCESS" or not retryable or bool(self._cancel)
                    or (max_retries != -1 and number >= max_retries))
            self._notify("task_finished", scope.run_id, tr, last_attempt=last)
            if last:
                return outcome
            number += 1
            waiting_tr = self.history.create_task_run(
                scope.run_id, key, attempt_number=number, original_attempt_run_id=original,
                repair_id=scope.repair_id, depends_on=[d.task_key for d in task.depends_on or []],
                notebook_path=_task_path(task), life_cycle_state="WAITING_FOR_RETRY")
            events.put(("changed", key, None))
            # The interval counts from the start of the failed attempt (SEMANTICS.md).
            while time.monotonic() < started + interval_s and not self._cancel:
                time.sleep(0.05)
            if self._cancel:
                self.history.update_task_run(waiting_tr, life_cycle_state="TERMINATED", result_state="CANCELED",
                                             state_message="Run was canceled")
                self._notify("task_finished", scope.run_id, waiting_tr, last_attempt=True)
                return Outcome("CANCELED", "Run was canceled")

    def _store_outcome(self, tr: int, outcome: Outcome) -> None:
        if outcome.task_values:
            self.history.set_task_values(tr, outcome.task_values)
        # INTERNAL_ERROR is a life cycle state; its result state is FAILED (SEMANTICS.md).
        internal = outcome.state == "INTERNAL_ERROR"
        self.history.update_task_run(tr, life_cycle_state="INTERNAL_ERROR" if internal else "TERMINATED",
                                     result_state="FAILED" if internal else outcome.state,
                                     state_message=outcome.message, exit_value=outcome.exit_value,
                                     error=outcome.message if outcome.state != "SUCCESS" else None,
                                     error_trace=outcome.trace)

    def _ref_context(self, scope: _Scope, task, tr: int, number: int) -> params.RefContext:
        tasks = {k: {"run_id": scope.task_run_ids.get(k), "result_state": r, "values": scope.values.get(k, {})}
                 for k, r in scope.results.items()}
        return params.RefContext(
            job_id=self._job_id, job_name=self.settings.name, run_id=scope.run_id,
            repair_count=scope.repair_count, start_time_ms=scope.start_time_ms,
            trigger_type=self._trigger, trigger_time_ms=self.options.trigger_time_ms,
            file_arrival_location=self.options.file_arrival_location,
            job_parameters=scope.job_parameters, task_key=task.task_key, task_run_id=tr,
            execution_count=number + 1, notebook_path=_task_path(task), tasks=tasks,
            workspace_id=0, workspace_url=f"file://{paths.home()}",
            job_task_keys=list(self.by_key))

    def _attempt(self, scope: _Scope, task, tr: int, number: int) -> Outcome:
        ctx = self._ref_context(scope, task, tr, number)
        attempt = Attempt(task.timeout_seconds)
        with self._lock:
            if self._cancel:
                return Outcome("CANCELED", "Run was canceled")
            self._attempts[task.task_key] = attempt
        try:
            return self._dispatch(scope, task, tr, number, ctx, attempt)
        except params.ParamError as exc:
            return Outcome("FAILED", str(exc))
        except Exception as exc:  # a runner bug or no kernel: end this attempt visibly, never RUNNING
            return Outcome("INTERNAL_ERROR", f"runner error: {type(exc).__name__}: {exc}",
                           traceback.format_exc())
        finally:
            with self._lock:
                self._attempts.pop(task.task_key, None)

    def _dispatch(self, scope, task, tr, number, ctx, attempt) -> Outcome:
        overrides = scope.job_parameters  # already resolved; passed as literal overrides
        if task.condition_task is not None:
            left, right = params.resolve_condition(self.settings, task, overrides, ctx)
            return run_condition(task.condition_task.op, left, right)
        cluster = self._cluster_key(task)
        if cluster:
            while not self._cluster_ready[cluster].wait(0.1):  # a cancel must not wait for the JVM
                if attempt.stopped_as:
                    return attempt.stopped_outcome()
            if cluster in self._cluster_errors:
                return Outcome("INTERNAL_ERROR", self._cluster_errors[cluster])
        folder = self._run_dir / task.task_key
        stem = f"repair-{scope.repair_count}-attempt-{number}" if scope.repair_id else f"attempt-{number}"
        context = {"job_id": self._job_id, "job_name": self.settings.name, "run_id": scope.run_id,
                   "task_key": task.task_key, "task_run_id": tr, "attempt_number": number,
                   "repair_count": scope.repair_count, "parameters": {},
                   "task_values": {k: v for k, v in scope.values.items() if v},
                   "output_dir": str(folder / stem)}
        if task.notebook_task is not None:
            context["parameters"] = params.resolve_task_parameters(self.settings, task, overrides, ctx)
            output = folder / f"{stem}.ipynb"
            self.history.update_task_run(tr, output_path=str(output))
            pool = self._pool(task)
            return run_notebook(Path(task.notebook_task.notebook_path), output, context, pool, attempt,
                                taken=lambda: self._refill(scope, pool))
        if task.spark_python_task is not None:
            args = params.resolve_python_arguments(self.settings, task, overrides, ctx)
            out_dir = folder / stem
            self.history.update_task_run(tr, output_path=str(out_dir / "stdout.log"))
            remote = self._clusters[cluster].url if cluster else None
            return run_python(Path(task.spark_python_task.python_file), args, out_dir, context,
                              child_env(remote), attempt)
        kind = next((f.name for f in dataclasses.fields(task) if f.name.endswith("_task")
                     and getattr(task, f.name) is not None), "unknown")
        return Outcome("FAILED", f"{kind} tasks cannot run locally (notebook_task, spark_python_task "
                                 "and condition_task can)")

    def _refill(self, scope: _Scope, pool) -> None:
        """A task took its kernel: have one warming for the next task of this pool."""
        left = [k for k in scope.to_run if k not in scope.results and k not in self._attempts
                and self.by_key[k].notebook_task is not None and self._pool(self.by_key[k]) is pool]
        if left and not self._cancel:
            pool.top_up(1, after_gate=True)

    # ------------------------------------------------------------ the end

    def _finish(self, scope: _Scope) -> None:
        for key in scope.to_run:  # anything never decided (cancel mid-way) is canceled
            if key not in scope.results:
                self._record_skip(scope, self.by_key[key], "CANCELED")
        run_keys = scope.to_run | set(scope.results) if scope.repair_id else scope.to_run
        decided = [t for t in scope.tasks if t.task_key in run_keys]
        tasks = [dataclasses.replace(t, depends_on=[d for d in t.depends_on or [] if d.task_key in run_keys])
                 for t in decided]
        verdict = dag.job_result(tasks, {k: scope.results[k] for k in run_keys})
        state, message = verdict.result_state, ""
        if self._cancel == "TIMEDOUT":
            state, message = "TIMEDOUT", f"Run timed out after {self.settings.timeout_seconds} seconds"
        elif state == "CANCELED":
            message = "Run was canceled"
        elif verdict.task_key and state != "SUCCESS":
            latest = self.history.latest_task_runs(scope.run_id).get(verdict.task_key)
            detail = (latest.state_message if latest else "") or scope.results.get(verdict.task_key, "")
            message = f"Task {verdict.task_key} failed with message: {detail}"
        # A failed multi-task run reads INTERNAL_ERROR/FAILED on real workspaces (SEMANTICS.md).
        life = "INTERNAL_ERROR" if state == "FAILED" else "TERMINATED"
        self.history.set_run_state(scope.run_id, life, state, message)

    def _shutdown(self) -> None:
        self._closing = True
        for pool in self._pools.values():
            pool.close()
        for key, cluster in self._clusters.items():
            if cluster.class_cache is not None and cluster.class_cache.building and cluster.running:
                self._note(f"job cluster {key}: saving its class archive so that later clusters start "
                           "faster (once per machine, a few seconds)")
            cluster.stop()


def _preimport() -> None:
    """papermill and scrapbook take ~2 s to import: load them while kernels boot."""
    def load():
        lifeline.lower_thread_priority()
        import papermill  # noqa: F401
        import scrapbook  # noqa: F401
    threading.Thread(target=load, daemon=True, name="preimport").start()


def _task_path(task) -> str | None:
    if task.notebook_task is not None:
        return task.notebook_task.notebook_path
    if task.spark_python_task is not None:
        return task.spark_python_task.python_file
    return None
