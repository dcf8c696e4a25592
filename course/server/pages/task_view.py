"""What a task run's page shows: the attempt, its parameters, task values, exit value, error,
the failing cell of its executed notebook, the run's cluster logs and, while it runs, their Spark UIs."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from course.jobs.local.compute.cluster import running_uis
from course.jobs.local.history import History
from course.server.pages import notebook
from course.server.pages.run_view import duration, task_state, when

LOG_TAIL_LINES = 200   # a cluster log can be long; the end is where a failure shows


def log_tails(run_dir: Path) -> list[dict[str, str]]:
    """The last lines of each `cluster-*.log` the run's job clusters wrote (`compute/manager.py`)."""
    out = []
    for log in sorted(run_dir.glob("cluster-*.log")):
        try:
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        out.append({"name": log.name, "path": str(log), "lines": len(lines),
                    "tail": "\n".join(lines[-LOG_TAIL_LINES:])})
    return out


def task_page(history: History, task_run_id: int, runs_root: Path) -> dict[str, Any]:
    """Everything the task run page renders (RunNotFound for an unknown task run)."""
    tr = history.task_run(task_run_id)
    record = history.run_record(tr.run_id)
    job_name, _ = history.job_settings(record.job_id)
    siblings = [t for t in history.task_runs(tr.run_id) if t.task_key == tr.task_key]
    output = Path(tr.output_path) if tr.output_path else None
    has_notebook = output is not None and output.suffix == ".ipynb" and output.is_file()
    return {
        "tr": tr, "state": task_state(tr), "job_id": record.job_id, "job_name": job_name,
        "start": when(tr.start_time), "duration": duration(tr.start_time, tr.end_time, None),
        "parameters": sorted(tr.parameters.items()), "task_values": history.task_run_values(task_run_id),
        "output": output, "has_notebook": has_notebook,
        "failing_cell": notebook.failing_cell(output) if has_notebook and tr.error else None,
        "attempts": [{"task_run_id": t.task_run_id, "attempt": t.attempt_number, "repair_id": t.repair_id,
                      "state": task_state(t)} for t in siblings],
        "logs": log_tails(runs_root / str(tr.run_id)),
        "spark_uis": [] if record.terminal else running_uis(runs_root / str(tr.run_id)),
    }
