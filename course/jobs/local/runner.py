"""A job run (or a repair of one) on this machine, as Databricks runs it.

`LocalRunner` is the entry point: it plans the execution (`plan`), starts its compute
(`compute.manager`), runs the loop (`loop`), and wires the listeners that turn the
loop's events into history rows, alerts and progress (`listeners`). Every state change
is written to the history as it happens, so a runner killed mid-run loses nothing
finished and the next start closes the run as INTERNAL_ERROR (repairable).
"""
from __future__ import annotations

import dataclasses
import signal
import threading
from pathlib import Path
from typing import Callable

from course.jobs.local.compute.manager import Compute
from course.jobs.local.events import RunChanged, RunFinished, RunStarted
from course.jobs.local.execution import Execution, RunOptions
from course.jobs.local.history import History
from course.jobs.local.listeners import HistoryRecorder, NotificationListener, ProgressListener
from course.jobs.local.loop import RunLoop
from course.jobs.local.plan import RunError, Scope, layer_scope, provided_upstream, repair_scope, \
    repair_selection, run_scope
from course.jobs.model import dag, params
from course.platform import lifeline, paths

__all__ = ["LocalRunner", "RunError", "RunOptions"]


class LocalRunner:
    """Runs and repairs one loaded job (`spec.LoadedJob`) against a run history."""

    def __init__(self, loaded, history: History | None = None, options: RunOptions | None = None):
        self.loaded = loaded
        self.settings = loaded.settings
        self.history = history or History()
        self.options = options or RunOptions()
        self.ex = Execution(self.settings, self.history, self.options)
        self.ex.loaded = loaded
        self._notifier = None       # notify.Notifier, made per run or repair
        self._notifications = None  # its NotificationListener
        self._cluster_map: tuple[dict, str | None] = ({}, None)  # DAY7_CLUSTERS, read per run
        self.ex.recorder = HistoryRecorder(self.history)  # for-each iterations are only recorded
        self.ex.bus.subscribe(self.ex.recorder)  # first: the others read what it wrote
        if self.options.on_update:
            self.ex.bus.subscribe(ProgressListener(self.options.on_update, self.history))
        self.ex.bus.subscribe(lambda event: self._notifications(event))

    # ------------------------------------------------------------ public API

    def run(self) -> int:
        """Start a new run of the job; returns its run_id once it has ended."""
        self._start_notifier()  # a bad notification setting: nothing written yet
        self._note_orphans()
        ex = self.ex
        job_id = self.history.ensure_job(self.settings.name or self.loaded.key, self.settings.as_dict(),
                                         source={"file": str(Path(self.loaded.source).resolve()),
                                                 "job_key": self.loaded.key, "target": self.loaded.target})
        scope_keys = layer_scope(ex.by_key, self.options.layers)
        provided = provided_upstream(self.settings, ex.by_key, self.history, job_id, scope_keys)
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
            self._end_early(RunFinished(run_id, "INTERNAL_ERROR", "FAILED", str(exc),
                                        termination_code="INVALID_RUN_CONFIGURATION"))
            raise RunError(str(exc)) from None
        self.history.set_job_parameters(run_id, job_params)
        if not self._admit(job_id, run_id):
            return run_id
        self._execute(job_id, run_scope(self.settings, record, job_params, scope_keys, provided))
        return run_id

    def repair(self, run_id: int, rerun_tasks: list[str] | None = None, rerun_dependents: bool = False,
               overrides: dict[str, str] | None = None) -> int:
        """Re-run failed tasks (or `rerun_tasks`) inside run `run_id`, with the current job definition."""
        self._start_notifier()
        self._note_orphans()
        record = self.history.run_record(run_id)
        self._check_same_job(record)
        if not record.terminal:
            raise RunError(f"run {run_id} is still {record.life_cycle_state}: only a finished run can be repaired")
        latest = self.history.latest_task_runs(run_id)
        selected = repair_selection(self.settings, latest, run_id, rerun_tasks, rerun_dependents)
        defined = {p.name for p in self.settings.parameters or []}
        merged = {k: v for k, v in record.job_parameters.items() if k in defined}
        merged.update(overrides or {})
        ctx = params.RefContext(job_id=record.job_id, job_name=self.settings.name, run_id=run_id,
                                repair_count=record.repair_count + 1,
                                start_time_ms=record.start_time, trigger_type=record.trigger)
        self.ex.trigger = record.trigger
        try:
            job_params = params.resolve_job_parameters(self.settings, merged, ctx)
        except params.ParamError as exc:
            raise RunError(str(exc)) from None
        repair_id = self.history.create_repair(run_id, sorted(selected), job_params,
                                               latest_repair_id=record.latest_repair_id)
        scope = repair_scope(self.settings, self.ex.by_key, record, repair_id, self.history.repair_count(run_id),
                             job_params, latest, self.history.task_values(run_id), selected)
        self._execute(record.job_id, scope)
        return run_id

    def _check_same_job(self, record) -> None:
        """A run is repaired with the job it is a run of (as it is defined now), never another."""
        name, _ = self.history.job_settings(record.job_id)
        mine = self.settings.name or self.loaded.key
        if name == mine:
            return
        source = self.history.job_source(record.job_id)
        where = f" (--job {source['file']} --job-key {source['job_key']})" if source else ""
        raise RunError(f"run {record.run_id} is a run of job '{name}', not of '{mine}' from "
                       f"{self.loaded.source}: repair it with the job it came from{where}")

    def cancel(self, why: str = "CANCELED") -> None:
        """Stop the run: running attempts are killed, nothing new starts."""
        self.ex.cancel(why)

    # ------------------------------------------------------------ preparation

    def _start_notifier(self) -> None:
        from course.jobs.notify import Notifier, NotifyConfigError

        try:
            notifier = Notifier(self.settings, on_note=self.ex.note)
        except NotifyConfigError as exc:  # before anything runs: exit 2, nothing changed
            raise RunError(str(exc)) from None
        self._notifier = notifier
        self._notifications = NotificationListener(notifier, self.history)
        from course.jobs.local.compute.mapping import ClusterMapError, load_cluster_map

        try:
            self._cluster_map = load_cluster_map()  # DAY7_CLUSTERS: a bad file is exit 2 too
        except ClusterMapError as exc:
            raise RunError(str(exc)) from None

    def _end_early(self, finished: RunFinished) -> None:
        """The run ended before it ran anything (bad parameters, skipped or canceled in the queue)."""
        self.ex.bus.emit(finished)
        self._notifier.close(15)

    def _note_orphans(self) -> None:
        for run_id in self.history.close_orphans():
            self.ex.note(f"run {run_id} was left unfinished by a runner that stopped; "
                         f"closed as INTERNAL_ERROR (repair it with: runner.py repair {run_id})")

    def _admit(self, job_id: int, run_id: int) -> bool:
        limit = self.settings.max_concurrent_runs if self.settings.max_concurrent_runs is not None else 1
        queue_enabled = bool(self.settings.queue and self.settings.queue.enabled)
        verdict = self.history.admit(job_id, run_id, limit, queue_enabled)
        if verdict == "SKIP":
            self._end_early(RunFinished(run_id, "SKIPPED", "MAXIMUM_CONCURRENT_RUNS_REACHED",
                                        f"Skipped: the job already has {limit} active run(s) "
                                        "(max_concurrent_runs) and queueing is off"))
            return False
        if verdict == "QUEUE":
            self.ex.bus.emit(RunChanged(run_id))
            self.ex.note(f"queued: the job already has {limit} active run(s); waiting for a slot")
            try:
                if not self.history.wait_for_slot(run_id, max_concurrent_runs=limit,
                                                  timeout=self.options.max_queue_seconds):
                    record = self.history.run_record(run_id)  # ended while queued (canceled elsewhere)
                    self._notifications(RunFinished(run_id, record.life_cycle_state, record.result_state or ""))
                    self._notifier.close(15)
                    return False
            except TimeoutError:
                # Databricks keeps a run queued "for up to 48 hours"; then the platform ends it
                # (TIMEDOUT here, termination code CANCELED: the kit's reading).
                limit_s = self.options.max_queue_seconds
                said = f"{limit_s / 3600:g} hours" if limit_s >= 3600 else f"{limit_s:g} seconds"
                self._end_early(RunFinished(run_id, "TERMINATED", "TIMEDOUT",
                                            f"Run was canceled by the platform: queued for more than {said}"))
                return False
            except KeyboardInterrupt:
                self._end_early(RunFinished(run_id, "TERMINATED", "CANCELED", "Canceled while queued"))
                raise
        return True

    # ------------------------------------------------------------ one execution

    def _execute(self, job_id: int, scope: Scope) -> None:
        ex = self.ex
        ex.run_dir = paths.runs_dir() / str(scope.run_id)
        ex.run_dir.mkdir(parents=True, exist_ok=True)
        self._notifier.run_dir = ex.run_dir  # e-mails point at the run's folder
        ex.job_id = job_id
        ex.compute = Compute(self.settings, ex.by_key, ex.run_dir, ex.note, on_lost=ex.cluster_lost,
                             libraries=getattr(self.loaded, "libraries", None),
                             resources_clusters=getattr(self.loaded, "clusters", None), cluster_map=self._cluster_map)
        loop = RunLoop(ex, scope)
        job_timer = None
        restore_signals = self._trap_signals()
        try:
            ex.bus.emit(RunStarted(scope.run_id, scope.repair_id))
            ex.bus.emit(RunChanged(scope.run_id))
            needed = ex.compute.needed(scope.to_run)
            if needed:
                from course.runtime import delta
                delta.announce(say=ex.note if self.options.on_note else None)
                own = sorted(k for k in needed if not k.startswith("all-purpose:"))
                if own:
                    ex.note(f"starting job cluster {', '.join(own)} (local Spark Connect)")
                ex.compute.start_clusters(needed)
            _preimport()  # after the JVM was launched: these imports would delay it
            self._prestart(scope)
            if self.settings.timeout_seconds:
                job_timer = threading.Timer(self.settings.timeout_seconds, self.cancel, args=("TIMEDOUT",))
                job_timer.daemon = True
                job_timer.start()
            loop.run()
        except KeyboardInterrupt:
            self.cancel("CANCELED")
            loop.drain()
        finally:
            restore_signals()
            if job_timer:
                job_timer.cancel()
            ex.bus.emit(loop.verdict())  # recorded before the cluster stops: nothing finished is lost
            ex.compute.shutdown()
            self._notifier.close(15)

    def _prestart(self, scope: Scope) -> None:
        ordered = []
        for key in (k for k in dag.topological_order(scope.tasks) if k in scope.to_run):
            task = self.ex.by_key[key]
            nested = task.for_each_task.task if task.for_each_task is not None else None
            if task.notebook_task is not None:
                ordered.append(task)
            elif nested is not None and nested.notebook_task is not None:
                ordered.append(dataclasses.replace(nested, task_key=key))  # its first iteration's kernel
        first = set(dag.ready(scope.tasks, scope.results, (), scope.outcomes))
        self.ex.compute.prestart(ordered, first, self.options.max_parallel)

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


def _preimport() -> None:
    """papermill and scrapbook take ~2 s to import: load them while kernels boot."""
    def load():
        lifeline.lower_thread_priority()
        import papermill  # noqa: F401
        import scrapbook  # noqa: F401
    threading.Thread(target=load, daemon=True, name="preimport").start()
