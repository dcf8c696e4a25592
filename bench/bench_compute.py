"""Compute: the sample job on a job cluster vs a warm all-purpose cluster; 1 vs 2 workers.

1. The Day 7 job (databricks.yml, the committed sample) run in this process by
   `LocalRunner`: on its job cluster (starts and stops with the run), then on an
   all-purpose cluster, once cold (it starts) and `--repeat` times warm.
2. The same job on `--rows` generated rows with a job cluster of 1 and of 2 workers
   (a standalone master and workers, 512 MB each), with the peak RSS of each JVM role:
   bench/bench_workers.py, which also runs on its own.

    python bench/bench_compute.py [--repeat 2] [--rows 10000000] [--skip-workers]
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
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


def workers_comparison(rows: int) -> None:
    """1 vs 2 standalone workers on `rows` generated rows (bench_workers.py, 20 minutes at most each)."""
    sys.path.insert(0, str(REPO / "bench"))
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
    workers_comparison(args.rows)


if __name__ == "__main__":
    main()
