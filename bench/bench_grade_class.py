"""Time and peak memory of `python runner.py grade` on a class of N learners (default 30).

The class is made from the solutions (tests/class_fixtures.py): a cycle of perfect, partial
(gold fails a hidden check), perfect, syntax error in bronze, perfect, empty folder; so half the
learners run all three notebooks. Peak memory is the largest total RSS of the grader's process
tree (grader, learner processes, pytest, kernels, Spark Connect JVMs), sampled every 0.5 s.

    python bench/bench_grade_class.py [--learners 30] [--jobs 2] [--timeout 600]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "teaching"))

import class_fixtures as cf  # noqa: E402

CYCLE = [cf.perfect, cf.partial, cf.perfect, cf.syntax_error, cf.perfect, cf.empty]


def tree_rss(process: psutil.Process) -> int:
    total = 0
    try:
        family = [process] + process.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    for p in family:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="day7-bench-class-") as tmp:
        root = Path(tmp) / "class"
        cf.make_class(root, {f"learner{i:02d}": CYCLE[i % len(CYCLE)] for i in range(args.learners)})
        command = [sys.executable, str(REPO / "runner.py"), "grade", str(root), "--out", str(Path(tmp) / "report"),
                   "--jobs", str(args.jobs), "--timeout", str(args.timeout)]
        env = dict(os.environ, DAY7_HOME=str(Path(tmp) / "home"))
        started = time.monotonic()
        log_path = Path(tmp) / "grade.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        watched = psutil.Process(process.pid)
        peak, shown = 0, 0
        while True:
            done = process.poll() is not None
            peak = max(peak, tree_rss(watched)) if not done else peak
            lines = log_path.read_text().splitlines()
            for line in lines[shown:]:
                print(f"  [{time.monotonic() - started:6.0f} s, peak so far {peak / 2**20:,.0f} MB] {line}", flush=True)
            shown = len(lines)
            if done:
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        rows = (Path(tmp) / "report" / "grades.csv").read_text().splitlines()[1:]
        ran = [r for r in rows if r.split(",")[4] not in ("missing", "invalid")]
    print()
    print(f"| learners | jobs | cores | notebooks run | wall time | per learner | peak RSS (process tree) | exit |")
    print(f"|---|---|---|---|---|---|---|---|")
    print(f"| {args.learners} | {args.jobs} | {os.cpu_count()} | {len(ran)} | {elapsed:.0f} s "
          f"| {elapsed / args.learners:.1f} s | {peak / 2**20:,.0f} MB | {process.returncode} |")
    load = os.getloadavg()
    print(f"load average at the end (1, 5, 15 min): {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}")


if __name__ == "__main__":
    main()
