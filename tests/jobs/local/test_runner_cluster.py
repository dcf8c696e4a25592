"""End to end on a local job cluster (Spark Connect): tables pass between tasks and sessions.

From run to run on a new cluster: see the SIGKILL test in test_runner_interrupts.py,
whose repair reads a table written before the crash.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from runner_fixtures import no_processes_left, run_job, run_state


@pytest.mark.slow
def test_tables_written_on_the_job_cluster_are_seen_by_the_next_task_and_a_local_session(day7_home):
    result = run_job("cluster_tables")
    assert result.states == {"writer": "SUCCESS", "reader": "SUCCESS"}, result.run.state.state_message
    assert run_state(result.run) == ("TERMINATED", "SUCCESS")
    assert result.values("writer") == {"written": 5}
    assert result.values("reader") == {"rows": 5}                     # spark.table in the next task
    assert any("starting job cluster local" in n for n in result.notes)
    no_processes_left(day7_home, timeout=30)                          # the cluster stopped with the run

    # The learner's own local session (no SPARK_REMOTE) reads it as well.
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED")}
    env["DAY7_QUIET_STORAGE"] = "1"
    code = "from course.runtime.spark import get_spark; print(get_spark().table('default.runner_e2e').count())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[-1] == "5"
    no_processes_left(day7_home, timeout=30)
