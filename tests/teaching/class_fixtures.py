"""A purpose-made class for `runner.py grade`: learners built from the real solutions.

Used by tests/test_classgrade.py and bench/bench_grade_class.py. Each learner is a function
`(folder) -> None` writing what that learner hands in.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

from course.teaching import grading
from course.jobs.local.history import History

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "solutions"
NAMES = ("01_bronze.ipynb", "02_silver.ipynb", "03_gold.ipynb")

BUNDLE = """\
bundle: {name: practical}
resources:
  jobs:
    mine:
      name: my-medallion
      job_clusters:
        - {job_cluster_key: c, new_cluster: {spark_version: 15.4.x-scala2.12, num_workers: 1}}
      schedule: {quartz_cron_expression: "0 0 6 * * ?", timezone_id: UTC}
      tasks:
        - {task_key: bronze, job_cluster_key: c, notebook_task: {notebook_path: ./01_bronze.ipynb}}
        - {task_key: silver, job_cluster_key: c, depends_on: [{task_key: bronze}], notebook_task: {notebook_path: ./02_silver.ipynb}}
        - {task_key: gold, job_cluster_key: c, depends_on: [{task_key: silver}], notebook_task: {notebook_path: ./03_gold.ipynb}}
"""


def solved(name: str):
    """What a perfect learner hands in for one exercise."""
    return grading.solved_exercise(nbformat.read(SOLUTIONS / name, as_version=4), name)


def write(folder: Path, name: str, nb) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)


def edit_cell(nb, marker: str, new_source: str):
    """Replace the source of the one code cell containing `marker`."""
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
    cell.source = new_source
    return nb


def replace_in(nb, old: str, new: str):
    """Replace `old` by `new` in the one code cell containing it."""
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and old in c.source]
    cell.source = cell.source.replace(old, new)
    return nb


def _task(history, run_id, key, state, deps=()):
    task_run = history.create_task_run(run_id, key, depends_on=list(deps))
    history.update_task_run(task_run, life_cycle_state="TERMINATED", result_state=state)


def repaired_history(path: Path, job_name: str = "my-medallion") -> None:
    """A run history in which a run failed at silver and a repair made it succeed."""
    history = History(path)
    try:
        job_id = history.ensure_job(job_name, {"name": job_name})
        run = history.create_run(job_id, job_name)
        _task(history, run, "bronze", "SUCCESS")
        _task(history, run, "silver", "FAILED", ["bronze"])
        _task(history, run, "gold", "UPSTREAM_FAILED", ["silver"])
        history.set_run_state(run, "INTERNAL_ERROR", "FAILED", "Task silver failed")
        history.create_repair(run, ["silver", "gold"], {"max_quarantine_share": "0.05"})
        _task(history, run, "silver", "SUCCESS", ["bronze"])
        _task(history, run, "gold", "SUCCESS", ["silver"])
        history.set_run_state(run, "TERMINATED", "SUCCESS")
    finally:
        history.close()


# --------------------------------------------------------------------------- the learners

def perfect(folder: Path) -> None:
    """Every exercise solved, and the practical: a bundle and a repaired run."""
    for name in NAMES:
        write(folder, name, solved(name))
    (folder / "databricks.yml").write_text(BUNDLE)
    repaired_history(folder / "history.db")


def partial(folder: Path) -> None:
    """Bronze and silver right; gold's funnel grouped by day only: its visible check passes,
    the instructor's hidden check does not. A bundle without a schedule, no run history."""
    write(folder, NAMES[0], solved(NAMES[0]))
    write(folder, NAMES[1], solved(NAMES[1]))
    write(folder, NAMES[2], replace_in(solved(NAMES[2]), 'events.groupBy("event_date", "category_code", "brand")',
                                       'events.groupBy("event_date")'))
    (folder / "databricks.yml").write_text(BUNDLE.replace('      schedule: {quartz_cron_expression: "0 0 6 * * ?", '
                                                          'timezone_id: UTC}\n', ""))


def syntax_error(folder: Path) -> None:
    """Bronze's write cell does not parse; silver and gold are handed in but cannot run after it."""
    write(folder, NAMES[0], edit_cell(solved(NAMES[0]), "rows_written = spark.table(EVENTS)",
                                      "for frame, table in ((events, EVENTS), (quarantine, QUARANTINE))\n"
                                      "    frame.write.saveAsTable(table)"))
    write(folder, NAMES[1], solved(NAMES[1]))
    write(folder, NAMES[2], solved(NAMES[2]))


def endless_loop(folder: Path) -> None:
    """Bronze's write cell never ends (it waits rather than spins: the loop costs the grader its
    timeout either way, and a spinning one would also slow whatever is graded alongside)."""
    write(folder, NAMES[0], edit_cell(solved(NAMES[0]), "rows_written = spark.table(EVENTS)",
                                      "while True:\n    import time\n    time.sleep(0.5)"))


def corrupt(folder: Path) -> None:
    """Bronze is not a notebook; and a notebook of another course."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / NAMES[0]).write_text('{"cells": [ this is not JSON')
    nbformat.write(nbformat.v4.new_notebook(), folder / "day8_streaming.ipynb")


def empty(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)


CLASS = {"ada": perfect, "bea": partial, "cal": syntax_error, "dan": endless_loop, "eve": corrupt, "fay": empty}


def make_class(root: Path, learners: dict | None = None) -> Path:
    for name, make in (learners or CLASS).items():
        make(root / name)
    return root
