"""Helpers for the compute tests: run a job of tests/jobs/compute/databricks.yml in this process."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner_fixtures import final_states

BUNDLE = Path(__file__).parent / "jobs" / "compute" / "databricks.yml"


@dataclass
class ComputeResult:
    run: Any
    history: Any
    notes: list[str] = field(default_factory=list)

    @property
    def states(self) -> dict[str, str]:
        return final_states(self.run)

    @property
    def message(self) -> str:
        return self.run.state.state_message

    def values(self, task_key: str) -> dict[str, Any]:
        task = [t for t in self.run.tasks if t.task_key == task_key][-1]
        return self.history.task_run_values(task.run_id)


def run_compute_job(job_key: str) -> ComputeResult:
    from course.jobs.local.history import History
    from course.jobs.local.runner import LocalRunner, RunOptions
    from course.jobs.spec import load_job

    notes: list[str] = []
    runner = LocalRunner(load_job(BUNDLE, job_key=job_key), History(), RunOptions(on_note=notes.append))
    run_id = runner.run()
    return ComputeResult(runner.history.get_run(run_id), runner.history, notes)
