"""Parameters, dynamic value references, condition tasks and --layer, as notebooks see them."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from databricks.sdk.service import jobs

from runner_fixtures import attempts, cli, job_args, module_home, run_job, run_state  # noqa: F401
from course.jobs.local.runner import RunError


@pytest.fixture(scope="module")
def params_run(module_home):
    return module_home(lambda: run_job("params"))


def test_dynamic_references_as_the_notebook_sees_them(params_run):
    widgets = params_run.values("echo")["widgets"]
    run = params_run.run
    today = datetime.fromtimestamp(run.start_time / 1000, tz=timezone.utc).strftime("%Y-%m-%d")
    assert widgets["run_id"] == str(run.run_id)
    assert widgets["start_date"] == today
    assert widgets["run_date"] == today                  # a job parameter default with a reference
    assert widgets["upstream_n"] == "3"                  # {{tasks.producer.values.n}}
    assert widgets["repair_count"] == "0"
    assert widgets["execution_count"] == "1"
    assert widgets["task_name"] == "echo"
    assert widgets["trigger"] == "one_time"
    assert widgets["literal"] == "{{not_a_namespace.x}}"  # unknown namespace: left as text


def test_a_repair_keeps_the_trigger_of_the_run_it_repairs():
    from runner_fixtures import repair_job

    first = run_job("params", trigger="PERIODIC")
    assert first.values("echo")["widgets"]["trigger"] == "periodic"
    repaired = repair_job("params", first.run_id, rerun_tasks=["echo"])  # a repair by hand: ONE_TIME options
    echo = attempts(repaired.run)["echo"][-1]
    assert repaired.history.task_run_values(echo.run_id)["widgets"]["trigger"] == "periodic"


def test_job_parameter_beats_base_parameter(params_run):
    widgets = params_run.values("echo")["widgets"]
    assert widgets["who"] == "job-default"               # base_parameters said base-parameter-loses
    assert widgets["only_base"] == "base-value"
    assert widgets["job_param"] == "job-default"
    # The job parameters are pushed down to every notebook task.
    assert params_run.values("echo")["upstream_n"] == 3  # taskValues.get from the upstream task
    assert params_run.history.get_output(attempts(params_run.run)["echo"][0].run_id).notebook_output.result \
        == "job-default"


def test_notebook_runs_in_its_own_folder(params_run):
    # On Databricks a notebook's working directory is the folder it lives in.
    assert params_run.values("echo")["cwd"] == str(attempts(params_run.run)["echo"][0].notebook_task.notebook_path
                                                  ).rsplit("/", 1)[0]


def test_unknown_override_is_refused_before_anything_runs():
    with pytest.raises(RunError, match="unknown job parameter 'nope'"):
        run_job("params", overrides={"nope": "1"})


# ---------------------------------------------------------------- --layer

@pytest.fixture(scope="module")
def layers(params_run, module_home):
    """After the full run: `--layer tail`, then `--layer echo --param who=override`."""
    return module_home(lambda: (run_job("params", layers=["tail"]),
                                run_job("params", layers=["echo"], overrides={"who": "override"})))


def test_layer_runs_one_task_with_upstream_values_from_the_latest_successful_run(params_run, layers):
    tail, echo = layers
    # --layer tail: only tail runs; echo (which itself depends on producer) comes from the run before.
    assert tail.states == {"tail": "SUCCESS"}, attempts(tail.run)["tail"][0].state.state_message
    # Values of tasks further upstream are there too: tail reads producer's (two tasks up).
    assert tail.values("tail")["upstream_n"] == 3
    assert tail.values("tail")["widgets"]["upstream_n"] == "3"
    assert run_state(tail.run) == ("TERMINATED", "SUCCESS")
    assert "--layer tail" in tail.run.run_name
    assert echo.states == {"echo": "SUCCESS"}
    widgets = echo.values("echo")["widgets"]
    assert widgets["upstream_n"] == "3"                   # producer's value from the full run
    assert echo.values("echo")["upstream_n"] == 3         # taskValues.get sees it too
    assert widgets["run_id"] == str(echo.run_id) != str(params_run.run_id)


def test_run_time_override_beats_job_parameter_default(layers):
    _, echo = layers
    widgets = echo.values("echo")["widgets"]
    assert widgets["who"] == widgets["job_param"] == "override"
    assert {p.name: (p.default, p.value) for p in echo.run.job_parameters}["who"] == ("job-default", "override")


def test_layer_without_an_upstream_result_names_the_task_to_run_first():
    code, out, err = cli(["run", *job_args("params"), "--layer", "echo"])
    assert code == 2
    assert "task 'echo' needs a successful 'producer' first" in err
    assert "--layer producer" in err


def test_unknown_layer_is_a_usage_error():
    code, out, err = cli(["run", *job_args("params"), "--layer", "nope"])
    assert code == 2
    assert "--layer nope: no such task" in err


# ---------------------------------------------------------------- condition tasks

@pytest.mark.parametrize("n, taken, not_taken", [("3", "small", "big"), ("7", "big", "small")])
def test_condition_task_branches_on_a_task_value(n, taken, not_taken):
    result = run_job("condition", overrides={"n": n})
    states = result.states
    assert states["producer"] == "SUCCESS" and states["is_big"] == "SUCCESS"
    assert states[taken] == "SUCCESS"
    assert states[not_taken] == "EXCLUDED"
    assert states["after_big"] == ("SUCCESS" if taken == "big" else "EXCLUDED")
    assert run_state(result.run) == ("TERMINATED", "SUCCESS")
    condition = attempts(result.run)["is_big"][0]
    outcome = result.history.task_run(condition.run_id).exit_value
    assert outcome == ("true" if taken == "big" else "false")
    assert condition.notebook_task is None  # a condition task run is shown as one, outcome included
    assert condition.condition_task.op == jobs.ConditionTaskOp.GREATER_THAN and condition.condition_task.outcome == outcome
