"""The practical exercise's checklist is about the learner's own job, never the kit's."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from course.teaching import practical
from course.jobs.local.history import History

REPO = Path(__file__).resolve().parents[2]

LEARNER_JOB = """\
bundle: {name: practice}
resources:
  jobs:
    mine:
      name: practice-job
      parameters:
        - {name: fail, default: "0"}
      job_clusters:
        - job_cluster_key: c
          new_cluster:               # single node, as a learner's practice cluster often is
            spark_version: 15.4.x-scala2.12
            node_type_id: i3.xlarge
            num_workers: 0
            spark_conf: {spark.databricks.cluster.profile: singleNode, spark.master: "local[*, 4]"}
            custom_tags: {ResourceClass: SingleNode}
      schedule: {quartz_cron_expression: "0 0 2 * * ?", timezone_id: UTC}
      tasks:
        - {task_key: first, job_cluster_key: c, notebook_task: {notebook_path: ./exercises/first.ipynb}}
        - task_key: second
          depends_on: [{task_key: first}]
          job_cluster_key: c
          notebook_task: {notebook_path: ./exercises/second.ipynb}
"""

STEP = ("try:\n    dbutils\nexcept NameError:\n    from course.runtime import dbutils\n"
        "if dbutils.widgets.get('fail') == '1':\n    raise RuntimeError('failing on purpose')\n"
        "print('ok')")


@pytest.fixture
def learner(tmp_path, monkeypatch):
    """A learner's repository corner: my_job.yml and their 'exercise' notebooks."""
    exercises = tmp_path / "exercises"
    exercises.mkdir()
    for name in ("first", "second"):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(STEP)]
        nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                       "language_info": {"name": "python"}}
        nbformat.write(nb, exercises / f"{name}.ipynb")
    job = tmp_path / "my_job.yml"
    monkeypatch.setattr(practical, "LEARNER_JOB_FILE", job)
    monkeypatch.setattr(practical, "DEFAULT_JOB_FILE", job)
    monkeypatch.setattr(practical, "EXERCISES_DIR", exercises)
    return job


def _kit_run_failed_and_repaired(history: History, name: str = "day7-medallion") -> int:
    job_id = history.ensure_job(name, {"name": name})
    run = history.create_run(job_id, name)
    for key, state in (("bronze", "SUCCESS"), ("silver", "FAILED"), ("gold", "UPSTREAM_FAILED")):
        history.update_task_run(history.create_task_run(run, key), life_cycle_state="TERMINATED", result_state=state)
    history.set_run_state(run, "INTERNAL_ERROR", "FAILED", "Task silver failed")
    history.create_repair(run, ["silver", "gold"], {"max_quarantine_share": "0.05"})
    for key in ("silver", "gold"):
        history.update_task_run(history.create_task_run(run, key), life_cycle_state="TERMINATED", result_state="SUCCESS")
    history.set_run_state(run, "TERMINATED", "SUCCESS")
    return run


def test_a_fresh_clone_has_nothing_done_and_says_how_to_start(learner, capsys):
    assert practical.main(["check"]) == 1
    out = capsys.readouterr().out
    assert "0 of 5 done." in out and "✓" not in out
    assert "python runner.py practical new" in out


def test_the_kits_own_job_and_its_repaired_runs_never_count(learner, capsys):
    _kit_run_failed_and_repaired(History())  # what lesson 05's Run All leaves in the history
    assert practical.main(["check", "--job", str(REPO / "databricks.yml")]) == 1
    out = capsys.readouterr().out
    assert "one of the kit's own jobs" in out and "0 of 5 done." in out
    assert practical.main(["check", "-t", "exercises", "--job", str(REPO / "databricks.yml")]) == 1
    assert practical.main(["check", "--job", str(REPO / "notebooks/jobs/retries.yml")]) == 1
    capsys.readouterr()

    # A learner's file that reuses the kit's job name is refused too: the kit's runs would count.
    learner.write_text(LEARNER_JOB.replace("practice-job", "day7-medallion"))
    assert practical.main(["check"]) == 1
    assert "like one of the kit's jobs" in capsys.readouterr().out

    # The learner's own job: its structure passes, but the kit's repaired run is not its history.
    learner.write_text(LEARNER_JOB)
    assert practical.main(["check"]) == 1
    out = capsys.readouterr().out
    assert "✓ own-job" in out and "✓ dependent-tasks" in out and "✓ job-cluster" in out and "✓ schedule" in out
    assert "✗ repair" in out and "`practice-job` has never run here" in out and "4 of 5 done." in out


def test_notebooks_outside_the_exercises_do_not_make_it_yours(learner, capsys):
    learner.write_text(LEARNER_JOB.replace("./exercises/second.ipynb", str(REPO / "solutions/02_silver.ipynb")))
    assert practical.main(["check", "own-job"]) == 1
    out = capsys.readouterr().out
    assert "task `second` runs solutions/02_silver.ipynb: use your exercise notebooks" in out


def test_new_writes_a_starter_that_the_check_reads_and_never_overwrites(learner, capsys):
    assert practical.main(["new"]) == 0
    assert "TODO 1" in learner.read_text()
    assert practical.main(["new"]) == 1
    assert "already exists" in capsys.readouterr().err
    # The starter names the repository's exercises (./notebooks/exercises/ next to it).
    (learner.parent / "notebooks").mkdir()
    (learner.parent / "notebooks" / "exercises").symlink_to(REPO / "notebooks" / "exercises")
    results = practical.run_checks(list(practical.ITEMS), learner, exercises_dir=REPO / "notebooks/exercises",
                                   history=History())
    by_item = {r.item: r for r in results}
    assert by_item["own-job"].passed, by_item["own-job"].render()
    assert not by_item["dependent-tasks"].passed and not by_item["job-cluster"].passed


def test_bad_input_is_exit_2(learner, tmp_path, capsys):
    assert practical.main(["check", "--job", str(tmp_path / "nope.yml")]) == 2
    broken = tmp_path / "broken.yml"
    broken.write_text("bundle: {name: b}\nresources: {jobs: {x: {tasks: [{task_key: a, depends_on: [{task_key: nope}]}]}}}")
    assert practical.main(["check", "--job", str(broken)]) == 2
    with pytest.raises(SystemExit):
        practical.main(["check", "nonsense"])


@pytest.mark.slow
def test_the_learners_own_job_failed_and_repaired_with_the_runner_passes(learner, capsys):
    learner.write_text(LEARNER_JOB)

    def runner(*args):
        return subprocess.run([sys.executable, str(REPO / "runner.py"), *args, "--json"],
                              capture_output=True, text=True, timeout=300)

    failed = runner("--job", str(learner), "--param", "fail=1")
    assert failed.returncode == 1, failed.stderr[-3000:]
    import json

    run_id = json.loads(failed.stdout)["run_id"]
    assert practical.main(["check", "repair"]) == 1
    out = capsys.readouterr().out
    assert f"run {run_id}: first failed" in out and f"python runner.py repair {run_id} --job" in out

    repaired = runner("repair", str(run_id), "--job", str(learner), "--param", "fail=0")
    assert repaired.returncode == 0, repaired.stderr[-3000:]
    assert practical.main(["check"]) == 0
    out = capsys.readouterr().out
    assert "5 of 5 done." in out and "the run is now SUCCESS, under the same run id" in out
