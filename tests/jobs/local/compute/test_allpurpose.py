"""All-purpose clusters: they outlive runs, stay warm, take notebooks, stop themselves or on request.

Real detached supervisors and Spark Connect JVMs; the bundle is tests/jobs/compute/databricks.yml.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from course.jobs.local.compute import allpurpose, repls
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


def ready_repls(key: str) -> list[int]:
    """Pids of the warm REPLs the cluster's supervisor has published."""
    pids = []
    for path in repls.folder(key).glob("ready-*.json"):
        try:
            pids.append(json.loads(path.read_text())["pid"])
        except OSError:
            pass   # taken back by the supervisor meanwhile
    return pids


def live_repls(key: str) -> list[int]:
    """The published REPLs once there is one and every one published is alive, else []."""
    pids = ready_repls(key)
    return pids if pids and all(alive(pid) for pid in pids) else []


def test_a_second_run_finds_the_cluster_warm_a_notebook_attaches_stop_leaves_nothing_and_an_idle_one_goes(
        day7_home, monkeypatch):
    """Two clusters at once, as a learner may have: shared_dev (started by a run, warm for the
    next, attached by a notebook, stopped on request) and quick_stop (started from the command
    line, 3 s of auto-termination: it goes by itself while shared_dev works, one JVM start and
    its idle wait overlapping the other's instead of following them)."""
    quick = subprocess.Popen([sys.executable, str(REPO_ROOT / "runner.py"), "clusters", "start", "quick_stop",
                              "--job", str(BUNDLE), "--job-key", "on_all_purpose"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=dict(os.environ), cwd=str(REPO_ROOT))
    src = str(BUNDLE.parent / "src")
    monkeypatch.setenv("EVENTS_REGION", "us-east")   # the cluster (and its REPLs) start with these
    monkeypatch.setenv("EVENTS_SAMPLE", "1")
    first = run_compute_job("on_all_purpose")
    assert first.states == {"load_events": "SUCCESS"}, first.message
    values = first.values("load_events")
    assert (values["rows"], values["purchases"]) == (40, 14)
    assert (values["working_dir"], values["purchase_label"]) == (src, "Purchase")   # a relative path resolves
    assert values["env"] == "us-east/1"
    assert any("all-purpose cluster shared_dev: starting" in n for n in first.notes)
    state = allpurpose.read_state("shared_dev")
    jvm = state["pids"][0]
    assert state["state"] == "RUNNING" and psutil.pid_exists(jvm)    # the run ended, the cluster did not
    assert values["cluster"] == state["url"]                          # the task ran there

    monkeypatch.setenv("EVENTS_REGION", "eu-west")   # the next run's environment differs
    monkeypatch.delenv("EVENTS_SAMPLE")
    second = run_compute_job("on_all_purpose")
    assert second.states == {"load_events": "SUCCESS"}, second.message
    assert any("all-purpose cluster shared_dev: running, attaching" in n for n in second.notes)
    assert allpurpose.read_state("shared_dev")["pids"] == [jvm]      # the same JVM, warm
    # Its task ran in a REPL the cluster kept warm (the supervisor's child, not the run's),
    # in the notebook's folder, as a kernel the run starts would.
    values = second.values("load_events")
    assert any("a notebook task takes warm REPL pid" in n for n in second.notes), second.notes
    assert values["kernel_parent"] == state["supervisor_pid"]
    assert values["env"] == "eu-west/-"      # the run's environment, not the one the REPL started with
    assert (values["working_dir"], values["purchase_label"]) == (src, "Purchase")

    # Dead warm REPLs (the supervisor frozen, so it cannot replace them first): the task says
    # so and runs in a kernel of the run's own.
    wait_for(lambda: live_repls("shared_dev"), timeout=120, what="a warm REPL")
    supervisor = psutil.Process(state["supervisor_pid"])
    supervisor.suspend()
    try:
        for pid in ready_repls("shared_dev"):   # frozen: no other is published meanwhile
            os.kill(pid, signal.SIGKILL)
        third = run_compute_job("on_all_purpose")
    finally:
        supervisor.resume()
    assert third.states == {"load_events": "SUCCESS"}, third.message
    assert any("no warm REPL for this task (the REPL it took is gone" in n for n in third.notes), third.notes
    assert third.values("load_events")["kernel_parent"] == os.getpid()
    wait_for(lambda: live_repls("shared_dev"), timeout=120, what="the supervisor replacing its dead REPLs")

    # A REPL that dies mid-cell fails its task only; the task beside it runs in the other REPL.
    crash = run_compute_job("repl_crash")
    assert crash.states == {"crash": "FAILED", "count": "SUCCESS"}, crash.message
    failed = next(t for t in crash.run.tasks if t.task_key == "crash")
    assert "The notebook's kernel stopped" in failed.state.state_message
    assert crash.values("count")["purchases"] == 14
    assert allpurpose.is_running(allpurpose.read_state("shared_dev"))
    warm = wait_for(lambda: live_repls("shared_dev"), timeout=120, what="the supervisor replacing the used REPLs")

    # A notebook attaches and reads the table the job wrote a moment ago (no refresh_tables()).
    # It stays open while the cluster stops below, then works again: it must fail in seconds
    # and exit at once, not wait out pyspark's ten minutes of retries (in the cell, then at exit).
    code = """
        import subprocess, sys, time
        from course.runtime import spark
        from course.runtime.spark import attach
        attach("shared_dev")
        print(spark.table("default.ap_click_events").count())
        print(subprocess.run([sys.executable, "runner.py", "clusters", "list"], capture_output=True, text=True).stdout)
        print("END", flush=True)
        sys.stdin.readline()   # the cluster is stopped meanwhile
        began = time.monotonic()
        try:
            spark.range(3).count()
        except Exception as exc:
            print("FAILED", round(time.monotonic() - began, 1), type(exc).__name__, str(exc).splitlines()[0], flush=True)
        print("EXITING", time.monotonic(), flush=True)
    """
    notebook = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(REPO_ROOT))
    lines = []
    while not lines or lines[-1] != "END":
        line = notebook.stdout.readline()
        assert line, notebook.communicate(timeout=30)[1][-3000:]
        lines.append(line.rstrip("\n"))
    count, listing = lines[0], "\n".join(lines[1:])
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
    # the attached notebook's next cell fails in seconds, in one line, and it exits at once
    after, _ = notebook.communicate("go\n", timeout=60)
    exited = time.monotonic()
    failed_line = next(line for line in after.splitlines() if line.startswith("FAILED"))
    assert float(failed_line.split()[1]) < 5, failed_line
    assert failed_line.split(" ", 2)[2] == (
        f"ClusterGone all-purpose cluster 'shared_dev' ({state['url']}) does not answer: it was terminated "
        "(stopped). Start it with `python runner.py clusters start shared_dev`, then run "
        'attach("shared_dev") again.'), failed_line
    exiting = float(next(line for line in after.splitlines() if line.startswith("EXITING")).split()[1])
    assert exited - exiting < 5, f"exit took {exited - exiting:.1f} s after the last cell"
    # (the supervisor is this process's child: a zombie here until reaped, which counts as gone)
    assert not alive(jvm) and not alive(state["supervisor_pid"])
    assert not any(alive(pid) for pid in warm)                        # its warm REPLs went with it
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
