"""Repairs inside the same run: selection, parameter overrides, history, repair_count."""
from __future__ import annotations

import json

import pytest

from runner_fixtures import BUNDLE, attempts, module_home, repair_job, run_job, run_state  # noqa: F401
from course.jobs.local.history import History
from course.jobs.local.runner import RunError


@pytest.fixture(scope="module")
def repaired(module_home):
    """The `repair` job: fails (mode=bad), repaired with mode=good, then twice more."""
    def scenario():
        original = run_job("repair")
        first = repair_job("repair", original.run_id, overrides={"mode": "good"})
        only_up = repair_job("repair", original.run_id, rerun_tasks=["up"])
        with_dependents = repair_job("repair", original.run_id, rerun_tasks=["check"], rerun_dependents=True)
        return original, first, only_up, with_dependents
    return module_home(scenario)


def test_the_original_run_fails(repaired):
    original = repaired[0]
    assert original.states == {"up": "SUCCESS", "check": "FAILED", "after": "UPSTREAM_FAILED"}
    assert run_state(original.run) == ("INTERNAL_ERROR", "FAILED")
    assert original.run.state.state_message == "Task check failed with message: ValueError: mode is bad"


def test_repair_with_a_fixed_parameter_reruns_failed_and_skipped_tasks_only(repaired):
    original, first = repaired[:2]
    run = first.run
    assert first.run_id == original.run_id                      # same run
    by_key = attempts(run)
    up_runs = [t for t in by_key["up"] if t.run_id in first.run.repair_history[1].task_run_ids]
    assert up_runs == []                                        # successful upstream: not re-run
    assert run_state(run) == ("TERMINATED", "SUCCESS")
    repair_tasks = {t.task_key for t in run.tasks if t.run_id in run.repair_history[1].task_run_ids}
    assert repair_tasks == {"check", "after"}
    # The re-run task saw the kept task's values, the new parameter and the repair count;
    # {{task.execution_count}} went on counting from the original run's attempt.
    check = first.history.task_run_values(by_key["check"][1].run_id)
    assert check == {"mode": "good", "upstream_n": "3", "repair_count": "1", "execution_count": "2"}


def test_repair_history_lists_the_original_and_each_repair(repaired):
    run = repaired[-1].run
    history = run.repair_history
    assert [h.type.value for h in history] == ["ORIGINAL", "REPAIR", "REPAIR", "REPAIR"]
    assert history[0].id is None and all(h.id for h in history[1:])
    # Every task run belongs to exactly one item; the original's outcome is kept.
    ids = [i for h in history for i in h.task_run_ids]
    assert sorted(ids) == sorted(t.run_id for t in run.tasks)
    assert history[0].state.result_state.value == "FAILED"
    assert [h.state.result_state.value for h in history[1:]] == ["SUCCESS"] * 3


def test_repair_with_task_reruns_only_that_task(repaired):
    only_up = repaired[2]
    run = only_up.run
    item = run.repair_history[2]
    assert sorted(t.task_key for t in run.tasks if t.run_id in item.task_run_ids) == ["up"]
    assert run_state(run) == ("TERMINATED", "SUCCESS")


def test_repair_with_dependents_reruns_successful_downstream_tasks(repaired):
    last = repaired[3]
    run = last.run
    item = run.repair_history[3]
    assert sorted(t.task_key for t in run.tasks if t.run_id in item.task_run_ids) == ["after", "check"]
    check = attempts(run)["check"][-1]
    # The third repair: {{job.repair_count}} says 3; mode=good stayed from the first repair;
    # check's third execution (the second repair did not run it).
    assert last.history.task_run_values(check.run_id) == {"mode": "good", "upstream_n": "3", "repair_count": "3",
                                                          "execution_count": "3"}
    assert {p.name: p.value for p in run.job_parameters} == {"mode": "good"}


def test_nothing_to_repair_is_an_error(repaired):
    original = repaired[0]
    with pytest.raises(RunError, match="nothing to repair"):
        original.runner.repair(original.run_id)


def test_unknown_task_is_an_error(repaired):
    original = repaired[0]
    with pytest.raises(RunError, match="unknown task 'nope'"):
        original.runner.repair(original.run_id, rerun_tasks=["nope"])


@pytest.mark.slow
def test_repair_without_job_uses_the_file_the_run_came_from(day7_home, tmp_path):
    """`repair RUN_ID` on a run of the learner's own Jobs JSON repairs *that* job, never the kit's
    databricks.yml; naming another job is exit 2 and runs nothing."""
    from runner_fixtures import NOTEBOOKS, cli

    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps({"settings": {
        "name": "my two tasks",
        "parameters": [{"name": "mode", "default": "bad"}],
        "tasks": [{"task_key": "a", "notebook_task": {"notebook_path": str(NOTEBOOKS / "ok.ipynb")}},
                  {"task_key": "b", "depends_on": [{"task_key": "a"}],
                   "notebook_task": {"notebook_path": str(NOTEBOOKS / "check.ipynb")}}]}}))
    code, out, err = cli(["run", "--job", str(mine), "--json"])
    assert code == 1, err
    run_id = json.loads(out)["run_id"]

    code, out, err = cli(["repair", str(run_id), "--param", "mode=good", "--json"])
    assert code == 0, err
    run = json.loads(out)
    assert sorted({t["task_key"] for t in run["tasks"]}) == ["a", "b"]   # none of the kit's tasks
    assert run["state"]["result_state"] == "SUCCESS"

    before = History().get_run(run_id)
    code, out, err = cli(["repair", str(run_id), "--task", "a", "--job", str(BUNDLE), "--job-key", "repair"])
    assert code == 2
    assert f"run {run_id} is a run of job 'my two tasks'" in err and str(mine) in err
    assert len(History().get_run(run_id).tasks) == len(before.tasks)   # nothing ran
