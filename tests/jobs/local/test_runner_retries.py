"""Retries and timeouts through the real runner: attempts, intervals, WAITING_FOR_RETRY, kills."""
from __future__ import annotations

import pytest

from runner_fixtures import alive, attempts, kernels_of, module_home, output_notebook, run_job, run_state  # noqa: F401


@pytest.fixture(scope="module")
def retries(module_home):
    return module_home(lambda: run_job("retries"))


def test_flaky_task_fails_once_then_succeeds_on_a_new_attempt(retries):
    flaky = attempts(retries.run)["flaky"]
    assert [(t.attempt_number, t.state.result_state.value) for t in flaky] == [(0, "FAILED"), (1, "SUCCESS")]
    assert flaky[0].run_id != flaky[1].run_id
    assert "first attempt fails" in flaky[0].state.state_message
    # {{task.execution_count}} counts attempts, as the notebook saw it.
    assert retries.values("flaky")["execution_count"] == "2"


def test_retry_interval_counts_from_the_start_of_the_failed_attempt(retries):
    first, second = attempts(retries.run)["flaky"]
    # Attempt 0 ran 1-5 s before failing; the 6 s interval started with it, so attempt 1
    # starts 6 s after attempt 0 *started* (1-5 s after it ended), not 6 s after its end.
    assert first.end_time - first.start_time >= 1000
    assert second.start_time - first.start_time >= 6000 - 10   # (clock granularity)
    assert second.start_time - first.end_time < 6000 - 500


def test_waiting_for_retry_is_visible_between_attempts(retries):
    seen = retries.seen("flaky")
    assert (1, "WAITING_FOR_RETRY") in seen
    assert seen.index((0, "FAILED")) < seen.index((1, "WAITING_FOR_RETRY")) < seen.index((1, "SUCCESS"))


def test_every_attempt_has_its_own_output_notebook_and_original_attempt(retries):
    for key in ("flaky", "hopeless"):
        runs = attempts(retries.run)[key]
        books = [output_notebook(t) for t in runs]
        assert [b.name for b in books] == ["attempt-0.ipynb", "attempt-1.ipynb"]
        assert all(b.is_file() for b in books)
        outputs = [retries.history.get_output(t.run_id).metadata for t in runs]
        assert {m.original_attempt_run_id for m in outputs} == {runs[0].run_id}


def test_max_retries_bounds_the_attempts(retries):
    hopeless = attempts(retries.run)["hopeless"]
    assert [(t.attempt_number, t.state.result_state.value) for t in hopeless] == [(0, "FAILED"), (1, "FAILED")]
    assert run_state(retries.run) == ("INTERNAL_ERROR", "FAILED")
    assert retries.run.state.state_message.startswith("Task hopeless failed with message: RuntimeError")


@pytest.fixture(scope="module")
def timeouts(module_home):
    return module_home(lambda: run_job("timeouts"))


def _pid(task) -> int:
    return int((output_notebook(task).with_suffix("") / "pid").read_text())


def test_task_timeout_kills_the_kernel_and_is_not_retried_by_default(timeouts):
    runs = attempts(timeouts.run)["no_retry"]
    assert [(t.attempt_number, t.state.result_state.value) for t in runs] == [(0, "TIMEDOUT")]
    task = runs[0]
    assert 2000 <= task.end_time - task.start_time < 20000         # killed, not slept 60 s
    assert task.state.state_message == "Timed out after 2 seconds"
    assert not alive(_pid(task))


def test_task_timeout_with_retry_on_timeout_retries(timeouts):
    runs = attempts(timeouts.run)["retried"]
    assert [(t.attempt_number, t.state.result_state.value) for t in runs] == [(0, "TIMEDOUT"), (1, "TIMEDOUT")]
    assert not any(alive(_pid(t)) for t in runs)
    # A TIMEDOUT leaf is a failed leaf; the run itself did not time out.
    assert run_state(timeouts.run) == ("INTERNAL_ERROR", "FAILED")
    assert kernels_of(timeouts.history.path.parent) == {}


def test_job_timeout_stops_the_whole_run():
    result = run_job("job_timeout")
    assert run_state(result.run) == ("TERMINATED", "TIMEDOUT")
    assert result.run.state.state_message == "Run timed out after 3 seconds"
    assert 3000 <= result.run.end_time - result.run.start_time < 20000
    assert result.states == {"sleeper": "CANCELED", "after": "UPSTREAM_CANCELED"}
    assert not alive(_pid(attempts(result.run)["sleeper"][0]))
    assert kernels_of(result.history.path.parent) == {}


# ------------------------------------------------- continuous jobs: continuous.task_retry_mode

FLAKY = """\
import pathlib, sys
marker = pathlib.Path(sys.argv[1])
if not marker.exists():
    marker.write_text("failed once")
    raise SystemExit("first attempt fails")
"""


def _continuous_job(tmp_path, tasks: str):
    from course.jobs.spec import load_job

    (tmp_path / "flaky.py").write_text(FLAKY)
    (tmp_path / "slow.py").write_text("import time\ntime.sleep(6)\n")
    path = tmp_path / "job.yml"
    path.write_text("bundle: {name: t}\nresources:\n  jobs:\n    job:\n      name: continuous-retries\n"
                    "      continuous: {pause_status: PAUSED, task_retry_mode: ON_FAILURE}\n"
                    "      tasks:\n" + tasks)
    return load_job(path)


FLAKY_TASK = ("        - {task_key: flaky, max_retries: 2, spark_python_task: "
              "{python_file: ./flaky.py, parameters: [%s]}}\n")


def test_on_failure_retries_while_another_task_runs_its_first_attempt(tmp_path, day7_home):
    from runner_fixtures import _runner

    job = _continuous_job(tmp_path, FLAKY_TASK % str(tmp_path / "m1")
                          + "        - {task_key: slow, spark_python_task: {python_file: ./slow.py}}\n")
    runner, _, _ = _runner(job, None)
    run = runner.history.get_run(runner.run())
    flaky = attempts(run)["flaky"]
    assert [(t.attempt_number, t.state.result_state.value) for t in flaky] == [(0, "FAILED"), (1, "SUCCESS")]


def test_on_failure_does_not_retry_when_no_other_task_is_on_its_first_attempt(tmp_path, day7_home):
    from runner_fixtures import _runner

    job = _continuous_job(tmp_path, FLAKY_TASK % str(tmp_path / "m2"))
    runner, _, _ = _runner(job, None)
    run = runner.history.get_run(runner.run())
    assert [(t.attempt_number, t.state.result_state.value) for t in attempts(run)["flaky"]] == [(0, "FAILED")]


def test_task_values_from_a_python_file_pass_on_with_a_note(tmp_path, day7_home):
    # Databricks documents dbutils.jobs.taskValues for Python notebooks only; the kit is
    # more lenient and says so.
    from course.jobs.spec import load_job
    from runner_fixtures import _runner

    (tmp_path / "setter.py").write_text("from course.runtime import dbutils\n"
                                        "dbutils.jobs.taskValues.set('rows', 7)\n")
    (tmp_path / "quiet.py").write_text("print('no task values')\n")
    path = tmp_path / "job.yml"
    path.write_text("bundle: {name: t}\nresources:\n  jobs:\n    job:\n      name: py-values\n      tasks:\n"
                    "        - {task_key: setter, spark_python_task: {python_file: ./setter.py}}\n"
                    "        - {task_key: quiet, spark_python_task: {python_file: ./quiet.py}}\n"
                    "        - task_key: gate\n          depends_on: [{task_key: setter}]\n"
                    "          condition_task: {op: EQUAL_TO, left: '{{tasks.setter.values.rows}}', right: '7'}\n")
    runner, _, notes = _runner(load_job(path), None)
    run = runner.history.get_run(runner.run())
    assert attempts(run)["gate"][0].condition_task.outcome == "true"
    said = [n for n in notes if "task values" in n]
    assert len(said) == 1 and said[0].startswith("setter: a Python file task set task values (rows)")
    assert "Python notebooks only" in said[0]
