"""`runner.py run / repair / runs`: exit codes, --json as Jobs API objects, the run history."""
from __future__ import annotations

import json

import pytest

from runner_fixtures import attempts, cli, job_args, module_home, run_from_json  # noqa: F401
from course.jobs.local.history import History


@pytest.fixture(scope="module")
def session(module_home):
    """`run --json` of the `cli` job (ok succeeds, check fails twice), then `repair --param mode=good --json`."""
    def scenario():
        ran = cli(["run", *job_args("cli"), "--json"])
        run_id = json.loads(ran[1])["run_id"] if ran[0] != 2 else None
        repaired = cli(["repair", str(run_id), *job_args("cli"), "--param", "mode=good", "--json"])
        return ran, repaired
    return module_home(lambda: (*scenario(), module_home))


def test_run_json_is_a_jobs_api_run_with_every_attempt_and_exit_1(session):
    (code, out, err), _, _ = session
    assert code == 1, err
    run = run_from_json(out)
    assert run.state.life_cycle_state.value == "INTERNAL_ERROR" and run.state.result_state.value == "FAILED"
    by_key = attempts(run)
    assert [(t.attempt_number, t.state.result_state.value) for t in by_key["check"]] == [(0, "FAILED"),
                                                                                          (1, "FAILED")]
    assert [t.state.result_state.value for t in by_key["ok"]] == ["SUCCESS"]
    assert all(t.start_time and t.end_time >= t.start_time for t in run.tasks)
    assert "check" in err                                        # progress went to stderr


def test_repair_json_exit_0_and_repair_history(session):
    (_, first, _), (code, out, err), _ = session
    assert code == 0, err
    run = run_from_json(out)
    assert run.run_id == json.loads(first)["run_id"]
    assert run.state.result_state.value == "SUCCESS"
    assert [h.type.value for h in run.repair_history] == ["ORIGINAL", "REPAIR"]
    assert [(t.task_key, t.state.result_state.value) for t in run.tasks
            if t.run_id in run.repair_history[1].task_run_ids] == [("check", "SUCCESS")]
    assert len(run.tasks) == 4                                   # ok, check x2, check (repair)


def test_runs_show_and_output_json(session):
    (_, first, _), _, within = session
    run_id = json.loads(first)["run_id"]

    def read():
        show = cli(["runs", "show", str(run_id), "--json"])
        run = run_from_json(show[1])
        ok = attempts(run)["ok"][0]
        return show, run, cli(["runs", "output", str(ok.run_id), "--json"]), cli(["runs"]), cli(["runs", "show", str(run_id)])

    (code, _, _), run, (out_code, out_json, _), (list_code, listing, _), (text_code, text, _) = within(read)
    assert code == 0 and len(run.tasks) == 4 and len(run.repair_history) == 2
    assert out_code == 0
    output = json.loads(out_json)
    assert output["notebook_output"]["result"] == "ok"
    assert output["task_values"] == {"n": 3}
    assert output["metadata"]["job_run_id"] == run_id
    assert list_code == 0 and str(run_id) in listing and "runner cli" in listing and "SUCCESS" in listing
    assert text_code == 0 and "check" in text and f"run {run_id}: SUCCESS" in text


def test_runs_output_of_a_job_run_id_is_a_usage_error(session):
    (_, first, _), _, within = session
    run_id = json.loads(first)["run_id"]
    code, _, err = within(lambda: cli(["runs", "output", str(run_id)]))
    assert code == 2 and "is a job run" in err


def test_successful_run_exits_0_with_a_summary_table():
    code, out, err = cli(["run", *job_args("disabled")])
    assert code == 0, err
    assert "switched_off" in out and "DISABLED" in out and "SUCCESS" in out


# ---------------------------------------------------------------- exit 2: nothing runs

def _nothing_ran():
    assert History().list_runs() == []


def test_bad_job_file_names_the_file_and_the_field(tmp_path):
    bad = tmp_path / "databricks.yml"
    bad.write_text(
        "bundle: {name: broken}\n"
        "resources:\n  jobs:\n    broken:\n      tasks:\n"
        "        - task_key: a\n          notebook_task: {notebook_path: /nowhere/a.ipynb}\n")
    code, out, err = cli(["run", "--job", str(bad)])
    assert code == 2
    assert "databricks.yml" in err and "resources.jobs.broken.tasks[0].notebook_task.notebook_path" in err
    assert "notebook not found" in err
    _nothing_ran()


def test_missing_dependency_names_the_field(tmp_path):
    bad = tmp_path / "job.json"
    bad.write_text(json.dumps({"name": "x", "tasks": [
        {"task_key": "a", "condition_task": {"op": "EQUAL_TO", "left": "1", "right": "1"}},
        {"task_key": "b", "depends_on": [{"task_key": "aa"}],
         "condition_task": {"op": "EQUAL_TO", "left": "1", "right": "1"}}]}))
    code, out, err = cli(["run", "--job", str(bad)])
    assert code == 2
    assert "job.json" in err and "tasks[1].depends_on[0]" in err and "task 'aa' does not exist" in err
    _nothing_ran()


@pytest.mark.parametrize("param, message", [
    ("nonsense", "--param: bad parameter 'nonsense': expected NAME=VALUE"),
    ("bad name=1", "invalid parameter name 'bad name'"),
    ("nope=1", "unknown job parameter 'nope'"),
])
def test_bad_param_is_a_usage_error(param, message):
    code, out, err = cli(["run", *job_args("cli"), "--param", param])
    assert code == 2
    assert message in err
    _nothing_ran()


def test_unknown_layer_and_missing_job_file_are_usage_errors(tmp_path):
    code, _, err = cli(["run", *job_args("cli"), "--layer", "nope"])
    assert code == 2 and "--layer nope: no such task" in err
    code, _, err = cli(["run", "--job", str(tmp_path / "missing.yml")])
    assert code == 2 and "missing.yml" in err
    code, _, err = cli(["repair", "999", *job_args("cli")])
    assert code == 2 and "999" in err
    _nothing_ran()


def test_data_help_and_unknown_options():
    code, out, _ = cli(["data", "--help"])
    assert code == 0 and "--rows" in out
    code, _, err = cli(["runs", "--bogus"])
    assert code == 2 and "unrecognized arguments: --bogus" in err
