"""For-each overhead per iteration: a for_each_task over N inputs of a trivial Python file
task, against the same file run N times as plain processes. Prints seconds per iteration.

    python bench/bench_for_each.py [--inputs 20] [--concurrency 1]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BUNDLE = """bundle: {{name: bench_for_each}}
resources:
  jobs:
    loop:
      tasks:
        - task_key: loop
          for_each_task:
            inputs: '{inputs}'
            concurrency: {concurrency}
            task:
              task_key: one
              spark_python_task: {{python_file: ./one.py, parameters: ["{{{{input}}}}"]}}
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "one.py").write_text("import sys\nprint(sys.argv[1])\n")
        (root / "databricks.yml").write_text(BUNDLE.format(inputs=list(range(args.inputs)),
                                                           concurrency=args.concurrency))
        from course.platform import paths
        with paths.using_home(root / "home"):
            from course.jobs.local.history import History
            from course.jobs.local.runner import LocalRunner, RunOptions
            from course.jobs.spec import load_job

            loaded = load_job(root / "databricks.yml")
            started = time.perf_counter()
            LocalRunner(loaded, History(), RunOptions()).run()
            loop_s = time.perf_counter() - started
        started = time.perf_counter()
        for i in range(args.inputs):
            subprocess.run([sys.executable, str(root / "one.py"), str(i)], check=True, capture_output=True)
        plain_s = time.perf_counter() - started
    n = args.inputs
    print(f"{'what':<44} {'total':>8} {'per iteration':>14}")
    print(f"{f'for_each_task, {n} inputs, concurrency {args.concurrency}':<44} {loop_s:>7.2f}s {loop_s / n:>13.3f}s")
    print(f"{f'the same file as {n} plain processes':<44} {plain_s:>7.2f}s {plain_s / n:>13.3f}s")
    print(f"{'runner overhead per iteration':<44} {'':>8} {(loop_s - plain_s) / n:>13.3f}s")


if __name__ == "__main__":
    main()
