"""End to end on a local job cluster (Spark Connect): tables pass between tasks and sessions.

From run to run on a new cluster: see the SIGKILL test in test_runner_interrupts.py,
whose repair reads a table written before the crash.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

from runner_fixtures import no_processes_left, run_job, run_state


@pytest.mark.slow
def test_tables_written_on_the_job_cluster_are_seen_by_the_next_task_and_a_local_session(day7_home):
    """One cluster and one local JVM for both halves: what the job's tasks write through the
    cluster, and what the learner's later local session (no SPARK_REMOTE) does with it."""
    result = run_job("cluster_tables")
    assert result.states == {"writer": "SUCCESS", "reader": "SUCCESS"}, result.run.state.state_message
    assert run_state(result.run) == ("TERMINATED", "SUCCESS")
    written = result.values("writer")
    assert written["written"] == 5 and "connect" in written["session"]   # a Spark Connect client
    assert result.values("reader") == {"rows": 5}                     # spark.table in the next task
    assert any("starting job cluster local" in n for n in result.notes)
    no_processes_left(day7_home, timeout=30)                          # the cluster stopped with the run

    # The learner's own local session reads it, and can overwrite it and append to it.
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED")}
    code = textwrap.dedent("""
        from course.runtime.spark import get_spark
        s = get_spark()
        print(type(s).__module__)
        print(s.table("default.runner_e2e").count())
        s.range(7).withColumnRenamed("id", "n").write.mode("overwrite").saveAsTable("default.runner_e2e")
        s.range(1).withColumnRenamed("id", "n").write.mode("append").saveAsTable("default.runner_e2e")
        print(s.table("default.runner_e2e").count())
    """)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    module, before, after = out.stdout.split()[-3:]
    assert "connect" not in module and before == "5" and after == "8"
    # Quiet logs: no Spark WARN lines (the JVM's own "WARNING: Using incubator
    # modules" line cannot be switched off and goes to the kernel's terminal).
    assert not re.search(r"\bWARN\b", out.stderr) and "Setting default log level" not in out.stderr
    # Nothing the overwrite moved aside stays behind.
    assert [p.name for p in (day7_home / "warehouse").iterdir() if p.name.startswith("runner_e2e")] == ["runner_e2e"]
    no_processes_left(day7_home, timeout=30)
