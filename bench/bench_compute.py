"""Compute: the sample job on a job cluster vs a warm all-purpose cluster; 1 vs 2 workers.

1. The Day 7 job (databricks.yml, the committed sample) run in this process by
   `LocalRunner`: on its job cluster (starts and stops with the run), then on an
   all-purpose cluster, once cold (it starts) and `--repeat` times warm.
2. The same job on `--rows` generated rows with a job cluster of 1 and of 2 workers
   (a standalone master and workers, 512 MB each), with the peak RSS of each JVM role.

    python bench/bench_compute.py [--repeat 2] [--rows 1000000] [--skip-workers]
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def run(loaded, **options) -> tuple[float, str]:
    from course.jobs.local.history import History
    from course.jobs.local.runner import LocalRunner, RunOptions

    started = time.perf_counter()
    runner = LocalRunner(loaded, History(), RunOptions(**options))
    run_id = runner.run()
    state = runner.history.get_run(run_id).state
    return time.perf_counter() - started, getattr(state.result_state, "value", state.result_state)


def on_all_purpose(loaded, key: str = "bench_ap"):
    """The job with every task on one all-purpose cluster instead of its job cluster."""
    moved = copy.deepcopy(loaded)
    for task in moved.settings.tasks:
        task.job_cluster_key, task.existing_cluster_id = None, f"${{resources.clusters.{key}.id}}"
    moved.settings.job_clusters = None
    moved.clusters = {key: {"num_workers": 0, "autotermination_minutes": 10}}
    return moved


def with_workers(loaded, workers: int):
    moved = copy.deepcopy(loaded)
    for jc in moved.settings.job_clusters:
        jc.new_cluster.num_workers = workers
    return moved


class PeakRss:
    """Peak resident memory per JVM role (driver, master, worker, executor) while a run lasts."""

    ROLES = {"SparkConnectServer": "driver", "deploy.master.Master": "master",
             "deploy.worker.Worker": "worker", "CoarseGrainedExecutorBackend": "executor"}

    def __init__(self):
        self.peak: dict[str, int] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()

    def _watch(self):
        import psutil

        home = os.environ["DAY7_HOME"]
        while not self._done.wait(0.5):
            for proc in psutil.process_iter(["cmdline", "memory_info", "environ"]):
                cmd = " ".join(proc.info["cmdline"] or [])
                if "java" not in cmd or (proc.info["environ"] or {}).get("DAY7_HOME") != home:
                    continue
                for marker, role in self.ROLES.items():
                    if marker in cmd and proc.info["memory_info"]:
                        self.peak[role] = max(self.peak.get(role, 0), proc.info["memory_info"].rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-workers", action="store_true")
    args = parser.parse_args()
    os.environ["DAY7_HOME"] = tempfile.mkdtemp(prefix="day7-bench-compute-")
    os.environ["DAY7_QUIET_STORAGE"] = "1"
    from course.jobs.local.compute import allpurpose
    from course.jobs.spec import load_job

    loaded = load_job(REPO / "databricks.yml")
    rows = []
    job = [run(loaded)[0] for _ in range(args.repeat)]
    rows.append(("sample job, job cluster (starts and stops per run)", statistics.median(job)))
    shared = on_all_purpose(loaded)
    try:
        cold, state = run(shared)
        assert state == "SUCCESS", state
        rows.append(("sample job, all-purpose cluster, first run (cluster starts)", cold))
        warm = [run(shared)[0] for _ in range(args.repeat)]
        rows.append(("sample job, all-purpose cluster, warm", statistics.median(warm)))
    finally:
        allpurpose.stop("bench_ap")
    print(f"\n{'what':<64} {'seconds':>8}")
    for what, seconds in rows:
        print(f"{what:<64} {seconds:>8.1f}")
    print(f"warm all-purpose vs job cluster: {statistics.median(job) / statistics.median(warm):.2f}x faster")

    if args.skip_workers:
        return
    out = "/Volumes/workspace/day7/raw/bench/events.csv"
    subprocess.run([sys.executable, str(REPO / "runner.py"), "data", "generate", "--rows", str(args.rows),
                    "--out", out], check=True, env=dict(os.environ), capture_output=True)
    big = load_job(REPO / "databricks.yml", variables={"source_path": out, "max_quarantine_share": "1"})
    print(f"\n{args.rows:,} generated rows, job cluster with standalone workers (512 MB each)")
    print(f"{'workers':>7} {'seconds':>8}  peak RSS per JVM (MB)")
    for workers in (1, 2):
        with PeakRss() as rss:
            seconds, state = run(with_workers(big, workers))
        mem = ", ".join(f"{role} {rss.peak[role] / 2**20:.0f}" for role in ("driver", "master", "worker", "executor")
                        if role in rss.peak)
        print(f"{workers:>7} {seconds:>8.1f}  {mem}  ({state})")


if __name__ == "__main__":
    main()
