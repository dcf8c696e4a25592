"""The compute of one run (or repair): its job clusters and the kernel pools on them.

A job cluster starts when the run needs it and stops when the run ends. Kernels are
started ahead of time per (cluster, folder) so that a task never waits for one to boot.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from course.jobs.local.compute import allpurpose
from course.jobs.local.compute.cluster import LocalCluster
from course.jobs.local.compute.env import child_env
from course.jobs.local.compute.handles import AllPurposeCluster, MappedEndpoint
from course.jobs.local.executors.base import Attempt, Outcome


ALL_PURPOSE = "all-purpose:"   # prefix of the cluster key of an existing_cluster_id task


class Compute:
    """Clusters and kernel pools for the tasks in `by_key`, logs under `run_dir`."""

    def __init__(self, settings, by_key: dict[str, Any], run_dir: Path, note: Callable[[str], None],
                 on_lost: Callable[[str, str], None] = lambda key, message: None, libraries=None,
                 resources_clusters: dict | None = None, cluster_map: tuple[dict, str | None] = ({}, None)):
        self.settings = settings
        self.libraries = libraries   # spec.LibraryPlan: tasks with libraries get kernels in their environment
        self.resources_clusters = resources_clusters or {}  # the bundle's resources.clusters
        self.cluster_map, self.map_file = cluster_map          # DAY7_CLUSTERS (mapping.py)
        self.by_key = by_key
        self.run_dir = run_dir
        self._note = note
        self._on_lost = on_lost      # (cluster key, message): a cluster died under its tasks
        self.clusters: dict[str, Any] = {}
        self._errors: dict[str, str] = {}
        self._lost: dict[str, str] = {}     # cluster key -> why it terminated (until replaced)
        self._generation: dict[str, int] = {}
        self._ready: dict[str, threading.Event] = {}
        self._pools: dict[tuple, Any] = {}
        self._lock = threading.Lock()
        self._closing = False

    # ------------------------------------------------------------ clusters

    def cluster_key(self, task) -> str | None:
        """Which local job cluster a task runs on (None: none; Spark then starts in the kernel)."""
        if task.for_each_task is not None and task.for_each_task.task is not None:
            task = task.for_each_task.task  # its iterations run on the nested task's compute
        if task.job_cluster_key:
            return task.job_cluster_key
        if task.new_cluster is not None:
            return f"task:{task.task_key}"
        if task.pipeline_task is not None and self.settings.job_clusters:
            return self.settings.job_clusters[0].job_cluster_key  # a pipeline update runs on the run's cluster
        if task.existing_cluster_id:  # one all-purpose cluster per id, shared by tasks and runs
            return ALL_PURPOSE + allpurpose.cluster_key_of(task.existing_cluster_id)
        return None

    def _cluster_spec(self, key: str):
        if key.startswith("task:"):  # a task's own new_cluster (or a for-each's nested task's)
            for task in self.by_key.values():
                for t in (task, task.for_each_task.task if task.for_each_task is not None else None):
                    if t is not None and t.task_key == key[5:] and t.new_cluster is not None:
                        return t.new_cluster
            return None
        for jc in self.settings.job_clusters or []:
            if jc.job_cluster_key == key:
                return jc.new_cluster
        return None

    def needed(self, keys: Iterable[str]) -> set[str]:
        return {self.cluster_key(self.by_key[k]) for k in keys} - {None}

    def start_clusters(self, keys: set[str]) -> None:
        for key in sorted(keys):
            self.clusters[key] = self._make(key)
            self._ready[key] = threading.Event()
            threading.Thread(target=self._boot, args=(key,), daemon=True, name=f"cluster-{key}").start()

    def _make(self, key: str):
        """A mapped endpoint, a (new or warm) all-purpose cluster, or a new job cluster."""
        name = key[len(ALL_PURPOSE):] if key.startswith(ALL_PURPOSE) else key
        mapped = self.cluster_map.get(name)
        if mapped and mapped.startswith("sc://"):
            self._note(f"cluster {name}: the Spark Connect server {mapped} (from {self.map_file})")
            return MappedEndpoint(name, mapped, self.map_file)
        if key.startswith(ALL_PURPOSE) and not mapped:
            spec = allpurpose.ClusterSpec.from_resource(name, self.resources_clusters.get(name))
            cluster = AllPurposeCluster(spec)
            warm = allpurpose.is_running(allpurpose.read_state(name))
            self._note(f"all-purpose cluster {name}: " + ("running, attaching" if warm else
                       f"starting (it stays up; auto-terminates after {spec.autotermination_minutes:g} "
                       "minutes without work)"))
            return cluster
        spec = None if key.startswith(ALL_PURPOSE) else self._cluster_spec(key)
        conf = dict(spec.spark_conf or {}) if spec is not None else {}
        workers = 0 if spec is None else (spec.num_workers or (spec.autoscale.min_workers if spec.autoscale else 0) or 0)
        generation = self._generation.get(key, 0)
        name = key.replace(":", "-") + (f"-{generation + 1}" if generation else "")
        if mapped:
            self._note(f"cluster {key}: a local driver on the standalone master {mapped} (from {self.map_file})")
        elif workers:
            self._note(f"job cluster {key}: a standalone master and {workers} workers")
        return LocalCluster(conf, name=name, log_path=self.run_dir / f"cluster-{name}.log",
                            workers=0 if mapped else workers, master=mapped)

    def _boot(self, key: str) -> None:
        cluster = self.clusters[key]
        started = False
        try:
            cluster.start()
            started = True
        except Exception as exc:  # reported by every task that needs it
            own = isinstance(cluster, LocalCluster)
            self._errors[key] = f"job cluster '{key}' failed to start: {exc}" if own else str(exc)
        finally:
            self._ready[key].set()
            if self._closing:  # the run ended (Ctrl-C) while the cluster was starting
                cluster.stop()
        if started:
            self._watch(key, cluster)

    def _watch(self, key: str, cluster) -> None:
        """Notice within a second when the JVM dies under the run (a Spark Connect client
        would retry for ten minutes): its tasks fail at once, naming the cluster and its log."""
        while not self._closing and cluster.running:
            time.sleep(0.25)
        if self._closing or self.clusters.get(key) is not cluster:
            return
        message = (f"Cluster '{key}' terminated unexpectedly: {cluster.exit_description()}; "
                   f"see its log {cluster.log_path}")
        self._lost[key] = message
        self._note(message)
        self._on_lost(key, message)

    def _replace_lost(self, key: str) -> None:
        """A task needs a cluster that died: start a new one, as Databricks does for a retry."""
        with self._lock:
            if key not in self._lost:
                return
            del self._lost[key]
            for pool_key in [k for k in self._pools if k[0] == key]:
                self._pools.pop(pool_key).close()  # their kernels were connected to the dead JVM
            self._generation[key] = self._generation.get(key, 0) + 1
            self._note(f"starting a new job cluster {key} (the previous one terminated)")
            self.start_clusters({key})

    def wait_ready(self, task, attempt: Attempt) -> Outcome | None:
        """Wait for the task's cluster; an outcome when the attempt cannot go on (stopped, no cluster)."""
        key = self.cluster_key(task)
        if not key:
            return None
        self._replace_lost(key)
        while not self._ready[key].wait(0.1):  # a cancel must not wait for the JVM
            if attempt.stopped_as:
                return attempt.stopped_outcome()
        if key in self._errors:
            return Outcome("INTERNAL_ERROR", self._errors[key])
        return None

    def remote_url(self, task) -> str | None:
        key = self.cluster_key(task)
        return self.clusters[key].url if key else None

    # ------------------------------------------------------------ kernels

    def pool(self, task, environment=None):
        """The kernel pool for the task's cluster and folder; `environment` (environments.Prepared):
        kernels run with that environment's Python instead of the kit's."""
        from course.jobs.local.compute.kernels import KernelPool

        key = self.cluster_key(task)
        cwd = str(Path(task.notebook_task.notebook_path).parent)
        pool_key = (key, self._generation.get(key, 0), cwd, str(environment.folder) if environment else None)
        if pool_key not in self._pools:
            # The port is known before the server answers; kernels connect after the gate.
            env = child_env(self.clusters[key].url if key else None)
            gate = self._ready.get(key) if key else None
            kernel = {}
            if environment is not None:
                from course.jobs.local.environments import KERNEL_NAME, kernel_dir
                kernel = {"kernel_name": KERNEL_NAME, "kernel_dirs": [kernel_dir(environment)]}

            def own_pool():
                return KernelPool(env, size=1, wait_before_warmup=gate, cwd=cwd, **kernel)
            cluster = self.clusters.get(key)
            if environment is None and isinstance(cluster, AllPurposeCluster) and cluster.spec.repls:
                # the cluster's supervisor keeps warm REPLs: a task takes one (handover.py)
                from course.jobs.local.compute.handover import WarmPool
                self._pools[pool_key] = WarmPool(cluster.spec.key, env, cwd, own_pool, self._note)
            else:
                self._pools[pool_key] = own_pool()
        return self._pools[pool_key]

    def prestart(self, ordered_notebook_tasks: list, first: set[str], max_parallel: int) -> None:
        """Start a kernel for each task that can start first, and one for the next; that one
        only once the job cluster is up (it is not needed before, and would slow its start)."""
        budget, extra = max_parallel + 1, 1
        for task in ordered_notebook_tasks:
            if budget <= 0:
                break
            environment = None
            if installs_libraries(task):
                # Its environment must be built first, by the task (notebook executor), unless cached.
                from course.jobs.local import environments
                environment = environments.cached(self.libraries, self.settings, task) if self.libraries else None
                if environment is None:
                    continue
            if task.task_key in first:
                self.pool(task, environment).prestart(1)
            elif extra:
                self.pool(task, environment).prestart(1, after_gate=True)
                extra -= 1
            else:
                continue
            budget -= 1

    def refill(self, pool, waiting_tasks: list) -> None:
        """A task took its kernel: have one warming if another waiting task uses this pool."""
        if any(t.notebook_task is not None and not installs_libraries(t) and self.pool(t) is pool
               for t in waiting_tasks):
            pool.top_up(1, after_gate=True)

    # ------------------------------------------------------------ the end

    def shutdown(self) -> None:
        self._closing = True
        for pool in self._pools.values():
            pool.close()
        for key, cluster in self.clusters.items():
            if cluster.class_cache is not None and cluster.class_cache.building and cluster.running:
                self._note(f"job cluster {key}: saving its class archive so that later clusters start "
                           "faster (once per machine, a few seconds)")
            cluster.stop()


def installs_libraries(task) -> bool:
    """Whether the task runs in an environment of its own (libraries or an environment_key)."""
    return bool(task.libraries or task.environment_key)
