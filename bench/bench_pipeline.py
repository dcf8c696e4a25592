"""Pipeline start overhead: one pipeline_task update against the same work as a plain Python task.

On one running job cluster (a Spark Connect server), each measurement is a fresh process:

* pipeline: `course.runtime.pipelines.driver` on a one-dataset pipeline (a materialized
  view over 100,000 generated rows, one expectation): session, dataflow graph,
  registration, the update, row and expectation counts;
* plain: the same query written with `saveAsTable` by a Python process (what a
  spark_python_task does), and its row count.

The difference of the medians is the pipeline's own start overhead. Also printed: how
long the job cluster took to boot (a pipeline task on a job without job clusters starts a
cluster of its own and pays it once more).

    python bench/bench_pipeline.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN = """
from course.runtime.spark import get_spark
s = get_spark()
s.sql("CREATE SCHEMA IF NOT EXISTS bench_plain")
s.sql("SELECT id, id % 7 AS k FROM range(100000)").groupBy("k").count() \\
    .write.mode("overwrite").saveAsTable("bench_plain.counts")
print(s.table("bench_plain.counts").count())
"""
SQL = """CREATE OR REFRESH MATERIALIZED VIEW counts (
  CONSTRAINT some_rows EXPECT (count > 0)
) AS SELECT k, count(*) AS count FROM (SELECT id, id % 7 AS k FROM range(100000)) GROUP BY k;
"""


def timed(cmd: list[str], env: dict, cwd: str) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=900)
    if out.returncode != 0:
        sys.exit(f"{cmd[-1]} failed:\n{out.stdout[-3000:]}{out.stderr[-2000:]}")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DAY7_HOME"] = tmp
        from course.jobs.local.compute.cluster import LocalCluster
        from course.jobs.local.compute.env import child_env

        (Path(tmp) / "counts.sql").write_text(SQL)
        cluster = LocalCluster(name="bench-pipeline", log_path=Path(tmp) / "cluster.log")
        t0 = time.perf_counter()
        cluster.start()
        boot = time.perf_counter() - t0
        env = child_env(cluster.url)
        pipeline, plain, setup, update = [], [], [], []
        try:
            for i in range(args.repeat):
                spec = {"name": "bench", "schema": "bench_pipeline", "configuration": {},
                        "files": [str(Path(tmp) / "counts.sql")], "root": tmp,
                        "storage": (Path(tmp) / "storage").as_uri(), "full_refresh": i == 0,
                        "summary": str(Path(tmp) / f"summary-{i}.json")}
                (Path(tmp) / "spec.json").write_text(json.dumps(spec))
                pipeline.append(timed([sys.executable, "-m", "course.runtime.pipelines.driver",
                                       str(Path(tmp) / "spec.json")], env, tmp))
                summary = json.loads(Path(spec["summary"]).read_text())
                setup.append(summary["setup_seconds"])
                update.append(summary["update_seconds"])
                plain.append(timed([sys.executable, "-c", PLAIN], env, tmp))
        finally:
            cluster.stop()
    med = statistics.median
    print(f"job cluster boot (once per run; again for a pipeline with a cluster of its own): {boot:.1f} s")
    print(f"{'':<44}{'median':>8}  runs")
    rows = [("pipeline update, process start to exit", pipeline),
            ("  of which: session, graph, registration", setup),
            ("  of which: the update (flows, events)", update),
            ("plain Python task, same query", plain)]
    for label, values in rows:
        print(f"{label:<44}{med(values):>7.2f}s  " + ", ".join(f"{v:.2f}" for v in values))
    print(f"pipeline start overhead (pipeline - plain): {med(pipeline) - med(plain):.2f} s")
    print(f"load average during the run: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
