"""Workers: a real Spark standalone cluster (Spark's own cluster manager) on this machine.

A cluster with `num_workers: N` (or `autoscale.min_workers: N`) is a standalone
`Master` and N `Worker` processes, started with `spark-class` from the pyspark
installation; the Spark Connect server (the driver) then runs with
`--master spark://127.0.0.1:PORT` and its executors run inside the workers.
`num_workers: 0` stays single-node local mode (no master, no workers).

Each process is forked through `launch` (the lifeline, so it dies with whoever
started it) in a process group of its own: stopping a worker's group also stops
the executor JVMs it forked.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from course.platform import lifeline, paths

WORKER_MEMORY = "512m"   # per worker, and per executor: 2 cores and many JVMs on one machine


def _serving(port: int, master: subprocess.Popen, log: str) -> bool:
    from course.jobs.local.compute.cluster import serving  # cluster imports this module

    return serving(port, master, "standalone master", log)


class Standalone:
    """`start()` a master and `workers` workers; `master_url` is what the driver connects to."""

    def __init__(self, workers: int, log_dir: Path, name: str = "cluster", memory: str = WORKER_MEMORY):
        from course.jobs.local.compute.cluster import free_port

        self.workers = workers
        self.memory = memory
        self.log_dir = log_dir
        self.name = name
        self.port = free_port()
        self.ui_port = free_port()
        self.processes: list[subprocess.Popen] = []
        self.work_dir: str | None = None

    @property
    def master_url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    @property
    def json_url(self) -> str:
        """The master's status page as JSON (workers, their state, running applications)."""
        return f"http://127.0.0.1:{self.ui_port}/json/"

    def driver_conf(self) -> dict[str, str]:
        """What the driver needs to use the workers: one core and small memory per executor."""
        return {"spark.executor.memory": self.memory, "spark.executor.cores": "1",
                "spark.cores.max": str(self.workers), "spark.driver.host": "127.0.0.1",
                "spark.driver.bindAddress": "127.0.0.1", "spark.pyspark.python": sys.executable,
                # start tasks once every worker's executor has registered: executors start
                # late on a busy machine, and Spark's default 30 s would let a job start on one
                "spark.scheduler.minRegisteredResourcesRatio": "1.0",
                "spark.scheduler.maxRegisteredResourcesWaitingTime": "120s"}

    def _launch(self, role: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        from course.runtime.spark import spark_home

        spark_class = spark_home() / "bin" / "spark-class"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{self.name}-{role}.log", "ab") as log:
            process = lifeline.launch(
                subprocess.Popen, [str(spark_class), *args], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=env, preexec_fn=lifeline.process_group_preexec(signal.SIGTERM))
        self.processes.append(process)
        return process

    def start(self, timeout: float = 120) -> str:
        """Start the master and the workers; return once every worker has registered."""
        deadline = self.launch(timeout)
        self.wait_workers(deadline)
        return self.master_url

    def launch(self, timeout: float = 120) -> float:
        """Start the master, wait until it answers, start the workers; return the deadline
        for `wait_workers`. A driver may start meanwhile: the master gives it executors as
        the workers register (the job cluster starts its driver while they boot)."""
        from course.runtime.spark import CONF_DIR, spark_home

        self.work_dir = tempfile.mkdtemp(prefix=f"day7-{self.name}-workers-")
        env = dict(paths.child_environment(), SPARK_HOME=str(spark_home()),
                   SPARK_CONF_DIR=str(CONF_DIR), SPARK_LOCAL_IP="127.0.0.1", SPARK_DAEMON_MEMORY="256m",
                   SPARK_DAEMON_JAVA_OPTS="-XX:-UsePerfData", SPARK_WORKER_DIR=self.work_dir)
        env.pop("SPARK_REMOTE", None)
        deadline = time.monotonic() + timeout
        master = self._launch("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                          "--port", str(self.port), "--webui-port", str(self.ui_port)], env)
        try:
            self._wait(lambda: _serving(self.port, master, f"{self.log_dir}/{self.name}-master.log"),
                       master, "master", deadline)
        except RuntimeError:
            self.stop()
            raise
        for i in range(self.workers):
            self._launch(f"worker-{i + 1}", ["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                                             "--cores", "1", "--memory", self.memory, "--webui-port", "0",
                                             self.master_url], env)
        return deadline

    def wait_workers(self, deadline: float) -> None:
        self._wait(lambda: self.alive_workers() >= self.workers, self.processes[0], "workers", deadline)

    def _wait(self, ready, master: subprocess.Popen, what: str, deadline: float) -> None:
        while not ready():
            dead = [p for p in self.processes if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                self.stop()
                why = "exited" if dead else "did not come up in time"
                raise RuntimeError(f"the standalone {what} {why}; see {self.log_dir}/{self.name}-*.log")
            time.sleep(0.2)

    def status(self) -> dict:
        """The master's /json page: workers, cores, running applications."""
        with urllib.request.urlopen(self.json_url, timeout=2) as reply:
            return json.load(reply)

    def alive_workers(self) -> int:
        try:
            return sum(1 for w in self.status().get("workers", []) if w.get("state") == "ALIVE")
        except OSError:
            return 0

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.poll() is None]

    def stop(self, timeout: float = 10) -> None:
        """Stop workers (and the executors in their process groups), then the master."""
        for process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for process in self.processes:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        if self.work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)
            self.work_dir = None
