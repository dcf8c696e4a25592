"""Time to a usable Spark session: a cold local session vs connecting to a running job cluster.

Each measurement is a fresh Python process (as a notebook kernel would be) that
creates its session and runs a small aggregation. Prints medians.

    python bench/bench_spark.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

PROBE = """
import time
t0 = time.perf_counter()
from course.runtime.spark import get_spark
s = get_spark()
t1 = time.perf_counter()
s.range(100000).selectExpr("id % 10 AS k").groupBy("k").count().collect()
t2 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t0:.3f}")
"""


def probe(env: dict) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=300)
    if out.returncode != 0:
        sys.exit(f"probe failed:\n{out.stderr[-2000:]}")
    ready, query = map(float, out.stdout.split()[-2:])
    return ready, query


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DAY7_HOME", tempfile.mkdtemp(prefix="day7-bench-"))
    os.environ["DAY7_QUIET_STORAGE"] = "1"
    from course.jobs.local.compute.cluster import LocalCluster

    local_env = {k: v for k, v in os.environ.items() if k != "SPARK_REMOTE"}
    cold = [probe(local_env) for _ in range(args.repeat)]

    started = time.perf_counter()
    cluster = LocalCluster()
    cluster.start()
    boot = time.perf_counter() - started
    try:
        remote_env = dict(local_env, SPARK_REMOTE=cluster.url)
        probe(remote_env)  # the server's first query compiles code paths once per cluster
        warm = [probe(remote_env) for _ in range(args.repeat)]
    finally:
        cluster.stop()

    def med(values, i):
        return statistics.median(v[i] for v in values)

    print(f"{'session':<36}{'ready':>8}{'+ query':>10}")
    print(f"{'local session, fresh JVM':<36}{med(cold, 0):>7.2f}s{med(cold, 1):>9.2f}s")
    print(f"{'Spark Connect to running cluster':<36}{med(warm, 0):>7.2f}s{med(warm, 1):>9.2f}s")
    print(f"{'(job cluster boot, once per run)':<36}{boot:>7.2f}s")
    print(f"speed-up per task: {med(cold, 1) / med(warm, 1):.1f}x  (median of {args.repeat})")


if __name__ == "__main__":
    main()
