"""course.teaching.cost: a run's start-up, run time and ESTIMATED Databricks cost.

The arithmetic against figures worked out by hand; the timings and the compute from a real
run history (SQLite, written through History's own API, with the executed notebook a
task leaves); bad input as one sentence. Lesson 03 runs it on real job and all-purpose
clusters (tests/teaching/test_lessons.py).
"""
from __future__ import annotations

import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest

from course.jobs.local.history import History, now_ms
from course.jobs.spec import load_job
from course.teaching import cost

BUNDLE = """\
    bundle: {name: cost_lesson}
    resources:
      clusters:
        team_dev:
          cluster_name: team-dev
          spark_version: 15.4.x-scala2.12
          node_type_id: Standard_DS3_v2
          num_workers: 1
          autotermination_minutes: 15
      jobs:
        nightly:
          name: nightly on a job cluster
          job_clusters:
            - job_cluster_key: etl
              new_cluster: {spark_version: 15.4.x-scala2.12, node_type_id: Standard_DS3_v2, num_workers: 2}
          tasks:
            - {task_key: load, job_cluster_key: etl, notebook_task: {notebook_path: ./load.ipynb}}
            - {task_key: report, depends_on: [{task_key: load}], job_cluster_key: etl,
               notebook_task: {notebook_path: ./load.ipynb}}
        interactive:
          name: nightly on the team cluster
          tasks:
            - {task_key: load, existing_cluster_id: "${resources.clusters.team_dev.id}",
               notebook_task: {notebook_path: ./load.ipynb}}
        no_cluster:
          name: a session per task
          tasks:
            - {task_key: load, notebook_task: {notebook_path: ./load.ipynb}}
        mixed:
          name: half and half
          job_clusters:
            - job_cluster_key: etl
              new_cluster: {spark_version: 15.4.x-scala2.12, num_workers: 0}
          tasks:
            - {task_key: load, job_cluster_key: etl, notebook_task: {notebook_path: ./load.ipynb}}
            - {task_key: report, existing_cluster_id: "${resources.clusters.team_dev.id}",
               notebook_task: {notebook_path: ./load.ipynb}}
"""


@pytest.fixture
def bundle(tmp_path) -> Path:
    (tmp_path / "load.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    path = tmp_path / "databricks.yml"
    path.write_text(textwrap.dedent(BUNDLE))
    return path


@pytest.fixture
def history(tmp_path) -> History:
    return History(tmp_path / "state" / "history.db")


def executed_notebook(folder: Path, began_ms: int) -> Path:
    """A task's executed notebook as papermill leaves it: its start time in the metadata."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('rows: 40')")])
    nb.metadata["papermill"] = {"start_time": datetime.fromtimestamp(began_ms / 1000, timezone.utc).isoformat()}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "attempt-0.ipynb"
    nbformat.write(nb, path)
    return path


def record_run(history: History, bundle: Path, job_key: str, *, notebook_after_s: float = 0.3,
               finish: bool = True, keep_notebook: bool = True) -> tuple[int, int]:
    """A run as the runner records it: job, run, task runs (RUNNING, executed notebook, SUCCESS),
    the run's end. Returns (run_id, the ms its first notebook began)."""
    loaded = load_job(bundle, job_key=job_key)
    job_id = history.ensure_job(loaded.settings.name, loaded.settings.as_dict(),
                                {"file": str(bundle), "job_key": job_key, "target": None})
    run_id = history.create_run(job_id, loaded.settings.name)
    history.set_run_state(run_id, "RUNNING")
    time.sleep(notebook_after_s)               # the cluster and the kernel starting
    began = now_ms()
    for task in loaded.settings.tasks:
        tr = history.create_task_run(run_id, task.task_key, life_cycle_state="RUNNING",
                                     notebook_path=task.notebook_task.notebook_path)
        if keep_notebook:
            history.update_task_run(tr, output_path=executed_notebook(bundle.parent / "runs" / str(run_id)
                                                                      / task.task_key, began))
        time.sleep(0.1)
        history.update_task_run(tr, life_cycle_state="TERMINATED", result_state="SUCCESS")
    if finish:
        history.set_run_state(run_id, "TERMINATED", "SUCCESS")
    return run_id, began


# --------------------------------------------------------------------------- the arithmetic, by hand

def times(compute: str, wall_s: float, workers: int, minutes: float = 0.0) -> cost.RunTimes:
    return cost.RunTimes(run_id=1, job_name="j", compute=compute, cluster="c", workers=workers,
                         autotermination_minutes=minutes, start_up_s=wall_s / 4, run_time_s=wall_s * 3 / 4,
                         wall_s=wall_s)


def test_a_job_cluster_is_billed_at_the_jobs_rate_for_the_run_and_has_no_idle_tail():
    # 3 nodes x 0.75 DBU/h = 2.25 DBU/h; 120 s = 1/30 h -> 0.075 DBU; x $0.30 = $0.0225
    e = cost.estimate(times(cost.JOB_CLUSTER, 120, workers=2))
    assert (e.nodes, e.dbu_per_hour) == (3, 2.25)
    assert e.run_dbus == pytest.approx(0.075) and e.run_usd == pytest.approx(0.0225)
    assert e.idle_tail_s == 0 and e.idle_tail_usd == 0
    row = e.row()
    assert row["$/DBU"] == 0.30 and row["est. $ this run"] == 0.0225 and row["est. $ total"] == 0.0225


def test_an_all_purpose_cluster_pays_the_all_purpose_rate_and_its_idle_tail():
    # 1 node: 0.75 DBU/h; 72 s = 0.02 h -> 0.015 DBU; x $0.55 = $0.00825
    # idle tail: 10 min = 1/6 h -> 0.125 DBU; x $0.55 = $0.06875
    e = cost.estimate(times(cost.ALL_PURPOSE, 72, workers=0, minutes=10))
    assert e.run_dbus == pytest.approx(0.015) and e.run_usd == pytest.approx(0.00825)
    assert e.idle_tail_s == 600 and e.idle_tail_usd == pytest.approx(0.06875)
    assert e.row()["est. $ total"] == pytest.approx(0.07700)
    # the learner's own auto-termination and rates: 30 min at $0.40/DBU and 2 DBU/h -> 1 DBU -> $0.40
    own = cost.AZURE_PREMIUM.but(all_purpose_usd_per_dbu=0.40, node_dbu_per_hour=2.0)
    e = cost.estimate(times(cost.ALL_PURPOSE, 72, workers=0, minutes=10), own, autotermination_minutes=30)
    assert e.idle_tail_usd == pytest.approx(0.40) and e.run_usd == pytest.approx(2.0 * 0.02 * 0.40)
    assert "with your all_purpose_usd_per_dbu, node_dbu_per_hour" in own.label


def test_the_price_list_is_one_labelled_table_and_every_caveat_says_estimate():
    rates = cost.AZURE_PREMIUM
    assert (rates.jobs_usd_per_dbu, rates.all_purpose_usd_per_dbu, rates.node_dbu_per_hour) == (0.30, 0.55, 0.75)
    assert rates.source.startswith("https://") and rates.read_on == "2026-12-02"
    text = cost.caveat()
    assert text.startswith("ESTIMATE") and "Real bills differ" in text and rates.read_on in text
    assert "learn.microsoft.com" in text and "$0.3/DBU" in text and "$0.55/DBU" in text


# --------------------------------------------------------------------------- from the history

def test_a_job_cluster_run_read_back_from_the_history(history, bundle):
    run_id, began = record_run(history, bundle, "nightly")
    run = history.run_record(run_id)
    t = cost.run_times(run_id, history)
    assert (t.compute, t.cluster, t.workers, t.autotermination_minutes) == (cost.JOB_CLUSTER, "etl", 2, 0.0)
    assert t.job_name == "nightly on a job cluster"
    assert t.start_up_s == pytest.approx((began - run.start_time) / 1000, abs=0.002) and t.start_up_s >= 0.3
    assert t.run_time_s == pytest.approx((run.end_time - began) / 1000, abs=0.002)
    assert t.wall_s == (run.end_time - run.start_time) / 1000
    table = cost.compare([run_id], history=history)
    assert table.loc[run_id, "nodes"] == 3 and table.loc[run_id, "$/DBU"] == 0.30
    assert table.loc[run_id, "est. $ this run"] == pytest.approx(2.25 * t.wall_s / 3600 * 0.30, abs=1e-6)


def test_an_all_purpose_run_takes_workers_and_auto_termination_from_the_bundle(history, bundle):
    run_id, _ = record_run(history, bundle, "interactive")
    t = cost.run_times(run_id, history)
    assert (t.compute, t.cluster, t.workers, t.autotermination_minutes) == (cost.ALL_PURPOSE, "team_dev", 1, 15.0)
    e = cost.estimate(t)
    # 2 nodes x 0.75 DBU/h = 1.5 DBU/h; 15 min = 0.25 h -> 0.375 DBU; x $0.55 = $0.20625
    assert e.idle_tail_usd == pytest.approx(0.20625)
    assert e.run_usd == pytest.approx(1.5 * t.wall_s / 3600 * 0.55)
    # the bundle gone: the kit's defaults for an undeclared id (as it ran it), 60 minutes, no workers
    bundle.rename(bundle.with_suffix(".old"))
    t = cost.run_times(run_id, history)
    assert (t.workers, t.autotermination_minutes) == (0, 60.0)


def test_without_its_notebook_the_start_up_counts_to_the_task_start(history, bundle):
    run_id, _ = record_run(history, bundle, "nightly", keep_notebook=False)
    run, first = history.run_record(run_id), history.task_runs(run_id)[0]
    t = cost.run_times(run_id, history)
    assert t.start_up_s == (first.start_time - run.start_time) / 1000


def test_bad_input_is_one_sentence(history, bundle):
    done, _ = record_run(history, bundle, "nightly", notebook_after_s=0)
    with pytest.raises(cost.CostError, match=r"^run 999 is not in the run history .*history\.db$"):
        cost.run_times(999, history)
    task_run = history.task_runs(done)[0].task_run_id
    with pytest.raises(cost.CostError, match=rf"^{task_run} is a task run of run {done}: pass the job run's id$"):
        cost.run_times(task_run, history)
    running, _ = record_run(history, bundle, "nightly", notebook_after_s=0, finish=False)
    with pytest.raises(cost.CostError, match=rf"^run {running} has not finished \(RUNNING\): estimate it once it ends$"):
        cost.compare([done, running], history=history)
    alone, _ = record_run(history, bundle, "no_cluster", notebook_after_s=0)
    with pytest.raises(cost.CostError, match="ran a task without a cluster"):
        cost.run_times(alone, history)
    mixed, _ = record_run(history, bundle, "mixed", notebook_after_s=0)
    with pytest.raises(cost.CostError, match=r"used 2 clusters \(all-purpose cluster team_dev, job cluster etl\)"):
        cost.run_times(mixed, history)
    history.create_repair(done, ["report"])
    history.set_run_state(done, "TERMINATED", "SUCCESS")
    with pytest.raises(cost.CostError, match="was repaired"):
        cost.run_times(done, history)
    with pytest.raises(cost.CostError, match=r"a run id is a whole number .* got '12'"):
        cost.run_times("12", history)
    with pytest.raises(cost.CostError, match=r"compare takes a list of run ids"):
        cost.compare(12, history=history)
    with pytest.raises(cost.CostError, match=r"^Rates.jobs_usd_per_dbu must be a positive number, got 0$"):
        cost.AZURE_PREMIUM.but(jobs_usd_per_dbu=0)
    with pytest.raises(cost.CostError, match=r"^Rates has no field dbu \(fields: label, "):
        cost.AZURE_PREMIUM.but(dbu=1)
    with pytest.raises(cost.CostError, match=r"autotermination_minutes must be a number of minutes, 0 or more"):
        cost.estimate(times(cost.ALL_PURPOSE, 60, 0, 10), autotermination_minutes=-5)
