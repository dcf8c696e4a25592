"""The runner against its alternatives, on the same data in one run.

1. runner       `python runner.py` for the Day 7 job (job cluster, warm kernels), end to end
2. papermill    the same three notebooks one after another with plain papermill,
                each kernel starting its own local Spark
3. lower bound  the three notebooks' code in one Python process with one Spark session

plus a chain of three trivial notebooks through the runner (command line and API),
and the runner's own overhead per task (runner time minus the time spent in cells).
Runner and lower bound run --repeat times, interleaved, each from an empty
warehouse; the machine's noise is several seconds per run, so medians are
compared. The job cluster maps its class archive (course/jobs/classcache.py) when
an earlier run built it, as every run after a user's first does.

    python bench/bench_runner.py [--rows 1000000] [--repeat 3] [--skip-papermill]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = ["01_bronze", "02_silver", "03_gold"]
KEYS = ["bronze", "silver", "gold"]


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def runner_cli(env: dict, *args: str) -> float:
    seconds, out = timed(lambda: subprocess.run([sys.executable, str(REPO / "runner.py"), *args],
                                                capture_output=True, text=True, env=env, cwd=REPO))
    if out.returncode != 0:
        sys.exit(f"runner failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return seconds


def cell_seconds(env: dict, began: float, ended: float) -> dict:
    """Where the latest run's time went, from its notebooks' cell timestamps (`began`, `ended`:
    the runner process's start and exit, epoch seconds): inside cells, before the first cell
    (process start, job file, job cluster boot, first kernel), between cells of a notebook,
    between one task's last cell and the next one's first, after the last cell."""
    code = textwrap.dedent("""
        import json, nbformat
        from datetime import datetime, timezone
        from course.jobs.local.history import History
        def at(text): return datetime.fromisoformat(text.rstrip("Z")).replace(tzinfo=timezone.utc).timestamp()
        h = History(); run = h.list_runs(limit=1)[0]; run = h.get_run(run.run_id)
        spans = []  # (task's first cell in, last cell out, time in its cells, time between its cells)
        for t in sorted(run.tasks, key=lambda t: t.start_time):
            nb = nbformat.read(t.run_page_url.removeprefix("file://"), 4)
            cells = [(at(ex["iopub.execute_input"]), at(ex["shell.execute_reply"])) for ex in
                     (c.get("metadata", {}).get("execution", {}) for c in nb.cells)
                     if ex.get("iopub.execute_input") and ex.get("shell.execute_reply")]
            spans.append((cells[0][0], cells[-1][1], sum(b - a for a, b in cells),
                          sum(n[0] - p[1] for p, n in zip(cells, cells[1:]))))
        print(json.dumps(spans))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    spans = json.loads(out.stdout)
    return {"cells": sum(s[2] for s in spans), "tasks": len(spans), "before first cell": spans[0][0] - began,
            "between cells": sum(s[3] for s in spans),
            "between tasks": sum(n[0] - p[1] for p, n in zip(spans, spans[1:])), "after last cell": ended - spans[-1][1]}


def plain_papermill(env: dict, source: str, workdir: Path) -> float:
    """Each notebook in its own kernel, each kernel its own local Spark (no job cluster)."""
    code = textwrap.dedent(f"""
        import logging, os, papermill
        from course.runtime.scraps import read_task_outputs
        logging.getLogger("papermill").setLevel(logging.ERROR)
        values = {{}}
        for name, key in zip({NOTEBOOKS!r}, {KEYS!r}):
            out = os.path.join({str(workdir)!r}, name + ".ipynb")
            ctx = {{"run_id": 1, "task_key": key, "task_values": values,
                    "parameters": {{"source_path": {source!r}, "catalog": "workspace", "schema": "day7"}}}}
            papermill.execute_notebook({str(REPO / "solutions")!r} + "/" + name + ".ipynb", out,
                                       parameters={{"day7_task": ctx}}, progress_bar=False)
            values[key] = read_task_outputs(out).task_values
    """)
    env = {k: v for k, v in env.items() if k != "SPARK_REMOTE"}
    seconds, out = timed(lambda: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                                env=env, cwd=REPO))
    if out.returncode != 0:
        sys.exit(f"papermill loop failed:\n{out.stderr[-3000:]}")
    return seconds


def one_process_code(source: str, out_root: str) -> str:
    """Python that runs the three notebooks' code cells in one process with one Spark session
    (local, or the cluster SPARK_REMOTE names) and prints, as JSON, the seconds spent in cells
    and the Spark Connect requests they made (0 for a local session)."""
    return textwrap.dedent(f"""
        import json, os, time
        from course.runtime.scraps import read_task_outputs
        from course.runtime.spark import get_spark
        session = get_spark()
        calls = [0]
        def counting(method):
            def counted(*args, **kwargs):
                calls[0] += 1
                return method(*args, **kwargs)
            return counted
        if os.environ.get("SPARK_REMOTE"):   # Spark Connect: every execute and analyze request
            client = session.client
            client._execute_and_fetch_as_iterator = counting(client._execute_and_fetch_as_iterator)
            client._analyze = counting(client._analyze)
        values, seconds = {{}}, 0.0
        for name, key in zip({NOTEBOOKS!r}, {KEYS!r}):
            out_dir = os.path.join({out_root!r}, "lb-" + key)
            os.makedirs(out_dir, exist_ok=True)
            os.environ["DAY7_TASK"] = json.dumps({{"run_id": 1, "task_key": key, "task_values": values,
                "output_dir": out_dir,
                "parameters": {{"source_path": {source!r}, "catalog": "workspace", "schema": "day7"}}}})
            with open({str(REPO / "solutions")!r} + "/" + name + ".ipynb") as f:
                cells = json.load(f)["cells"]  # plain JSON: importing nbformat is not the notebooks' work
            namespace = {{"__name__": "__main__"}}
            began = time.perf_counter()
            try:
                for cell in cells:
                    if cell["cell_type"] == "code":
                        exec(compile("".join(cell["source"]), name, "exec"), namespace)
            except SystemExit:
                pass  # dbutils.notebook.exit outside a kernel
            seconds += time.perf_counter() - began
            values[key] = read_task_outputs(out_dir).task_values
        print(json.dumps({{"seconds": seconds, "requests": calls[0]}}))
    """)


def lower_bound(env: dict, source: str, workdir: Path) -> float:
    """The notebooks' code cells run in one process, one local Spark session (the process's wall time)."""
    code = one_process_code(source, str(workdir))
    env = {k: v for k, v in env.items() if k != "SPARK_REMOTE"}
    seconds, out = timed(lambda: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                                env=env, cwd=REPO))
    if out.returncode != 0:
        sys.exit(f"lower bound failed:\n{out.stderr[-3000:]}")
    return seconds


def trivial_chain(workdir: Path, env: dict) -> tuple[float, float]:
    """Three trivial dependent notebooks: through the command line and through the API."""
    import nbformat

    folder = workdir / "trivial"
    folder.mkdir(exist_ok=True)
    for name in ("a", "b", "c"):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [nbformat.v4.new_code_cell("try:\n    dbutils\nexcept NameError:\n"
                                              "    from course.runtime import dbutils, spark, display"),
                    nbformat.v4.new_code_cell(f"dbutils.jobs.taskValues.set('step', '{name}')")]
        nbformat.write(nb, folder / f"{name}.ipynb")
    (folder / "job.yml").write_text(textwrap.dedent("""
        bundle: {name: trivial}
        resources:
          jobs:
            trivial:
              name: trivial-chain
              tasks:
                - {task_key: a, notebook_task: {notebook_path: ./a.ipynb}}
                - {task_key: b, depends_on: [{task_key: a}], notebook_task: {notebook_path: ./b.ipynb}}
                - {task_key: c, depends_on: [{task_key: b}], notebook_task: {notebook_path: ./c.ipynb}}
    """))
    runner_cli(env, "--job", str(folder / "job.yml"))  # warm the OS file cache once
    cli = min(runner_cli(env, "--job", str(folder / "job.yml")) for _ in range(3))
    code = textwrap.dedent(f"""
        import time
        from course.jobs.spec import load_job
        from course.jobs.local.runner import LocalRunner
        from course.jobs.local.history import History
        import papermill, scrapbook  # a warm process, as in a notebook or service
        best = 1e9
        for _ in range(3):
            t = time.perf_counter()
            LocalRunner(load_job({str(folder / "job.yml")!r}), History()).run()
            best = min(best, time.perf_counter() - t)
        print(best)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return cli, float(out.stdout.split()[-1])


def spread(values: list[float]) -> str:
    return f"{min(values):.1f}–{max(values):.1f}" if len(values) > 1 else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runner and lower bound runs, interleaved; medians are reported (default 3)")
    parser.add_argument("--skip-papermill", action="store_true", help="skip the slow plain-papermill loop")
    parser.add_argument("--trivial-only", action="store_true",
                        help="only the chain of three trivial notebooks (the runner's own overhead)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="day7-bench-runner-"))
    base_env = dict(os.environ, DAY7_QUIET_STORAGE="1")
    base_env.pop("SPARK_REMOTE", None)
    if args.trivial_only:
        cli, api = trivial_chain(workdir, dict(base_env, DAY7_HOME=str(workdir / "home-trivial")))
        print(f"three trivial notebooks, a -> b -> c\n  python runner.py (process start to exit)  {cli:7.2f}s\n"
              f"  LocalRunner.run() in a warm process       {api:7.2f}s")
        return

    from course.teaching.data import generate
    from course.jobs.local.compute.classcache import cache_root

    source = workdir / "events" / "events.csv"
    source.parent.mkdir(parents=True)
    print(f"generating {args.rows:,} rows …", file=sys.stderr)
    generate(source, args.rows)

    runner, bound, outside, phases, loads = [], [], [], [], []
    for i in range(args.repeat):
        env = dict(base_env, DAY7_HOME=str(workdir / f"home-{i}"))  # each run from an empty warehouse
        print(f"runner ({i + 1}/{args.repeat}) …", file=sys.stderr)
        loads.append(os.getloadavg()[0])
        began = time.time()
        runner.append(runner_cli(env, "--param", f"source_path={source}"))
        phases.append(cell_seconds(env, began, time.time()))
        outside.append((runner[-1] - phases[-1]["cells"]) / max(phases[-1]["tasks"], 1))
        print(f"lower bound ({i + 1}/{args.repeat}) …", file=sys.stderr)
        bound.append(lower_bound(dict(env, DAY7_HOME=str(workdir / f"lb-home-{i}")), str(source), workdir))
    env = dict(base_env, DAY7_HOME=str(workdir / "home-papermill"))
    papermill_s = None if args.skip_papermill else (print("plain papermill …", file=sys.stderr),
                                                     plain_papermill(env, str(source), workdir))[1]
    print("trivial chain …", file=sys.stderr)
    trivial_cli, trivial_api = trivial_chain(workdir, dict(base_env, DAY7_HOME=str(workdir / "home-trivial")))

    med_runner, med_bound = statistics.median(runner), statistics.median(bound)
    root = cache_root()
    archive = "off" if root is None else ("warm" if any(root.glob("spark-connect-*.jsa")) else "cold")
    print(f"\nDay 7 job on {args.rows:,} rows (2 cores; median of {args.repeat}, range after it; "
          f"job cluster class archive {archive})")
    print(f"  {'runner (python runner.py, end to end)':<46}{med_runner:>7.1f}s  {med_runner / med_bound:>5.2f}x"
          f"   {spread(runner)}")
    if papermill_s is not None:
        print(f"  {'plain papermill, a Spark per notebook':<46}{papermill_s:>7.1f}s  {papermill_s / med_bound:>5.2f}x"
              "   (one run)")
    print(f"  {'lower bound: one process, one Spark session':<46}{med_bound:>7.1f}s  {1:>5.2f}x   {spread(bound)}")
    ratios = [r / b for r, b in zip(runner, bound)]
    print(f"  {'runner / lower bound, run by run':<46}{'':>8}  {' '.join(f'{r:.2f}x' for r in ratios)}")
    print(f"  {'runner time outside cells, per task':<46}{statistics.median(outside):>7.2f}s"
          "  (includes the job cluster boot)")
    for phase in ("before first cell", "between cells", "between tasks", "after last cell"):
        values = [p[phase] for p in phases]
        print(f"  {'  of which ' + phase + ' (whole run)':<46}{statistics.median(values):>7.2f}s   {spread(values)}")
    print(f"  {'load average (1 min) as each runner run began':<46}{' '.join(f'{v:.1f}' for v in loads)}")
    print("\nthree trivial notebooks, a -> b -> c")
    print(f"  {'python runner.py (process start to exit)':<46}{trivial_cli:>7.2f}s")
    print(f"  {'LocalRunner.run() in a warm process':<46}{trivial_api:>7.2f}s")

if __name__ == "__main__":
    main()
