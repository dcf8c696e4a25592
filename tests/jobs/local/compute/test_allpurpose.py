"""All-purpose clusters: they outlive runs, stay warm, take notebooks, stop themselves or on request.

Real detached supervisors and Spark Connect JVMs; the bundle is tests/jobs/compute/databricks.yml.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import psutil
import pytest

from course.jobs.local.compute import allpurpose
from runner_fixtures import REPO_ROOT, alive, no_processes_left, wait_for
from compute_fixtures import BUNDLE, run_compute_job

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def stop_clusters_after(day7_home):
    """Whatever happens in the test, no cluster of its state folder outlives it."""
    yield
    for cluster in allpurpose.list_clusters():
        allpurpose.stop(cluster["key"])


def runner_cli(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / "runner.py"), *argv], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ), cwd=str(REPO_ROOT))


def test_a_second_run_finds_the_cluster_warm_a_notebook_attaches_stop_leaves_nothing_and_an_idle_one_goes(day7_home):
    """Two clusters at once, as a learner may have: shared_dev (started by a run, warm for the
    next, attached by a notebook, stopped on request) and quick_stop (started from the command
    line, 3 s of auto-termination: it goes by itself while shared_dev works, one JVM start and
    its idle wait overlapping the other's instead of following them)."""
    quick = subprocess.Popen([sys.executable, str(REPO_ROOT / "runner.py"), "clusters", "start", "quick_stop",
                              "--job", str(BUNDLE), "--job-key", "on_all_purpose"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=dict(os.environ), cwd=str(REPO_ROOT))
    first = run_compute_job("on_all_purpose")
    assert first.states == {"load_events": "SUCCESS"}, first.message
    values = first.values("load_events")
    assert (values["rows"], values["purchases"]) == (40, 14)
    assert any("all-purpose cluster shared_dev: starting" in n for n in first.notes)
    state = allpurpose.read_state("shared_dev")
    jvm = state["pids"][0]
    assert state["state"] == "RUNNING" and psutil.pid_exists(jvm)    # the run ended, the cluster did not
    assert values["cluster"] == state["url"]                          # the task ran there

    second = run_compute_job("on_all_purpose")
    assert second.states == {"load_events": "SUCCESS"}, second.message
    assert any("all-purpose cluster shared_dev: running, attaching" in n for n in second.notes)
    assert allpurpose.read_state("shared_dev")["pids"] == [jvm]      # the same JVM, warm

    # A notebook attaches and reads the table the job wrote a moment ago (no refresh_tables()).
    code = """
        from course.runtime import spark
        from course.runtime.spark import attach
        attach("shared_dev")
        print(spark.table("default.ap_click_events").count())
        import subprocess, sys
        print(subprocess.run([sys.executable, "runner.py", "clusters", "list"], capture_output=True, text=True).stdout)
    """
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         timeout=180, cwd=str(REPO_ROOT))
    assert out.returncode == 0, out.stderr[-3000:]
    count, listing = out.stdout.split("\n", 1)
    assert count == "40"
    row = next(line for line in listing.splitlines() if line.startswith("shared_dev"))
    assert "RUNNING" in row and state["url"] in row and "pid " in row   # the notebook shows as attached

    # quick_stop: 3 s without work, then no kit process is needed for it to go
    started, errors = quick.communicate(timeout=300)
    assert quick.returncode == 0, started + errors
    assert "RUNNING at sc://127.0.0.1:" in started
    idle = wait_for(lambda: (s := allpurpose.read_state("quick_stop")) and s["state"] == "TERMINATED" and s,
                    timeout=120, interval=0.2, what="auto-termination")
    assert "auto-terminated after 0.05 minutes without work" in idle["reason"]
    assert allpurpose.read_state("shared_dev")["state"] == "RUNNING"   # the other one is not idle's business

    stopped = runner_cli("clusters", "stop", "shared_dev")
    assert stopped.returncode == 0 and "terminated" in stopped.stdout
    # (the supervisor is this process's child: a zombie here until reaped, which counts as gone)
    assert not alive(jvm) and not alive(state["supervisor_pid"])
    no_processes_left(day7_home, timeout=30)
    assert allpurpose.read_state("shared_dev")["state"] == "TERMINATED"


def test_stop_does_not_wait_for_a_supervisor_that_exited_but_is_not_reaped_yet(day7_home):
    """The process that started a cluster (a runner, a kernel, the local workspace) may still
    run: the exited supervisor is its zombie until it reaps it. `clusters stop` from elsewhere
    used to wait out its whole timeout for that zombie (60 s, then 5 more)."""
    supervisor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])  # not reaped below
    try:
        allpurpose.write_state("zombie_parent", {"key": "zombie_parent", "state": "RUNNING",
                                                 "supervisor_pid": supervisor.pid, "pids": []})
        # from another process, as `runner.py clusters stop` is; a long timeout of its own, a guard below it
        code = "from course.jobs.local.compute import allpurpose; print(allpurpose.stop('zombie_parent', timeout=600))"
        stopped = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                                 cwd=str(REPO_ROOT))
        assert stopped.returncode == 0 and stopped.stdout.strip() == "True", stopped.stderr[-2000:]
        assert psutil.Process(supervisor.pid).status() == psutil.STATUS_ZOMBIE   # it was one, unreaped
        assert allpurpose.read_state("zombie_parent")["state"] == "TERMINATED"
    finally:
        supervisor.kill()
        supervisor.wait()
