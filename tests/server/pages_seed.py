"""A run history written through `History` the way the runner writes it, for the pages' tests and bench.

No kernels and no Spark: each run's task runs and states are recorded directly, with an
executed notebook (one failing cell, as papermill leaves it) and a job cluster log for the
failed runs. The job has a fan-out, so the graph has three columns.

    seed(home, runs=4) -> Seeded(job_id, ok_run, failed_run, repaired_run, running_run, failed_task_run)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course.jobs.local.history import History

JOB_NAME = "nightly orders"
SETTINGS = {
    "name": JOB_NAME,
    "parameters": [{"name": "run_date", "default": "2026-01-01"}, {"name": "strict", "default": "true"}],
    "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "Europe/Amsterdam",
                 "pause_status": "UNPAUSED"},
    "job_clusters": [{"job_cluster_key": "main", "new_cluster": {"spark_version": "15.4.x-scala2.12",
                                                                 "num_workers": 0}}],
    "tasks": [
        {"task_key": "ingest", "job_cluster_key": "main", "notebook_task": {"notebook_path": "./ingest"}},
        {"task_key": "clean", "depends_on": [{"task_key": "ingest"}], "max_retries": 1,
         "job_cluster_key": "main", "notebook_task": {"notebook_path": "./clean"}},
        {"task_key": "report", "depends_on": [{"task_key": "clean"}], "notebook_task": {"notebook_path": "./report"}},
        {"task_key": "audit", "depends_on": [{"task_key": "clean"}], "run_if": "ALL_DONE",
         "notebook_task": {"notebook_path": "./audit"}},
    ],
}
DEPS = {t["task_key"]: [d["task_key"] for d in t.get("depends_on", [])] for t in SETTINGS["tasks"]}
ERROR = "ValueError: 17 rows have no customer_id"


@dataclass(frozen=True)
class Seeded:
    job_id: int
    ok_run: int
    failed_run: int
    repaired_run: int
    running_run: int
    failed_task_run: int


def failed_notebook(path: Path) -> Path:
    """An executed notebook whose third cell raised, as papermill writes it."""
    nb = new_notebook(cells=[
        new_markdown_cell("# Clean\nDrops rows without a customer."),
        new_code_cell('rows = spark.table("orders_bronze")', execution_count=1),
        new_code_cell('missing = 17\nif missing:\n    raise ValueError(f"{missing} rows have no customer_id")',
                      execution_count=2, outputs=[new_output("error", ename="ValueError",
                                                             evalue="17 rows have no customer_id",
                                                             traceback=["ValueError: 17 rows have no customer_id"])]),
        new_code_cell('print("never reached")'),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _task(history: History, run_id: int, key: str, result: str, *, output: Path | None = None,
          error: str | None = None, attempt: int = 0, values: dict | None = None) -> int:
    tr = history.create_task_run(run_id, key, attempt_number=attempt, depends_on=DEPS[key],
                                 notebook_path=f"/jobs/{key}.ipynb", parameters={"run_date": "2026-01-01"})
    life = "RUNNING" if result == "RUNNING" else "TERMINATED"
    history.update_task_run(tr, life_cycle_state=life, result_state=None if life == "RUNNING" else result,
                            output_path=output, error=error, error_trace=error,
                            exit_value="done" if result == "SUCCESS" else None)
    if values:
        history.set_task_values(tr, values)
    return tr


def _failed_run(history: History, job_id: int, runs_root: Path) -> tuple[int, int]:
    run = history.create_run(job_id, JOB_NAME, {"run_date": "2026-01-02", "strict": "true"})
    history.set_run_state(run, "RUNNING")
    _task(history, run, "ingest", "SUCCESS", values={"rows": 1200})
    _task(history, run, "clean", "FAILED", error=ERROR, output=failed_notebook(runs_root / str(run) / "clean" / "attempt-0.ipynb"))
    failed = _task(history, run, "clean", "FAILED", attempt=1, error=ERROR,
                   output=failed_notebook(runs_root / str(run) / "clean" / "attempt-1.ipynb"))
    _task(history, run, "report", "UPSTREAM_FAILED")
    _task(history, run, "audit", "SUCCESS")
    log = runs_root / str(run) / "cluster-main.log"
    log.write_text("".join(f"26/01/02 02:00:{i % 60:02d} INFO SparkConnectServer: line {i}\n" for i in range(300)))
    history.set_run_state(run, "INTERNAL_ERROR", "FAILED", f"Task clean failed with message: {ERROR}")
    return run, failed


def seed(home: Path, runs: int = 4) -> Seeded:
    """`runs` runs of the job (at least 4): successes, then a failed, a repaired and a running one."""
    history = History(home / "history.db")
    runs_root = home / "runs"
    try:
        job_id = history.ensure_job(JOB_NAME, SETTINGS, {"file": str(home / "orders.yml"), "job_key": "orders",
                                                         "target": None})
        ok_run = 0
        for _ in range(max(1, runs - 3)):
            ok_run = history.create_run(job_id, JOB_NAME, {"run_date": "2026-01-01"}, trigger="PERIODIC")
            for key in DEPS:
                _task(history, ok_run, key, "SUCCESS")
            history.set_run_state(ok_run, "TERMINATED", "SUCCESS")
        repaired, _ = _failed_run(history, job_id, runs_root)
        history.create_repair(repaired, ["clean", "report"], {"strict": "false"})
        for key in ("clean", "report"):
            _task(history, repaired, key, "SUCCESS")
        history.set_run_state(repaired, "TERMINATED", "SUCCESS")
        failed_run, failed_task = _failed_run(history, job_id, runs_root)
        running = history.create_run(job_id, JOB_NAME, {"run_date": "2026-01-03"})
        history.set_run_state(running, "RUNNING")
        _task(history, running, "ingest", "RUNNING")
        return Seeded(job_id, ok_run, failed_run, repaired, running, failed_task)
    finally:
        history.close()
