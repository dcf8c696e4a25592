"""The runner end to end: run_if, EXCLUDED, leaf roll-up, independent branches, disabled tasks.

Each job of tests/jobs/runner/databricks.yml runs once (real kernels) and the
tests read the recorded `jobs.Run`, as `runs/get` would return it.
"""
from __future__ import annotations

import pytest

from runner_fixtures import attempts, module_home, no_processes_left, run_job, run_state  # noqa: F401


@pytest.fixture(scope="module")
def run_if(module_home):
    return module_home(lambda: run_job("run_if"))


# Every row of SEMANTICS.md's run_if table, both outcomes.
RUN_IF_ROWS = [
    ("all_success_runs", "SUCCESS"),               # ALL_SUCCESS: every dependency succeeded
    ("all_success_not", "UPSTREAM_FAILED"),
    ("at_least_one_success_runs", "SUCCESS"),      # AT_LEAST_ONE_SUCCESS: one succeeded, one failed
    ("at_least_one_success_not", "UPSTREAM_FAILED"),  # failed + not executed
    ("none_failed_runs", "SUCCESS"),               # NONE_FAILED: succeeded + not executed
    ("none_failed_not", "UPSTREAM_FAILED"),
    ("all_done_runs", "SUCCESS"),                  # ALL_DONE: failed + not executed, runs anyway
    ("at_least_one_failed_runs", "SUCCESS"),       # AT_LEAST_ONE_FAILED
    ("at_least_one_failed_not", "EXCLUDED"),
    ("all_failed_runs", "SUCCESS"),                # ALL_FAILED
    ("all_failed_not", "EXCLUDED"),
]


@pytest.mark.parametrize("task_key, expected", RUN_IF_ROWS, ids=[r[0] for r in RUN_IF_ROWS])
def test_run_if_table(run_if, task_key, expected):
    assert run_if.states[task_key] == expected


def test_tasks_that_run_really_ran_and_the_others_never_started_a_kernel(run_if):
    by_key = attempts(run_if.run)
    assert all(len(runs) == 1 for runs in by_key.values()), "no retries configured: one task run each"
    for key, state in run_if.states.items():
        task = by_key[key][0]
        if state == "SUCCESS":
            assert run_if.values(key) == {"n": 3}          # the notebook ran to its end
            assert task.run_page_url.endswith("/attempt-0.ipynb")
        elif state in ("UPSTREAM_FAILED", "EXCLUDED"):  # decided, never executed: no notebook
            assert not task.run_page_url.endswith(".ipynb"), key
            assert task.end_time - task.start_time < 100, key
    assert run_if.states["bad"] == "FAILED" and run_if.states["skipped"] == "UPSTREAM_FAILED"


def test_excluded_propagates_and_counts_as_success(run_if):
    # All dependencies EXCLUDED -> EXCLUDED, whatever the run_if (this one is ALL_DONE).
    assert run_if.states["after_excluded"] == "EXCLUDED"
    # EXCLUDED counts as success for ALL_SUCCESS.
    assert run_if.states["excluded_is_success"] == "SUCCESS"


def test_skipped_task_messages(run_if):
    by_key = attempts(run_if.run)
    assert by_key["skipped"][0].state.state_message == "Upstream task failed"
    assert "Excluded" in by_key["all_failed_not"][0].state.state_message


def test_a_failed_leaf_fails_the_run_like_a_workspace(run_if):
    # Leaves include UPSTREAM_FAILED tasks, so the run FAILED; the message names the
    # first failed task and its error, and the life cycle reads INTERNAL_ERROR.
    assert run_state(run_if.run) == ("INTERNAL_ERROR", "FAILED")
    assert run_if.run.state.state_message == "Task bad failed with message: RuntimeError: boom from fail.ipynb"
    assert run_if.run.status.state.value == "TERMINATED"
    assert run_if.run.status.termination_details.code.value == "RUN_EXECUTION_ERROR"


def test_independent_branch_goes_on_after_a_failure():
    # One task at a time, in definition order: `bad` fails first, then the other branch runs.
    result = run_job("branches", max_parallel=1)
    assert result.states == {"bad": "FAILED", "first": "SUCCESS", "second": "SUCCESS"}
    by_key = attempts(result.run)
    assert by_key["first"][0].start_time >= by_key["bad"][0].end_time
    # `bad` is a leaf: the run FAILED, reported the way a workspace reports it.
    assert run_state(result.run) == ("INTERNAL_ERROR", "FAILED")
    assert result.run.state.state_message.startswith("Task bad failed with message: RuntimeError")


def test_failure_handled_by_an_all_done_leaf_is_success_with_failures():
    result = run_job("handled")
    assert result.states == {"bad": "FAILED", "cleanup": "SUCCESS"}
    assert run_state(result.run) == ("TERMINATED", "SUCCESS_WITH_FAILURES")
    assert result.run.status.termination_details.code.value == "SUCCESS_WITH_FAILURES"


def test_disabled_task_is_not_run_and_the_run_succeeds():
    result = run_job("disabled")
    # switched_off and after_off are fail.ipynb: had they run, the run would have failed.
    assert result.states == {"first": "SUCCESS", "switched_off": "DISABLED", "after_off": "DISABLED"}
    assert run_state(result.run) == ("TERMINATED", "SUCCESS")
    assert result.run.state.state_message == ""
    by_key = attempts(result.run)
    assert by_key["switched_off"][0].status.termination_details.code.value == "DISABLED"


def test_a_job_cluster_that_cannot_start_is_an_internal_error_of_its_task(day7_home):
    result = run_job("bad_cluster")
    task = attempts(result.run)["on_broken"][0]
    # INTERNAL_ERROR is the task's life cycle state; its result state is FAILED.
    assert (task.state.life_cycle_state.value, task.state.result_state.value) == ("INTERNAL_ERROR", "FAILED")
    assert task.status.termination_details.code.value == "INTERNAL_ERROR"
    assert "job cluster 'broken' failed to start" in task.state.state_message
    assert result.states["after"] == "UPSTREAM_FAILED"
    assert run_state(result.run) == ("INTERNAL_ERROR", "FAILED")
    assert result.run.state.state_message.startswith("Task on_broken failed with message: job cluster 'broken'")
    no_processes_left(day7_home, timeout=10)
