"""`num_workers` / `autoscale.min_workers`: a real Spark standalone master and workers."""
from __future__ import annotations

import os
import socket
import threading

import pytest

from compute_fixtures import run_compute_job
from runner_fixtures import no_processes_left, processes_of

pytestmark = pytest.mark.slow

WORKER = "org.apache.spark.deploy.worker.Worker"
MASTER = "org.apache.spark.deploy.master.Master"


def test_a_two_worker_job_cluster_runs_two_worker_processes_and_its_shuffle_crosses_them(day7_home):
    seen: dict[str, set[int]] = {"workers": set(), "masters": set()}
    done = threading.Event()

    def watch():  # the cluster lives only as long as the run: look while it runs
        while not done.wait(0.5):
            for pid, cmd in processes_of(day7_home).items():
                if os.path.basename(cmd.split(" ", 1)[0]) != "java" or "org.apache.spark.launcher.Main" in cmd:
                    continue  # spark-class's bash and the helper that prints the java command line
                if WORKER in cmd:
                    seen["workers"].add(pid)
                elif MASTER in cmd:
                    seen["masters"].add(pid)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        result = run_compute_job("two_workers")
    finally:
        done.set()
        watcher.join()
    assert result.states == {"spread": "SUCCESS"}, result.message
    assert any("a standalone master and 2 workers" in n for n in result.notes)
    assert len(seen["masters"]) == 1 and len(seen["workers"]) == 2
    values = result.values("spread")
    assert values["keys"] == 97
    # The reduce side of the shuffle ran in two executors (one per worker) of one application.
    dirs = values["executor_dirs"]
    assert len(dirs) == 2 and len({d.rsplit("/", 1)[0] for d in dirs}) == 1 and "/app-" in dirs[0]
    no_processes_left(day7_home, timeout=30)


def test_a_master_port_taken_meanwhile_fails_the_start_naming_it(tmp_path):
    """Workers would register with whoever listens there; the start must not go on."""
    from course.jobs.local.compute.standalone import Standalone

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        standalone = Standalone(1, tmp_path, name="squat")
        standalone.port = squatter.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"port {standalone.port}, chosen for the standalone master, was taken"):
            standalone.start(timeout=60)
    assert standalone.pids() == []
