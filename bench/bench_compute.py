"""Compute: the sample job on a job cluster vs a warm all-purpose cluster; 1 vs 2 workers.

1. The Day 7 job (databricks.yml, the committed sample) run in this process by
   `LocalRunner`: on an all-purpose cluster once cold (it starts), then `--repeat` times
   each, interleaved (the machine's load drifts): on its job cluster (starts and stops
   with the run), warm on the all-purpose cluster with its warm REPLs (a task takes a
   kernel the cluster keeps ready), and warm without them (DAY7_CLUSTER_REPLS=0: the run
   starts a kernel per task, as before the REPLs). Each row: median seconds, per task
   (bronze / silver / gold) and outside tasks, and the load average at the time.
   Then the warm floor: the three notebooks' code cells in one process on the same warm
   cluster (no runner, no kernels), which no warm run can beat; job cluster / floor is the
   largest speed-up the warm cluster could give on this machine.
2. The same job on `--rows` generated rows with a job cluster of 1 and of 2 workers
   (a standalone master and workers, 512 MB each), with the peak RSS of each JVM role:
   bench/bench_workers.py, which also runs on its own.

    python bench/bench_compute.py [--repeat 2] [--rows 10000000] [--skip-workers]
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))   # bench_runner's one-process code


def run(loaded, **options) -> tuple[float, str]:
    seconds, state, _ = timed_run(loaded, **options)
    return seconds, state


def timed_run(loaded, **options) -> tuple[float, str, dict[str, float]]:
    """Seconds end to end, the result state, and seconds per task (from the run's history)."""
    from course.jobs.local.history import History
    from course.jobs.local.runner import LocalRunner, RunOptions

    started = time.perf_counter()
    runner = LocalRunner(loaded, History(), RunOptions(**options))
    run_id = runner.run()
    seconds = time.perf_counter() - started
    got = runner.history.get_run(run_id)
    tasks = {t.task_key: (t.end_time - t.start_time) / 1000 for t in got.tasks if t.start_time and t.end_time}
    return seconds, getattr(got.state.result_state, "value", got.state.result_state), tasks


class Series:
    """Repeated runs of one configuration: median end to end, per task, and the load."""

    def __init__(self, what: str):
        self.what, self.runs, self.loads = what, [], []

    def add(self, seconds: float, state: str, tasks: dict[str, float]) -> None:
        assert state == "SUCCESS", f"{self.what}: {state}"
        self.runs.append((seconds, tasks))
        self.loads.append(os.getloadavg()[0])

    @property
    def median(self) -> float:
        return statistics.median(s for s, _ in self.runs)

    def row(self) -> str:
        keys = list(self.runs[0][1])
        per_task = " / ".join(f"{statistics.median(t[k] for _, t in self.runs):.1f}" for k in keys)
        outside = statistics.median(s - sum(t.values()) for s, t in self.runs)
        loads = f"{min(self.loads):.0f}-{max(self.loads):.0f}" if len(self.loads) > 1 else f"{self.loads[0]:.0f}"
        return f"{self.what:<46} {self.median:>8.1f}  {per_task:<18} {outside:>7.1f}  {loads:>6}"


def warm_floor(key: str, source: str) -> tuple[float, int]:
    """Seconds of the notebooks' code cells in one process attached to the warm cluster
    `key` (imports and connecting not counted), and the Spark Connect requests they made."""
    from bench_runner import one_process_code

    from course.jobs.local.compute import allpurpose
    from course.jobs.local.compute.env import child_env

    url = (allpurpose.read_state(key) or {}).get("url")
    assert url, f"cluster {key} is not running"
    code = one_process_code(source, tempfile.mkdtemp(prefix="day7-floor-"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=child_env(url), cwd=REPO / "solutions")
    if out.returncode != 0:
        sys.exit(f"warm floor failed:\n{out.stderr[-3000:]}")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return got["seconds"], got["requests"]


def without_repls(loaded):
    """Run with the cluster's warm REPLs switched off for this run (each task starts its kernel)."""
    os.environ["DAY7_CLUSTER_REPLS"] = "0"
    try:
        return timed_run(loaded)
    finally:
        del os.environ["DAY7_CLUSTER_REPLS"]


def on_all_purpose(loaded, key: str = "bench_ap"):
    """The job with every task on one all-purpose cluster instead of its job cluster."""
    moved = copy.deepcopy(loaded)
    for task in moved.settings.tasks:
        task.job_cluster_key, task.existing_cluster_id = None, f"${{resources.clusters.{key}.id}}"
    conf = moved.settings.job_clusters[0].new_cluster.spark_conf or {}   # the same Spark settings
    moved.settings.job_clusters = None
    moved.clusters = {key: {"num_workers": 0, "autotermination_minutes": 10, "spark_conf": dict(conf)}}
    return moved


def workers_comparison(rows: int) -> None:
    """1 vs 2 standalone workers on `rows` generated rows (bench_workers.py, 20 minutes at most each)."""
    from bench_workers import compare

    compare(rows, [1, 2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--skip-workers", action="store_true")
    args = parser.parse_args()
    os.environ["DAY7_HOME"] = tempfile.mkdtemp(prefix="day7-bench-compute-")
    os.environ["DAY7_QUIET_STORAGE"] = "1"
    from course.jobs.local.compute import allpurpose
    from course.jobs.spec import load_job

    loaded = load_job(REPO / "databricks.yml")
    shared = on_all_purpose(loaded)
    cold = Series("all-purpose cluster, first run (it starts)")
    job = Series("job cluster (starts and stops per run)")
    warm = Series("all-purpose, warm, its warm REPLs")
    plain = Series("all-purpose, warm, a kernel per task")
    floor, requests = [], 0
    source = loaded.settings.parameters[0].default   # the job's source_path
    try:
        cold.add(*timed_run(shared))
        for _ in range(args.repeat):   # interleaved: the machine's load drifts
            job.add(*timed_run(loaded))
            warm.add(*timed_run(shared))
            plain.add(*without_repls(shared))
            seconds, requests = warm_floor("bench_ap", source)
            floor.append(seconds)
    finally:
        allpurpose.stop("bench_ap")
    print(f"\nthe sample job, median of {args.repeat}")
    print(f"{'where':<46} {'seconds':>8}  {'bronze/silver/gold':<18} {'outside':>7}  {'load':>6}")
    for series in (job, cold, plain, warm):
        print(series.row())
    print(f"warm all-purpose (REPLs) vs job cluster: {job.median / warm.median:.2f}x faster; "
          f"warm REPLs vs a kernel per task on the same warm cluster: {plain.median / warm.median:.2f}x")
    low = statistics.median(floor)
    print(f"warm floor: the notebooks' cells in one process on the warm cluster, {low:.1f} s "
          f"({requests} Spark Connect requests, {1000 * low / requests:.0f} ms each on average; "
          f"run by run {' '.join(f'{s:.1f}' for s in floor)})")
    print(f"  warm run / floor: {warm.median / low:.2f}x; job cluster / floor: {job.median / low:.2f}x "
          "(the most a warm cluster could gain here)")

    if args.skip_workers:
        return
    workers_comparison(args.rows)


if __name__ == "__main__":
    main()
