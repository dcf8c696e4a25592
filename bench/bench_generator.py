"""Generator throughput and memory: `python bench/bench_generator.py [--rows 1M 10M]`.

Each size runs in a fresh process so its peak RSS is its own; the files go to a
temporary folder and are deleted. Memory should stay flat as rows grow.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path


def _count(text: str) -> int:
    text = text.strip().upper().replace("_", "")
    scale = {"K": 10**3, "M": 10**6}.get(text[-1:], 1)
    return int(float(text.rstrip("KM")) * scale)


def _one(rows: int) -> dict:
    """Run inside the child: generate, measure, print JSON."""
    from course.teaching import data

    with tempfile.TemporaryDirectory(prefix="bench-gen-") as tmp:
        tracemalloc.start()
        began = time.perf_counter()
        report = data.generate(Path(tmp) / "events.csv", rows)
        seconds = time.perf_counter() - began
        heap = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    return {"rows": rows, "seconds": seconds, "bytes": report.bytes, "heap": heap, "rss": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", default=["10M"], help="sizes, e.g. 1M 10M (default 10M)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_one(args.child)))
        return
    print(f"{'rows':>12} {'seconds':>8} {'rows/s':>11} {'MB':>8} {'MB/s':>7} {'peak heap MB':>13} {'peak RSS MB':>12}")
    for size in args.rows:
        out = subprocess.run([sys.executable, __file__, "--child", str(_count(size))],
                             check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{r['rows']:>12,} {r['seconds']:>8.1f} {r['rows'] / r['seconds']:>11,.0f} "
              f"{r['bytes'] / 1e6:>8,.0f} {r['bytes'] / 1e6 / r['seconds']:>7.1f} "
              f"{r['heap'] / 2**20:>13.0f} {r['rss'] / 2**20:>12.0f}")


if __name__ == "__main__":
    main()
