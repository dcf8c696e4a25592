"""The engine under faults: a runner SIGKILLed at every point of a run, a kernel that dies
mid-cell, a task flooding its output, an endless loop under a timeout, notification servers
that hang, two runners racing for one slot. After each: the history is consistent, the run is
closed as Databricks closes it, it can be repaired, and no kernel or JVM is left.

(A job cluster killed mid-task: tests/test_runner_interrupts.py::test_a_job_cluster_that_dies_….)
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from notify_fixtures import black_hole  # noqa: F401  (fixture: a server that never answers)
from runner_fixtures import (alive, attempts, final_states, finish, job_args, kernels_of, no_processes_left, output_notebook,
                             repair_job, run_job, run_state, start_runner, started_marker, wait_for)
from course.jobs.local.history import History
from course.platform import paths

pytestmark = pytest.mark.slow

ORPHANED = "exited before the run finished"


def assert_consistent(run_id: int) -> object:
    """The history file is sound and the run's rows agree with each other; returns the run."""
    with sqlite3.connect(paths.history_db()) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    run = History().get_run(run_id)
    life, result = run_state(run)
    for task in run.tasks or []:
        task_life = task.state.life_cycle_state.value
        if life in ("TERMINATED", "INTERNAL_ERROR", "SKIPPED"):   # a closed run has no open task run
            assert task_life in ("TERMINATED", "INTERNAL_ERROR", "SKIPPED"), (task.task_key, task_life)
            assert task.state.result_state is not None, task.task_key
        if task.state.result_state is not None:
            assert task.end_time and task.end_time >= (task.start_time or 0), task.task_key
    return run


def closed_as_orphan(history: History, run_id: int) -> object:
    """The next runner start closes a run whose runner died: INTERNAL_ERROR, repairable."""
    closed = history.close_orphans()
    run = assert_consistent(run_id)
    if run_state(run)[0] == "TERMINATED":       # killed after it was closed: nothing to do
        assert run_id not in closed
        return run
    assert run_id in closed
    if set(final_states(run).values()) == {"SUCCESS"} and set(final_states(run)) == {"one", "two", "three"}:
        # killed after the last task succeeded and before the run closed: closed as SUCCESS
        assert run_state(run) == ("TERMINATED", "SUCCESS")
        assert "exited after every task had succeeded" in run.state.state_message
        return run
    assert run_state(run) == ("INTERNAL_ERROR", "FAILED")
    assert ORPHANED in run.state.state_message
    for task in run.tasks or []:
        assert task.state.result_state is not None
    return run


def kill(proc) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    finish(proc, timeout=10)


def task_state_now(key: str) -> str | None:
    runs = History().list_runs()
    if not runs:
        return None
    latest = attempts(History().get_run(runs[0].run_id)).get(key)
    return latest[-1].state.result_state.value if latest and latest[-1].state.result_state else None


# Where the runner is killed: (what to wait for, tasks that must be kept by the repair).
KILL_POINTS = {
    "before_any_task": (lambda: History().list_runs(), set()),
    "during_one": (lambda: started_marker("one"), set()),
    "after_one": (lambda: task_state_now("one") == "SUCCESS", {"one"}),
    "during_two": (lambda: started_marker("two"), {"one"}),
    "after_three": (lambda: task_state_now("three") == "SUCCESS", {"one", "two", "three"}),
}


@pytest.mark.parametrize("point", KILL_POINTS)
def test_sigkill_at_any_point_leaves_a_consistent_repairable_run(point, day7_home):
    wait, kept = KILL_POINTS[point]
    seconds = "30" if point.startswith("during") else "0"
    sleeper = point.removeprefix("during_") if point.startswith("during") else ""   # the others do not wait
    proc = start_runner(["run", *job_args("chain"), "--param", f"seconds={seconds}", "--param", f"sleep_only={sleeper}"])
    wait_for(wait, timeout=90, interval=0.01, what=point)
    kill(proc)
    no_processes_left(day7_home, timeout=30)

    history = History()
    [row] = history.list_runs()
    run = closed_as_orphan(history, row.run_id)
    if run_state(run) == ("TERMINATED", "SUCCESS"):   # after_three: the run closed before the kill
        return
    finished = {k for k, v in attempts(run).items() if v[-1].state.result_state.value == "SUCCESS"}
    assert kept <= finished

    repaired = repair_job("chain", run.run_id, overrides={"seconds": "0"}, history=history)
    assert run_state(repaired.run) == ("TERMINATED", "SUCCESS")
    rerun = {t.task_key for t in repaired.run.tasks if t.run_id in repaired.run.repair_history[-1].task_run_ids}
    assert rerun == {"one", "two", "three"} - finished          # nothing finished is run again
    assert_consistent(run.run_id)
    no_processes_left(day7_home, timeout=20)


def test_a_runner_dead_between_its_last_task_and_closing_the_run_leaves_a_success_not_a_dead_end(day7_home):
    """The window after_three can hit by chance, made certain: every task succeeded, the run is
    still RUNNING, its owner is gone. Closing it FAILED would leave a run repair refuses
    ("nothing to repair"); it is closed SUCCESS, as its runner would have. One task short of
    that, it is the usual repairable INTERNAL_ERROR."""
    done = run_job("chain", variables={"sleep_seconds": "0"}, overrides={"seconds": "0"})
    assert run_state(done.run) == ("TERMINATED", "SUCCESS")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])   # a pid whose process is gone
    dead.wait()
    db = sqlite3.connect(paths.history_db())
    with db:
        db.execute("UPDATE runs SET life_cycle_state = 'RUNNING', result_state = NULL, end_time = NULL, "
                   "owner_pid = ?, owner_identity = NULL WHERE run_id = ?", (dead.pid, done.run.run_id))
    history = History()
    assert history.close_orphans() == [done.run.run_id]
    run = history.get_run(done.run.run_id)
    assert run_state(run) == ("TERMINATED", "SUCCESS")
    assert run.state.state_message.startswith(f"The runner process (pid {dead.pid}) exited after every task")

    with db:   # now the last task had not finished
        db.execute("UPDATE runs SET life_cycle_state = 'RUNNING', result_state = NULL, end_time = NULL "
                   "WHERE run_id = ?", (done.run.run_id,))
        db.execute("UPDATE task_runs SET life_cycle_state = 'RUNNING', result_state = NULL "
                   "WHERE run_id = ? AND task_key = 'three'", (done.run.run_id,))
    db.close()
    assert history.close_orphans() == [done.run.run_id]
    run = history.get_run(done.run.run_id)
    assert run_state(run) == ("INTERNAL_ERROR", "FAILED")
    assert final_states(run)["three"] != "SUCCESS"


def test_sigkill_during_a_repair_closes_the_repair_and_the_run_repairs_again(day7_home):
    first = run_job("chain", variables={"sleep_seconds": "0"}, overrides={"seconds": "0"})
    assert run_state(first.run) == ("TERMINATED", "SUCCESS")
    run_id = first.run_id
    proc = start_runner(["repair", str(run_id), *job_args("chain"), "--task", "two", "--param", "seconds=30"])
    markers = lambda: len(list(paths.runs_dir().glob(f"{run_id}/two/*/started")))  # noqa: E731
    before = markers()
    wait_for(lambda: markers() > before,
             timeout=90, what="the repaired task to start")
    kill(proc)
    no_processes_left(day7_home, timeout=30)

    history = History()
    run = closed_as_orphan(history, run_id)
    assert attempts(run)["one"][-1].state.result_state.value == "SUCCESS"
    assert attempts(run)["two"][-1].state.life_cycle_state.value == "INTERNAL_ERROR"
    repaired = repair_job("chain", run_id, overrides={"seconds": "0"}, history=history)
    assert run_state(repaired.run) == ("TERMINATED", "SUCCESS")
    assert len(repaired.run.repair_history) == 3                 # the run, the killed repair, this one
    assert_consistent(run_id)


def _queued() -> list[int]:
    return [r.run_id for r in History().list_runs(active_only=True) if r.state.life_cycle_state.value == "QUEUED"]


def test_sigkill_during_a_queued_wait_frees_the_queue(day7_home):
    active = start_runner(["run", *job_args("sleepy_queued"), "--param", "seconds=30"])
    try:
        wait_for(lambda: started_marker("sleeper"), timeout=60, what="the first run to start")
        waiting = start_runner(["run", *job_args("sleepy_queued")])
        [queued_id] = wait_for(_queued, timeout=30, what="the second run to queue")
        kill(waiting)
        history = History()
        run = closed_as_orphan(history, queued_id)
        assert not run.tasks                                     # it never ran anything
        # The queue is not blocked by the dead runner: a third run queues behind the active one only.
        third = start_runner(["run", *job_args("sleepy_queued"), "--param", "seconds=0"])
        wait_for(lambda: [q for q in _queued() if q != queued_id], timeout=30, what="the third run to queue")
    finally:
        os.kill(active.pid, signal.SIGTERM)
        finish(active, timeout=30)
    code, out, err = finish(third, timeout=60)
    assert code == 0, err
    no_processes_left(day7_home, timeout=20)


def test_a_kernel_that_dies_mid_cell_fails_its_task_and_nothing_else(day7_home):
    result = run_job("kernel_dies")
    states = result.states
    assert states == {"victim": "FAILED", "bystander": "SUCCESS", "after": "UPSTREAM_FAILED"}, states
    victim = attempts(result.run)["victim"][-1]
    assert "kernel" in victim.state.state_message.lower(), victim.state.state_message
    assert run_state(result.run)[1] == "FAILED"
    assert kernels_of(day7_home) == {}
    assert_consistent(result.run_id)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _run_measured(argv: list[str]) -> tuple[int, str, str, float]:
    proc = start_runner(argv)
    peak = 0.0
    while proc.poll() is None:
        try:
            peak = max(peak, _peak_rss_mb(proc.pid))
        except OSError:
            break
        time.sleep(0.1)
    code, out, err = finish(proc)
    return code, out, err, peak


def test_a_task_printing_a_gigabyte_keeps_10_mb_and_the_runner_stays_small(day7_home):
    code, out, err, baseline = _run_measured(["run", *job_args("flood"), "--param", "megabytes=1"])
    assert code == 0, err
    started = time.monotonic()
    code, out, err, peak = _run_measured(["run", *job_args("flood")])
    took = time.monotonic() - started
    assert code == 0, err
    history = History()
    run = history.get_run(history.list_runs()[0].run_id)
    assert run_state(run) == ("TERMINATED", "SUCCESS")
    notebook = output_notebook(attempts(run)["flood"][-1])
    size_mb = notebook.stat().st_size / 2**20
    assert 10 <= size_mb < 12, size_mb
    assert "output truncated" in notebook.read_text()
    # The runner never holds the gigabyte: what grows is ZeroMQ's receive queue of 1 MB messages
    # while the kernel prints faster than they are read (measured: +40 to +510 MB at the peak, by load).
    print(f"\nflood: 1 GB printed in {took:.1f} s; runner peak RSS {peak:.0f} MB "
          f"(1 MB printed: {baseline:.0f} MB); executed notebook {size_mb:.1f} MB")
    assert peak < 1024, (peak, baseline)
    no_processes_left(day7_home)


def test_an_endless_loop_ends_at_its_timeout(day7_home):
    started = time.monotonic()
    result = run_job("endless")
    assert time.monotonic() - started < 30
    assert result.states == {"spin": "TIMEDOUT", "cleanup": "SUCCESS"}
    spin = attempts(result.run)["spin"][-1]
    pid = int((output_notebook(spin).parent / "pid").read_text()) if (output_notebook(spin).parent / "pid").exists() \
        else int(next(paths.runs_dir().glob("*/spin/*/pid")).read_text())
    assert not alive(pid)
    assert run_state(result.run) == ("TERMINATED", "SUCCESS_WITH_FAILURES")
    assert kernels_of(day7_home) == {}


def test_hung_smtp_and_webhook_servers_hold_the_run_at_most_the_send_limit(black_hole, monkeypatch, tmp_path):
    from course.jobs.notify.notifier import SEND_TIMEOUT_S

    monkeypatch.setenv("DAY7_SMTP", f"127.0.0.1:{black_hole}")
    destinations = tmp_path / "hooks.yml"
    destinations.write_text(f"ops-hook: http://127.0.0.1:{black_hole}/hook\n")
    monkeypatch.setenv("DAY7_WEBHOOKS", str(destinations))
    started = time.monotonic()
    result = run_job("alerts_quick")
    took = time.monotonic() - started
    assert run_state(result.run) == ("TERMINATED", "SUCCESS")
    task = attempts(result.run)["ok"][-1]
    after_last_task = time.time() - task.end_time / 1000
    print(f"\nhung servers: run took {took:.1f} s, {after_last_task:.1f} s after its last task")
    # Each hung server costs one send limit, once: later messages to it are not attempted.
    assert after_last_task < 2 * SEND_TIMEOUT_S + 2, (after_last_task, result.notes)
    assert any("timed out" in n for n in result.notes), result.notes
    assert len(list(paths.outbox_dir().glob("*.eml"))) == 2     # both e-mails kept in the outbox


@pytest.mark.parametrize("job, loser", [("sleepy", ("SKIPPED", "MAXIMUM_CONCURRENT_RUNS_REACHED")),
                                        ("sleepy_queued", ("TERMINATED", "SUCCESS"))])
def test_two_runners_racing_for_one_slot(job, loser, day7_home):
    procs = [start_runner(["run", *job_args(job), "--param", "seconds=2"]) for _ in range(2)]
    results = [finish(p, timeout=90) for p in procs]
    history = History()
    runs = [history.get_run(r.run_id) for r in history.list_runs()]
    assert len(runs) == 2, "\n\n".join(f"exit {code}\nstdout:\n{out}\nstderr:\n{err}" for code, out, err in results)
    if job == "sleepy_queued":   # both ran, one after the other: the second waited in the queue
        first, second = sorted(runs, key=lambda r: min(t.start_time for t in r.tasks))
        assert run_state(first) == run_state(second) == ("TERMINATED", "SUCCESS")
        assert min(t.start_time for t in second.tasks) >= first.end_time
    else:                        # one ran, the other was skipped without running anything
        assert sorted(run_state(r) for r in runs) == sorted([("TERMINATED", "SUCCESS"), loser])
        assert not [r for r in runs if run_state(r) == loser][0].tasks
    assert sorted(code for code, _, _ in results) == ([0, 0] if job == "sleepy_queued" else [0, 1])
    no_processes_left(day7_home)


# ---------------------------------------------------------------- the state folder's file system

@pytest.fixture
def small_disk(tmp_path, monkeypatch):
    """DAY7_HOME on a 32 MB tmpfs of its own (mounting needs root and a kernel that allows it)."""
    import subprocess

    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or 'mount failed'}): "
                    "the disk-full test needs root and mount permission")
    monkeypatch.setenv("DAY7_HOME", str(mount))
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(folder: Path) -> Path:
    """Fill the file system under `folder` to the last byte."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (65536, 1):            # big blocks, then the last few bytes
            try:
                while os.write(fd, b"\0" * chunk):
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def test_a_full_state_folder_is_a_clear_error_and_the_history_stays_sound(small_disk):
    code, out, err = finish(start_runner(["run", *job_args("chain"), "--param", "seconds=0"]), timeout=120)
    assert code == 0, err
    filler = fill(small_disk)

    code, out, err = finish(start_runner(["run", *job_args("chain"), "--param", "seconds=0"]), timeout=120)
    assert code != 0
    assert "Traceback" not in err, err
    assert "no space left" in err.lower() or "disk is full" in err.lower() or "No space" in err, err
    no_processes_left(small_disk, timeout=20)

    filler.unlink()
    history = History()
    history.close_orphans()
    for row in history.list_runs():
        run = assert_consistent(row.run_id)
        assert run_state(run)[0] in ("TERMINATED", "INTERNAL_ERROR"), run_state(run)
    code, out, err = finish(start_runner(["run", *job_args("chain"), "--param", "seconds=0"]), timeout=120)
    assert code == 0, err                                        # room again: runs as before


# ---------------------------------------------------------------- a damaged history file

@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_history_is_a_clear_error_naming_the_file(damage, day7_home):
    from runner_fixtures import cli

    db = paths.history_db()
    if damage == "garbage":
        db.write_bytes(b"this is not a database, it is a text file" * 100)
    else:                                   # a real history whose pages were cut off
        run_job("chain", overrides={"seconds": "0"}).history.close()
        for extra in ("-wal", "-shm"):
            Path(f"{db}{extra}").unlink(missing_ok=True)
        db.write_bytes(db.read_bytes()[:6000] + b"\xff" * 3000)
    for argv in (["runs"], ["run", *job_args("chain")], ["repair", "1", *job_args("chain")]):
        code, out, err = cli(argv)
        assert code == 2, (argv, code, err)
        assert str(db) in err and "move it aside" in err, err
        assert "Traceback" not in err
