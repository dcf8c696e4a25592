"""Workers: generated rows through the Day 7 job on a job cluster of 1 and of 2 standalone workers.

Each configuration is one `python runner.py` (the job of databricks.yml, `--var num_workers=N`)
from an empty state folder, on the same generated CSV. While it runs, the resident memory of
every JVM it started is sampled; the table shows each JVM's peak by role (driver = the Spark
Connect server, master, worker, executor). A configuration that passes `--limit` minutes is
stopped (SIGTERM: the runner cancels the run and stops its JVMs) and reported as such.

Workers get 512 MB and 1 core each (course/jobs/local/compute/standalone.py); the driver
2 GB. One worker gives the executors 1 of this machine's 2 cores, two give them both, each
in a JVM of its own: the comparison shows what a real cluster's processes cost in memory,
and the time on a shared machine (print the load with it).

    python bench/bench_workers.py [--rows 10M] [--workers 1 2] [--limit 20]
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def count(text: str) -> int:
    """10M, 200k, 1_000_000 -> rows."""
    text = text.strip().upper().replace("_", "")
    scale = {"K": 10**3, "M": 10**6}.get(text[-1:], 1)
    return int(float(text.rstrip("KM")) * scale)


class PeakRss:
    """Peak resident memory of each JVM (by pid) a run started, found by its DAY7_HOME."""

    ROLES = {"SparkConnectServer": "driver", "deploy.master.Master": "master",
             "deploy.worker.Worker": "worker", "CoarseGrainedExecutorBackend": "executor"}

    def __init__(self, home: str):
        self.home = home
        self.peak: dict[int, tuple[str, int]] = {}   # pid -> (role, bytes)
        self.loads: list[float] = []                  # the 1-minute load average, sampled
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        import psutil

        while not self._done.wait(0.5):
            self.loads.append(os.getloadavg()[0])
            for proc in psutil.process_iter(["cmdline", "memory_info", "environ"]):
                cmd = proc.info["cmdline"] or []
                # java only: spark-class's bash and its launcher.Main helper name the same classes
                if not cmd or os.path.basename(cmd[0]) != "java" or "org.apache.spark.launcher.Main" in cmd:
                    continue
                if (proc.info["environ"] or {}).get("DAY7_HOME") != self.home or not proc.info["memory_info"]:
                    continue
                line = " ".join(cmd)
                role = next((r for marker, r in self.ROLES.items() if marker in line), None)
                if role:
                    rss = proc.info["memory_info"].rss
                    self.peak[proc.pid] = (role, max(rss, self.peak.get(proc.pid, (role, 0))[1]))

    def summary(self) -> str:
        """`driver 820, master 240, worker 230 ×2, executor 610 ×2` (MB; the largest of a role, and how many)."""
        parts = []
        for role in ("driver", "master", "worker", "executor"):
            sizes = [rss for r, rss in self.peak.values() if r == role]
            if sizes:
                parts.append(f"{role} {max(sizes) / 2**20:.0f}" + (f" ×{len(sizes)}" if len(sizes) > 1 else ""))
        return ", ".join(parts) or "no JVM seen"


def run_job(workers: int, source: Path, limit_s: float) -> tuple[float, str, str, float]:
    """One run of the job on `workers` workers: (seconds, how it ended, peak RSS per JVM,
    mean load average while it ran)."""
    home = tempfile.mkdtemp(prefix=f"day7-bench-workers-{workers}-")
    env = dict(os.environ, DAY7_HOME=home, DAY7_QUIET_STORAGE="1")
    env.pop("SPARK_REMOTE", None)
    cmd = [sys.executable, str(REPO / "runner.py"), "--var", f"num_workers={workers}",
           "--param", f"source_path={source}", "--param", "max_quarantine_share=1"]
    started = time.perf_counter()
    with PeakRss(home) as rss, open(Path(home) / "runner.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            code = proc.wait(timeout=limit_s)
            ended = "SUCCESS" if code == 0 else f"exit {code}, see {home}/runner.log"
            if code == 0:
                shutil.rmtree(home, ignore_errors=True)  # its tables: as large as the CSV
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)  # the runner cancels the run and stops its JVMs
            proc.wait(timeout=120)
            ended = f"stopped after {limit_s / 60:g} min (not finished)"
    load = sum(rss.loads) / len(rss.loads) if rss.loads else os.getloadavg()[0]
    return time.perf_counter() - started, ended, rss.summary(), load


def compare(rows: int, workers: list[int], limit_min: float = 20) -> None:
    """Generate `rows` rows once, run the job on each worker count, print one line each."""
    from course.teaching.data import generate

    folder = Path(tempfile.mkdtemp(prefix="day7-bench-workers-data-"))
    source = folder / "events.csv"
    began = time.perf_counter()
    report = generate(source, rows)
    print(f"\n{rows:,} generated rows ({report.bytes / 1e9:.2f} GB CSV, {time.perf_counter() - began:.0f} s to "
          f"generate), the Day 7 job on a job cluster with standalone workers (512 MB, 1 core each); "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    print(f"{'workers':>7} {'seconds':>8}  {'load':>5}  peak RSS per JVM (MB)  result   (load: mean while it ran)")
    try:
        for n in workers:
            seconds, ended, memory, load = run_job(n, source, limit_min * 60)
            print(f"{n:>7} {seconds:>8.1f}  {load:>5.1f}  {memory}  {ended}", flush=True)
    finally:
        source.unlink(missing_ok=True)
        folder.rmdir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10M", help="rows to generate, e.g. 1M or 10M (default 10M)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default 1 2)")
    parser.add_argument("--limit", type=float, default=20, metavar="MIN",
                        help="stop a configuration after this many minutes (default 20)")
    args = parser.parse_args()
    compare(count(args.rows), args.workers, args.limit)


if __name__ == "__main__":
    main()
