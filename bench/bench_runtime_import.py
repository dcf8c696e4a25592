"""How long the notebook idiom's import takes: `from course.runtime import dbutils, spark, display`.

Measured in a fresh `python -c` process and in a fresh Jupyter kernel (each
sample a new process, median of N). Target: well under 100 ms — the import
must not pull in pyspark, pandas, scrapbook, papermill or ipywidgets.

    python bench/bench_runtime_import.py [-n 7]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

IMPORT = "from course.runtime import dbutils, spark, display"
HEAVY = ["pyspark", "pandas", "scrapbook", "papermill", "ipywidgets", "nbformat"]
PROBE = (
    "import sys, time, json\n"
    "t = time.perf_counter()\n"
    f"{IMPORT}\n"
    "ms = (time.perf_counter() - t) * 1000\n"
    f"print(json.dumps({{'ms': ms, 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))"
)


def in_python() -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def in_kernel() -> dict:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        lines: list[str] = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                lines.append(msg["content"]["text"])

        kc.execute_interactive(PROBE, output_hook=hook, timeout=60)
        return json.loads("".join(lines))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=7, help="samples per setting (default 7)")
    n = parser.parse_args().n
    print(f"`{IMPORT}`, median of {n} fresh processes")
    for label, probe in (("python -c", in_python), ("jupyter kernel", in_kernel)):
        samples = [probe() for _ in range(n)]
        times = sorted(s["ms"] for s in samples)
        heavy = sorted({m for s in samples for m in s["heavy"]})
        print(f"  {label:<15} median {statistics.median(times):6.1f} ms   "
              f"min {times[0]:6.1f}   max {times[-1]:6.1f}   heavy modules loaded: {heavy or 'none'}")


if __name__ == "__main__":
    main()
