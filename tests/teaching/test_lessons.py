"""The lessons (notebooks/0*.ipynb) and the practical exercise's checklist (course.teaching.practical)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from course.teaching import practical
from course.jobs.spec import load_job
from course.jobs.local.history import History

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
LESSONS = ["00_start_here", "01_jobs_vs_notebooks", "02_parameters_and_widgets",
           "03_multi_task_workflows", "04_scheduling_and_triggers", "05_error_handling"]
IDIOM = ("# On Databricks, dbutils and spark already exist; elsewhere the Day 7 kit stands in for them.\n"
         "try:\n    dbutils\nexcept NameError:\n    from course.runtime import dbutils, spark, display")


# --------------------------------------------------------------------------- lessons

@pytest.mark.parametrize("lesson", LESSONS)
def test_a_lesson_has_goals_the_idiom_and_an_exercise_with_a_check(lesson):
    nb = nbformat.read(NOTEBOOKS / f"{lesson}.ipynb", as_version=4)
    title = nb.cells[0]
    assert title.cell_type == "markdown" and title.source.startswith(f"# {lesson[:2]} · ")
    assert "you will" in title.source or "By the end" in title.source, "say what the learner will be able to do"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source == IDIOM
    assert any(c.cell_type == "markdown" and "\n## Exercise" in "\n" + c.source for c in nb.cells)
    assert any("check" in c.metadata.get("tags", []) for c in code)
    assert all(not c.outputs for c in code), "lessons are committed without outputs"


def test_the_lesson_jobs_load_and_point_at_notebooks_that_exist():
    for path in sorted((NOTEBOOKS / "jobs").glob("*.yml")):
        from course.jobs.spec import list_jobs

        for key in list_jobs(path):
            job = load_job(path, job_key=key)
            for task in job.settings.tasks:
                assert Path(task.notebook_task.notebook_path).is_file(), f"{path.name}: {task.task_key}"


def _nbval(lesson: str, home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_REMOTE", "DAY7_TASK")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", "--color=no",
         "-o", "addopts=", str(NOTEBOOKS / f"{lesson}.ipynb")],
        cwd=REPO, env=dict(env, DAY7_HOME=str(home)), capture_output=True, text=True)


@pytest.fixture(scope="module")
def lesson_runs(tmp_path_factory):
    """Every lesson's nbval run, two at a time in the background (each in its own kit state
    folder); a test waits for its own. Much of a lesson's time is waiting on processes
    starting (kernels, Spark), so two at a time roughly halves the wall time on 2 cores."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=2)
    slowest_first = ["05_error_handling", "03_multi_task_workflows", "02_parameters_and_widgets",
                     "04_scheduling_and_triggers", "01_jobs_vs_notebooks", "00_start_here"]
    homes = {lesson: tmp_path_factory.mktemp(f"home-{lesson}") for lesson in slowest_first}
    futures = {lesson: pool.submit(_nbval, lesson, homes[lesson]) for lesson in slowest_first}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)
    # A lesson that failed before its last cell may leave an all-purpose cluster up (lesson 03's):
    # it would stop itself after its auto-termination; stop it now.
    from course.jobs.local.compute import allpurpose
    from course.platform import paths

    for home in homes.values():
        with paths.using_home(home):
            for cluster in allpurpose.list_clusters():
                if cluster["state"] != "TERMINATED":   # (a stopped one's pids may belong to others by now)
                    allpurpose.stop(cluster["key"])


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_a_lesson_runs_top_to_bottom(lesson, lesson_runs):
    """`pytest --nbval-lax` on the lesson: every cell runs without an error (the runner included)."""
    result = lesson_runs[lesson].result(timeout=900)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]


# --------------------------------------------------------------------------- the practical's checklist

def write_job(tmp_path: Path, body: str) -> Path:
    (tmp_path / "task.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    path = tmp_path / "job.yml"
    path.write_text(textwrap.dedent(body))
    return path


def test_the_day7_job_has_dependent_tasks_a_job_cluster_and_a_schedule():
    settings = load_job(REPO / "databricks.yml").settings
    dependent = practical.check_dependent_tasks(settings)
    assert dependent.passed and dependent.lines == ["silver runs after bronze", "gold runs after silver"]
    cluster = practical.check_job_cluster(settings)
    assert cluster.passed and "task `gold` runs on `day7_cluster`" in cluster.lines
    schedule = practical.check_schedule(settings)
    assert schedule.passed and schedule.lines == ["`0 0 2 * * ?` in UTC (every day at 02:00:00)"]


def test_what_is_missing_is_said_with_what_to_add(tmp_path):
    settings = load_job(write_job(tmp_path, """
        bundle: {name: practice}
        resources:
          jobs:
            mine:
              name: mine
              tasks:
                - {task_key: a, existing_cluster_id: "0123-abc", notebook_task: {notebook_path: ./task.ipynb}}
                - {task_key: b, notebook_task: {notebook_path: ./task.ipynb}}
    """)).settings
    dependent = practical.check_dependent_tasks(settings)
    assert not dependent.passed and "depends_on: [{task_key: a}]" in dependent.lines[1]
    cluster = practical.check_job_cluster(settings)
    assert not cluster.passed and "no `job_clusters`" in cluster.lines[0]
    schedule = practical.check_schedule(settings)
    assert not schedule.passed and "quartz_cron_expression" in schedule.lines[1]
    assert "✗ schedule" in schedule.render()

    settings = load_job(write_job(tmp_path, """
        bundle: {name: practice}
        resources:
          jobs:
            mine:
              name: mine
              job_clusters:
                - {job_cluster_key: c, new_cluster: {spark_version: 15.4.x-scala2.12, num_workers: 2}}
              schedule: {quartz_cron_expression: "0 30 6 ? * MON-FRI", timezone_id: Europe/Paris, pause_status: PAUSED}
              tasks:
                - {task_key: a, job_cluster_key: c, notebook_task: {notebook_path: ./task.ipynb}}
                - {task_key: b, existing_cluster_id: "0123-abc", depends_on: [{task_key: a}], notebook_task: {notebook_path: ./task.ipynb}}
    """)).settings
    cluster = practical.check_job_cluster(settings)
    assert not cluster.passed and any("all-purpose cluster 0123-abc" in line for line in cluster.lines)
    schedule = practical.check_schedule(settings)
    assert schedule.passed and "at 06:30 on days of week MON-FRI" in schedule.lines[0] and "paused" in schedule.lines[1]


def _task(history, run_id, key, state, deps=()):
    task_run = history.create_task_run(run_id, key, depends_on=deps)
    history.update_task_run(task_run, life_cycle_state="TERMINATED", result_state=state)


def test_the_repair_item_follows_a_run_from_its_failure_to_a_successful_repair(tmp_path):
    history = History(tmp_path / "history.db")
    assert "never run" in practical.check_repair(history, "day7-medallion").lines[0]
    job_id = history.ensure_job("day7-medallion", {"name": "day7-medallion"})

    fine = history.create_run(job_id, "day7-medallion")
    for key in ("bronze", "silver", "gold"):
        _task(history, fine, key, "SUCCESS")
    history.set_run_state(fine, "TERMINATED", "SUCCESS")
    result = practical.check_repair(history, "day7-medallion")
    assert not result.passed and "max_quarantine_share=0" in result.lines[1]

    run = history.create_run(job_id, "day7-medallion")
    _task(history, run, "bronze", "SUCCESS")
    _task(history, run, "silver", "FAILED", ["bronze"])
    _task(history, run, "gold", "UPSTREAM_FAILED", ["silver"])
    history.set_run_state(run, "INTERNAL_ERROR", "FAILED", "Task silver failed with message: QualityGateFailed")
    result = practical.check_repair(history, "day7-medallion")
    assert not result.passed
    assert result.lines == [f"run {run}: silver failed",
                            f"not repaired yet: fix the cause, then `python runner.py repair {run}` "
                            "(with `--param NAME=VALUE` if a parameter was the cause)"]

    history.create_repair(run, ["silver", "gold"], {"max_quarantine_share": "0.05"})
    _task(history, run, "silver", "FAILED", ["bronze"])
    _task(history, run, "gold", "UPSTREAM_FAILED", ["silver"])
    history.set_run_state(run, "INTERNAL_ERROR", "FAILED", "Task silver failed")
    result = practical.check_repair(history, "day7-medallion")
    assert not result.passed and "still FAILED" in result.lines[-1]

    history.create_repair(run, ["silver", "gold"], latest_repair_id=history.latest_repair_id(run))
    _task(history, run, "silver", "SUCCESS", ["bronze"])
    _task(history, run, "gold", "SUCCESS", ["silver"])
    history.set_run_state(run, "TERMINATED", "SUCCESS")
    result = practical.check_repair(history, "day7-medallion")
    assert result.passed, result.render()
    assert result.lines == [f"run {run}: silver failed",
                            "repaired 2 times: re-ran gold, silver; bronze kept its result",
                            "the run is now SUCCESS, under the same run id"]


def test_the_command_checks_items_and_says_so_in_its_exit_code(tmp_path, capsys):
    # (tests/teaching/test_practical.py: the checklist is about the learner's own my_job.yml)
    job = write_job(tmp_path, """
        bundle: {name: practice}
        resources:
          jobs:
            mine:
              name: mine
              schedule: {quartz_cron_expression: "0 0 2 * * ?", timezone_id: UTC}
              tasks:
                - {task_key: a, notebook_task: {notebook_path: ./task.ipynb}}
                - {task_key: b, depends_on: [{task_key: a}], notebook_task: {notebook_path: ./task.ipynb}}
    """)
    assert practical.main(["check", "dependent-tasks", "schedule", "--job", str(job)]) == 0
    out = capsys.readouterr().out
    assert "✓ dependent-tasks" in out and "✓ schedule" in out and "2 of 2 done." in out
    assert practical.main(["check", "repair", "--job", str(job)]) == 1  # a fresh DAY7_HOME: no runs yet
    assert "✗ repair" in capsys.readouterr().out
    broken = tmp_path / "broken.yml"
    broken.write_text("bundle: {name: b}\nresources: {jobs: {x: {tasks: [{task_key: a, depends_on: [{task_key: nope}]}]}}}")
    assert practical.main(["check", "--job", str(broken)]) == 2
    with pytest.raises(SystemExit):
        practical.main(["check", "nonsense"])
