"""What the Databricks notebook environment costs a kernel: start-up, import, and `%sql` per cell.

Every kernel the kit starts gets Databricks' environment when it imports `course.runtime`
(`spark`, `dbutils`, `display`, `displayHTML` predefined, the magics registered, the
`databricks.sdk.runtime` finder; see course/runtime/magics.py). This prints:

1. kernel start-up: a bare python3 kernel until it answers, then the first cell that
   installs the environment (`import course.runtime`), each a fresh kernel, median of N;
2. the import itself in a fresh process, with and without IPython loaded (without it no
   magics are installed; with it, the stdlib modules IPython brings are already there),
   whether anything heavy (pyspark, pandas …) came along, and `-X importtime`'s list of
   the kit's own modules;
3. per-cell cost in one warm kernel on a real Spark Connect job cluster: `%sql SELECT …`
   against `spark.sql("SELECT …")` and `display(spark.sql(…))`, and a three-part name
   (`workspace.bench.t`) against the local two-part one, interleaved, median of N cells.

    python bench/bench_notebook_env.py [-n 7] [--cells 25]
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

HEAVY = ["pyspark", "pandas", "scrapbook", "papermill", "ipywidgets", "nbformat", "databricks.sdk"]
ENV_CELL = ("import time as _t\n_t0, _c0 = _t.perf_counter(), _t.process_time()\n"
            "from course.runtime import dbutils, spark, display\n"
            "_ms, _cpu = (_t.perf_counter() - _t0) * 1000, (_t.process_time() - _c0) * 1000\n"
            "_ok = 'sql' in get_ipython().magics_manager.magics['cell']\n"
            # install() alone, once more on this throw-away kernel: what the magics and names cost
            "from course.runtime import magics as _m\n"
            "delattr(get_ipython(), '_day7_magics')\n"
            "_t0 = _t.perf_counter(); _m.install(); _install = (_t.perf_counter() - _t0) * 1000\n"
            "print(_ms, _cpu, _install, _ok)")
QUERY = "SELECT id % 10 AS k, count(*) AS n FROM range(1000) GROUP BY k ORDER BY k"
# (label, cell) pairs measured in turn in one kernel; the table is made once beforehand.
CELLS = [
    ("empty cell (`1`)", "1"),
    ('`spark.sql("SELECT …")` (lazy: plan only)', f'spark.sql("{QUERY}")'),
    ('`spark.sql("SELECT …").collect()`', f'spark.sql("{QUERY}").collect()'),
    ('`display(spark.sql("SELECT …"))`', f'display(spark.sql("{QUERY}"))'),
    ("`%sql SELECT …` (shown, kept in _sqldf)", f"%sql {QUERY}"),
    ("`%sql` cell as exported (`%sql` first line)", f"%sql\n{QUERY}"),
    ('`display(spark.sql("… FROM bench.t"))` two-part', 'display(spark.sql("SELECT count(*) AS n FROM bench.t"))'),
    ("`%sql … FROM workspace.bench.t` three-part", "%sql SELECT count(*) AS n FROM workspace.bench.t"),
]


def start_kernel(cwd: str):
    from jupyter_client.manager import start_new_kernel

    # stderr: the kernel's notice about unencrypted TCP, once per kernel
    return start_new_kernel(kernel_name="python3", cwd=cwd, stderr=subprocess.DEVNULL)


def execute(kc, code: str, timeout: float = 300) -> tuple[float, str]:
    """Run `code`; (wall seconds from request to idle, stdout). Raises on an error reply."""
    out: list[str] = []

    def hook(msg: dict) -> None:
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append(f"ERROR {msg['content']['ename']}: {msg['content']['evalue']}")

    started = time.perf_counter()
    reply = kc.execute_interactive(code, output_hook=hook, timeout=timeout, allow_stdin=False)
    seconds = time.perf_counter() - started
    if reply["content"]["status"] != "ok":
        sys.exit(f"cell failed: {code!r}\n{''.join(out)}")
    return seconds, "".join(out)


def startup(n: int, cwd: str) -> list[tuple[float, ...]]:
    """Per fresh kernel: (seconds to ready, seconds for the environment cell, in-kernel import ms,
    ms of `magics.install()` alone, CPU ms of the import)."""
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        km, kc = start_kernel(cwd)
        ready = time.perf_counter() - started
        try:
            cell, out = execute(kc, ENV_CELL)
            ms, cpu, install, has_sql = out.split()
            if has_sql != "True":
                sys.exit("the environment cell did not register %sql")
            samples.append((ready, cell, float(ms), float(install), float(cpu)))
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    return samples


def import_profile(with_ipython: bool, importtime: bool) -> tuple[float, dict[str, float], list[str]]:
    """A fresh process: (ms of the import, {kit module: cumulative ms} with -X importtime, heavy modules)."""
    before = "import IPython\n" if with_ipython else ""
    code = (f"{before}import time, sys, json\nt = time.perf_counter()\n"
            "from course.runtime import dbutils, spark, display\n"
            "ms = (time.perf_counter() - t) * 1000\n"
            f"print(json.dumps([ms, [m for m in {HEAVY!r} if m in sys.modules]]))")
    flags = ["-X", "importtime"] if importtime else []
    done = subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True, check=True)
    ms, heavy = json.loads(done.stdout.strip().splitlines()[-1])
    kit: dict[str, float] = {}
    for line in done.stderr.splitlines():   # "import time: self [us] | cumulative | imported package"
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
        if name.startswith("course") and cumulative.isdigit():
            kit[name] = int(cumulative) / 1000
    return ms, kit, heavy


def kernel_cpu(kc, code: str) -> float:
    """CPU seconds the kernel process spends on `code` (run as a cell of its own): unlike wall
    time, hardly moved by other work on a busy machine (the Spark server's CPU is not counted)."""
    wrapper = ("import time as _t\n_c = _t.process_time()\n"
               f"get_ipython().run_cell({code!r}, store_history=False)\n"
               "print('cpu', _t.process_time() - _c)")
    out = execute(kc, wrapper)[1]
    return float(out.rsplit("cpu ", 1)[1])


def per_cell(kc, cells: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    execute(kc, "from course.runtime import dbutils, spark, display\n"
                "spark.sql('CREATE SCHEMA IF NOT EXISTS workspace.bench')\n"
                "spark.range(1000).write.mode('overwrite').saveAsTable('workspace.bench.t')")
    for _, code in CELLS:  # once each: first-use imports and the server's code paths
        execute(kc, code)
    times: dict[str, list[float]] = {label: [] for label, _ in CELLS}
    cpu: dict[str, list[float]] = {label: [] for label, _ in CELLS}
    for _ in range(cells):
        for label, code in CELLS:
            times[label].append(execute(kc, code)[0])
            cpu[label].append(kernel_cpu(kc, code))
    return times, cpu


# The Python side of a `%sql` cell, without Spark: IPython's input transform (the exported
# `%sql` first line becomes `%%sql`) and the statement split, timed in the kernel.
TEXT_WORK = (
    "import time as _t\nfrom course.runtime import unity as _u\n"
    "_cell = '%sql\\n' + " + repr(QUERY) + " + ';\\nSELECT * FROM workspace.bench.t'\n"
    "_t0 = _t.perf_counter()\n"
    "for _ in range(1000):\n    _u.split_statements(get_ipython().transform_cell(_cell))\n"
    "print((_t.perf_counter() - _t0) * 1000)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=7, help="fresh kernels / processes per start-up figure (default 7)")
    parser.add_argument("--cells", type=int, default=25, help="runs of each cell in the warm kernel (default 25)")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="day7-bench-env-")
    os.environ.update(DAY7_HOME=home, DAY7_QUIET_STORAGE="1")
    os.environ.pop("SPARK_REMOTE", None)
    cwd = str(Path(home))
    med = statistics.median

    print(f"1. kernel start-up, median of {args.n} fresh python3 kernels")
    samples = startup(args.n, cwd)
    ready, cell, inside, install, cpu = (med(s[i] for s in samples) for i in range(5))
    print(f"  bare kernel, start to ready                    {ready * 1000:7.0f} ms")
    print(f"  + environment cell (names, magics, finder)     {cell * 1000:7.0f} ms round trip, "
          f"{inside:.1f} ms of it the import in the kernel ({cpu:.1f} ms CPU), of which "
          f"{install:.1f} ms magics.install()")
    print(f"  kernel with the environment, start to ready    {(ready + cell) * 1000:7.0f} ms "
          f"(+{cell / ready:.0%})")

    print(f"\n2. `from course.runtime import dbutils, spark, display` in a fresh process, "
          f"median of {args.n}")
    for label, with_ipython in (("IPython loaded: environment installed", True),
                                ("plain python: no IPython, no magics", False)):
        runs = [import_profile(with_ipython, importtime=False) for _ in range(args.n)]
        total = med(r[0] for r in runs)
        heavy = sorted({m for r in runs for m in r[2]})
        print(f"  {label:<40} {total:6.1f} ms   heavy modules loaded: {heavy or 'none'}")
        _, kit, _ = import_profile(with_ipython, importtime=True)  # its own overhead inflates these
        top = sorted(kit.items(), key=lambda kv: -kv[1])[:5]
        magics = kit.get("course.runtime.magics")
        print("    -X importtime, cumulative ms: " + ", ".join(f"{name} {ms:.1f}" for name, ms in top)
              + (f"; course.runtime.magics {magics:.1f}" if magics is not None else "; magics not imported"))

    print(f"\n3. per cell, one warm kernel on a Spark Connect job cluster, median of {args.cells} (interleaved)")
    from course.jobs.local.compute.cluster import LocalCluster

    with LocalCluster(name="bench-env") as cluster:
        os.environ["SPARK_REMOTE"] = cluster.url
        km, kc = start_kernel(cwd)
        try:
            times, cpu = per_cell(kc, args.cells)
            text_us = float(execute(kc, TEXT_WORK)[1])  # ms for 1000 = µs per cell
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    medians = {label: med(values) * 1000 for label, values in times.items()}
    cpu_ms = {label: med(values) * 1000 for label, values in cpu.items()}
    print(f"  {'cell':<52} {'wall':>9}  (p10, p90)        kernel CPU")
    for label, ms in medians.items():
        spread = sorted(times[label])
        print(f"  {label:<52} {ms:7.1f} ms  (p10 {spread[len(spread) // 10] * 1000:.1f}, "
              f"p90 {spread[len(spread) * 9 // 10] * 1000:.1f})   {cpu_ms[label]:6.1f} ms")
    labels = [label for label, _ in CELLS]
    p10 = {label: sorted(values)[len(values) // 10] * 1000 for label, values in times.items()}
    print(f"  %sql over display(spark.sql(…)): median {medians[labels[4]] - medians[labels[3]]:+.1f} ms, "
          f"p10 {p10[labels[4]] - p10[labels[3]]:+.1f} ms per cell; three-part over two-part name: "
          f"median {medians[labels[7]] - medians[labels[6]]:+.1f} ms, p10 {p10[labels[7]] - p10[labels[6]]:+.1f} ms")
    print(f"  kernel CPU per cell, %sql over display(spark.sql(…)): {cpu_ms[labels[4]] - cpu_ms[labels[3]]:+.1f} ms; "
          f"three-part over two-part: {cpu_ms[labels[7]] - cpu_ms[labels[6]]:+.1f} ms")
    print(f"  the Python side of a %sql cell (IPython's transform + statement split, no Spark): "
          f"{text_us:.0f} µs per cell")


if __name__ == "__main__":
    main()
