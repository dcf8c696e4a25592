"""The job cluster's start with the Spark UI off (the runner's default) and on (under `serve`).

Starts the Spark Connect JVM `--repeat` times each way, alternating so the machine's load
hits both alike, and prints the seconds until it accepts connections (median, min, max).
With the UI on it also checks the UI answers. The class archive (classcache.py) is used
as every run uses it.

    python bench/bench_spark_ui.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def start_once(ui: bool, folder: Path) -> float:
    from course.jobs.local.compute.cluster import UI_SWITCH, LocalCluster

    os.environ[UI_SWITCH] = "1" if ui else "0"
    cluster = LocalCluster(name="bench-ui" if ui else "bench", log_path=folder / f"cluster-{time.time_ns()}.log")
    started = time.perf_counter()
    try:
        cluster.start()
        took = time.perf_counter() - started
        if ui:
            with urllib.request.urlopen(cluster.ui_url, timeout=30) as reply:
                assert reply.status == 200, reply.status
        return took
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from course.platform import paths

    with tempfile.TemporaryDirectory(prefix="day7-bench-ui-") as home, paths.using_home(Path(home)):
        times: dict[bool, list[float]] = {False: [], True: []}
        start_once(False, Path(home))  # warm-up: the OS file cache, the class archive if missing
        for _ in range(args.repeat):
            for ui in (False, True):
                times[ui].append(start_once(ui, Path(home)))
    print(f"JVM start until it accepts connections, {args.repeat} times each, {os.cpu_count()} cores:")
    for ui, label in ((False, "Spark UI off (runner default)"), (True, "Spark UI on (under serve)")):
        t = times[ui]
        print(f"  {label:32s} median {statistics.median(t):5.2f} s  min {min(t):5.2f}  max {max(t):5.2f}")
    print(f"  difference of medians: {statistics.median(times[True]) - statistics.median(times[False]):+.2f} s")


if __name__ == "__main__":
    main()
