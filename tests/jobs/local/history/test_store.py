"""The run history (course.jobs.local.history): real SQLite files, real processes."""
from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from databricks.sdk.service import jobs

from course.platform import paths
from course.jobs.local.history import (
    History,
    HistoryError,
    RunNotFound,
    SCHEMA_VERSION,
    process_identity,
)

SETTINGS = {
    "name": "day7_medallion",
    "max_concurrent_runs": 1,
    "parameters": [{"name": "env", "default": "dev"}, {"name": "run_date", "default": "2024-01-01"}],
    "tasks": [{"task_key": "bronze"}, {"task_key": "silver", "depends_on": [{"task_key": "bronze"}]}],
}

RUN_KEYS = {
    "job_id", "run_id", "number_in_job", "original_attempt_run_id", "attempt_number", "run_name",
    "run_type", "trigger", "state", "status", "start_time", "end_time", "setup_duration",
    "execution_duration", "cleanup_duration", "run_duration", "job_parameters", "tasks",
    "repair_history", "run_page_url", "creator_user_name",
}
TASK_KEYS = {
    "task_key", "run_id", "attempt_number", "state", "status", "start_time", "end_time",
    "setup_duration", "execution_duration", "cleanup_duration", "run_duration", "notebook_task",
    "run_page_url",
}


@pytest.fixture
def hist(tmp_path):
    with History(tmp_path / "history.db") as h:
        yield h


@pytest.fixture
def job(hist):
    return hist.ensure_job("day7_medallion", SETTINGS)


def run_task(h, run_id, key, result="SUCCESS", *, values=None, exit_value=None, **kw):
    """Create a task run and drive it to a terminal result; returns its task run id."""
    tr = h.create_task_run(run_id, key, notebook_path=f"/nb/{key}.ipynb", **kw)
    h.update_task_run(tr, life_cycle_state="RUNNING")
    if values:
        h.set_task_values(tr, values)
    error = "ValueError: boom" if result == "FAILED" else None
    h.update_task_run(tr, life_cycle_state="TERMINATED", result_state=result, exit_value=exit_value,
                      error=error, error_trace="Traceback …" if error else None)
    return tr


def roundtrip(run: jobs.Run) -> dict:
    d = run.as_dict()
    assert jobs.Run.from_dict(d).as_dict() == d
    return d


# --------------------------------------------------------------------------- jobs and ids


def test_default_path_and_schema_version(job):
    with History() as h:
        assert h.path == paths.history_db()
        assert h.ensure_job("x", {}) == 1
    conn = sqlite3.connect(paths.history_db())
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_newer_schema_is_refused(tmp_path):
    db = tmp_path / "h.db"
    History(db).close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(HistoryError, match="newer than this kit"):
        History(db)


def test_job_ids_stable_per_name_and_settings_updated(hist):
    a = hist.ensure_job("a", {"name": "a"})
    b = hist.ensure_job("b", {"name": "b"})
    assert a != b
    assert hist.ensure_job("a", {"name": "a", "max_concurrent_runs": 3}) == a
    assert hist.job_settings(a) == ("a", {"name": "a", "max_concurrent_runs": 3})
    assert hist.find_job("b") == b and hist.find_job("nope") is None


def test_ids_share_one_increasing_space_across_instances(tmp_path):
    db = tmp_path / "h.db"
    h1, h2 = History(db), History(db)
    j = h1.ensure_job("j", SETTINGS)
    ids = []
    for h in (h1, h2, h1, h2):
        r = h.create_run(j, "j")
        ids += [r, h.create_task_run(r, "bronze")]
    h1.set_run_state(ids[0], "TERMINATED", "FAILED")
    ids.append(h2.create_repair(ids[0], ["bronze"]))
    h1.close()
    h2.close()
    with History(db) as h3:
        ids.append(h3.create_run(j, "j"))
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_unknown_ids_raise_clear_key_errors(hist, job):
    with pytest.raises(KeyError, match="run 999 is not in the run history"):
        hist.get_run(999)
    with pytest.raises(RunNotFound, match="task run 999"):
        hist.get_output(999)
    r = hist.create_run(job, "j")
    with pytest.raises(RunNotFound, match="is a job run"):
        hist.get_output(r)
    with pytest.raises(RunNotFound, match="ensure_job"):
        hist.create_run(12345, "j")


def test_parameters_must_be_strings(hist, job):
    with pytest.raises(TypeError, match="strings"):
        hist.create_run(job, "j", {"n": 1})
    with pytest.raises(ValueError, match="trigger"):
        hist.create_run(job, "j", trigger="WHENEVER")


# --------------------------------------------------------------------------- run shape


def test_get_run_round_trips_in_the_api_shape(hist, job):
    r = hist.create_run(job, "day7_medallion", {"env": "prod", "extra": "1"}, trigger="PERIODIC")
    assert hist.admit(job, r, 1, False) == "RUN"
    hist.set_run_state(r, "RUNNING")

    active = roundtrip(hist.get_run(r))
    assert active["state"] == {"life_cycle_state": "RUNNING", "state_message": "",
                               "user_cancelled_or_timedout": False}
    assert active["status"] == {"state": "RUNNING"}
    assert active["end_time"] == 0 and "run_duration" not in active

    bronze = run_task(hist, r, "bronze", values={"rows": 3}, exit_value="ok", parameters={"env": "prod"})
    silver = run_task(hist, r, "silver", depends_on=["bronze"])
    hist.set_run_state(r, "TERMINATED", "SUCCESS")

    d = roundtrip(hist.get_run(r))
    assert RUN_KEYS <= set(d), RUN_KEYS - set(d)
    assert d["run_id"] == d["number_in_job"] == r and d["job_id"] == job
    assert d["trigger"] == "PERIODIC" and d["run_type"] == "JOB_RUN"
    assert d["state"] == {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS", "state_message": "",
                          "user_cancelled_or_timedout": False}
    assert d["status"] == {"state": "TERMINATED",
                           "termination_details": {"code": "SUCCESS", "type": "SUCCESS", "message": ""}}
    assert d["job_parameters"] == [
        {"name": "env", "default": "dev", "value": "prod"},
        {"name": "run_date", "default": "2024-01-01", "value": "2024-01-01"},
        {"name": "extra", "value": "1"},
    ]
    assert d["start_time"] <= d["end_time"] and d["run_duration"] == d["end_time"] - d["start_time"]
    assert d["run_page_url"].startswith("file://") and d["run_page_url"].endswith(f"/runs/{r}")

    t_bronze, t_silver = d["tasks"]
    assert TASK_KEYS <= set(t_bronze), TASK_KEYS - set(t_bronze)
    assert (t_bronze["task_key"], t_bronze["run_id"], t_bronze["attempt_number"]) == ("bronze", bronze, 0)
    assert t_bronze["notebook_task"] == {"notebook_path": "/nb/bronze.ipynb", "base_parameters": {"env": "prod"}}
    assert t_bronze["execution_duration"] == t_bronze["end_time"] - t_bronze["start_time"] >= 0
    assert t_silver["run_id"] == silver and t_silver["depends_on"] == [{"task_key": "bronze"}]
    assert t_silver["status"]["termination_details"]["code"] == "SUCCESS"
    assert [i["type"] for i in d["repair_history"]] == ["ORIGINAL"]
    assert d["repair_history"][0]["task_run_ids"] == [bronze, silver]


@pytest.mark.parametrize("life_cycle", ["INTERNAL_ERROR", "TERMINATED"])
def test_failed_multitask_run_reports_like_a_workspace(hist, job, life_cycle):
    r = hist.create_run(job, "j")
    run_task(hist, r, "bronze", "FAILED")
    msg = "Task bronze failed with message: ValueError: boom"
    hist.set_run_state(r, life_cycle, "FAILED", msg)
    d = roundtrip(hist.get_run(r))
    assert d["state"]["life_cycle_state"] == life_cycle
    assert d["state"]["result_state"] == "FAILED" and d["state"]["state_message"] == msg
    assert d["status"] == {"state": "TERMINATED", "termination_details": {
        "code": "RUN_EXECUTION_ERROR", "type": "CLIENT_ERROR", "message": msg}}


@pytest.mark.parametrize("result, code", [
    ("FAILED", "RUN_EXECUTION_ERROR"), ("TIMEDOUT", "CANCELED"), ("CANCELED", "USER_CANCELED"),
    ("UPSTREAM_FAILED", "SKIPPED"), ("UPSTREAM_CANCELED", "SKIPPED"), ("EXCLUDED", "SKIPPED"),
    ("DISABLED", "DISABLED"),
])
def test_task_results_map_to_termination_codes(hist, job, result, code):
    r = hist.create_run(job, "j")
    tr = hist.create_task_run(r, "t", life_cycle_state="BLOCKED")
    assert hist.get_run(r).tasks[0].start_time == 0  # not started yet
    hist.update_task_run(tr, life_cycle_state="TERMINATED", result_state=result)
    task = roundtrip(hist.get_run(r))["tasks"][0]
    assert task["status"]["termination_details"]["code"] == code
    assert task["start_time"] == task["end_time"] > 0  # never ran: starts when it ends
    assert task["state"]["user_cancelled_or_timedout"] == (result in ("CANCELED", "TIMEDOUT"))


def test_state_validation(hist, job):
    r = hist.create_run(job, "j")
    with pytest.raises(ValueError, match="needs a result_state"):
        hist.set_run_state(r, "TERMINATED")
    with pytest.raises(ValueError, match="non-terminal"):
        hist.set_run_state(r, "RUNNING", "SUCCESS")
    with pytest.raises(ValueError, match="unknown life_cycle_state"):
        hist.set_run_state(r, "DONE")


def test_waiting_for_retry_status(hist, job):
    r = hist.create_run(job, "j")
    tr = hist.create_task_run(r, "t", attempt_number=1, life_cycle_state="WAITING_FOR_RETRY")
    task = hist.get_run(r).as_dict()["tasks"][0]
    assert task["state"]["life_cycle_state"] == "WAITING_FOR_RETRY" and task["status"] == {"state": "WAITING"}
    hist.update_task_run(tr, life_cycle_state="RUNNING")
    assert hist.task_run(tr).start_time is not None


# --------------------------------------------------------------------------- attempts and repairs


def test_every_attempt_is_listed_and_latest_wins(hist, job):
    r = hist.create_run(job, "j")
    b = run_task(hist, r, "bronze")
    s0 = run_task(hist, r, "silver", "FAILED", values={"partial": True})
    s1 = run_task(hist, r, "silver", "FAILED", attempt_number=1)
    s2 = run_task(hist, r, "silver", attempt_number=2, values={"rows": 7})
    tasks = hist.get_run(r).tasks
    assert [(t.task_key, t.run_id, t.attempt_number) for t in tasks] == [
        ("bronze", b, 0), ("silver", s0, 0), ("silver", s1, 1), ("silver", s2, 2)]
    assert [hist.task_run(t).original_attempt_run_id for t in (s0, s1, s2)] == [s0, s0, s0]
    latest = hist.latest_task_runs(r)
    assert latest["silver"].task_run_id == s2 and latest["silver"].result_state == "SUCCESS"
    assert latest["bronze"].task_run_id == b
    assert hist.task_values(r) == {"silver": {"rows": 7}}


def test_repair_history_items_and_task_runs(hist, job):
    r = hist.create_run(job, "j", {"env": "prod"})
    b = run_task(hist, r, "bronze", values={"n": 1})
    s0 = run_task(hist, r, "silver", "FAILED")
    hist.set_run_state(r, "INTERNAL_ERROR", "FAILED", "Task silver failed with message: boom")
    assert hist.repair_count(r) == 0 and hist.latest_repair_id(r) is None

    rep1 = hist.create_repair(r, ["silver"], {"env": "qa"})
    assert hist.get_run(r).state.life_cycle_state == jobs.RunLifeCycleState.PENDING
    with pytest.raises(HistoryError, match="only a finished run"):
        hist.create_repair(r, ["silver"])
    hist.set_run_state(r, "RUNNING")
    s1 = run_task(hist, r, "silver", "FAILED")
    hist.set_run_state(r, "TERMINATED", "FAILED", "Task silver failed with message: again")

    with pytest.raises(HistoryError, match="stale"):
        hist.create_repair(r, ["silver"], latest_repair_id=rep1 - 1)
    rep2 = hist.create_repair(r, ["silver"], latest_repair_id=rep1)
    s2 = run_task(hist, r, "silver", values={"rows": 9})
    hist.set_run_state(r, "TERMINATED", "SUCCESS")

    assert hist.repair_count(r) == 2 and hist.latest_repair_id(r) == rep2
    assert hist.repair_tasks(rep1) == ["silver"]
    assert hist.task_run(s1).repair_id == rep1 and hist.task_run(s0).repair_id is None
    d = roundtrip(hist.get_run(r))
    assert [t["run_id"] for t in d["tasks"]] == [b, s0, s1, s2]
    hist_items = d["repair_history"]
    assert [(i["type"], i.get("id")) for i in hist_items] == [("ORIGINAL", None), ("REPAIR", rep1), ("REPAIR", rep2)]
    assert [i["task_run_ids"] for i in hist_items] == [[b, s0], [s1], [s2]]
    assert hist_items[0]["state"]["life_cycle_state"] == "INTERNAL_ERROR"
    assert hist_items[0]["status"]["termination_details"]["code"] == "RUN_EXECUTION_ERROR"
    assert hist_items[1]["state"]["result_state"] == "FAILED"
    assert hist_items[2]["state"]["result_state"] == "SUCCESS" == d["state"]["result_state"]
    for item in hist_items:
        assert 0 < item["start_time"] <= item["end_time"]
    assert d["run_duration"] == sum(i["end_time"] - i["start_time"] for i in hist_items)
    assert {p["name"]: p["value"] for p in d["job_parameters"]}["env"] == "qa"
    # successful tasks keep their values; the repaired task's values come from its successful attempt
    assert hist.task_values(r) == {"bronze": {"n": 1}, "silver": {"rows": 9}}


def test_latest_success_across_runs(hist, job):
    assert hist.latest_success(job, "bronze") is None
    r1 = hist.create_run(job, "j")
    b1 = run_task(hist, r1, "bronze", values={"path": "/v1"})
    hist.set_run_state(r1, "TERMINATED", "SUCCESS")
    r2 = hist.create_run(job, "j")
    run_task(hist, r2, "bronze", "FAILED", values={"path": "/broken"})
    hist.set_run_state(r2, "TERMINATED", "FAILED")
    assert hist.latest_success(job, "bronze") == (r1, b1, {"path": "/v1"})
    r3 = hist.create_run(job, "j")
    b3 = run_task(hist, r3, "bronze", values={"path": "/v3"})
    assert hist.latest_success(job, "bronze") == (r3, b3, {"path": "/v3"})
    other = hist.ensure_job("other", {})
    assert hist.latest_success(other, "bronze") is None


def test_get_output(hist, job):
    r = hist.create_run(job, "j")
    ok = run_task(hist, r, "bronze", values={"rows": 3, "tables": ["a", "b"]}, exit_value='{"rows": 3}')
    bad = run_task(hist, r, "silver", "FAILED")
    out = hist.get_output(ok)
    d = out.as_dict()
    assert jobs.RunOutput.from_dict(d).as_dict() == d
    assert d["notebook_output"] == {"result": '{"rows": 3}', "truncated": False}
    meta = d["metadata"]
    assert (meta["run_id"], meta["job_run_id"], meta["job_id"]) == (ok, r, job)
    assert meta["tasks"][0]["task_key"] == "bronze" and meta["original_attempt_run_id"] == ok
    assert hist.task_run_values(ok) == {"rows": 3, "tables": ["a", "b"]}
    failed = hist.get_output(bad)
    assert failed.error == "ValueError: boom" and failed.error_trace == "Traceback …"
    assert failed.notebook_output.result is None


def test_list_runs_newest_first(hist, job):
    other = hist.ensure_job("other", {})
    r1 = hist.create_run(job, "j")
    hist.set_run_state(r1, "TERMINATED", "SUCCESS")
    r2 = hist.create_run(other, "o")
    r3 = hist.create_run(job, "j")
    hist.create_task_run(r3, "bronze")
    assert [x.run_id for x in hist.list_runs()] == [r3, r2, r1]
    assert [x.run_id for x in hist.list_runs(job)] == [r3, r1]
    assert [x.run_id for x in hist.list_runs(job, active_only=True)] == [r3]
    assert [x.run_id for x in hist.list_runs(limit=1)] == [r3]
    assert hist.list_runs(job)[0].tasks is None
    assert len(hist.list_runs(job, expand_tasks=True)[0].tasks) == 1


# --------------------------------------------------------------------------- crash safety


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_close_orphans_closes_runs_of_a_dead_runner(hist, job):
    r = hist.create_run(job, "j", owner_pid=dead_pid())
    hist.set_run_state(r, "RUNNING")
    done = run_task(hist, r, "bronze")
    running = hist.create_task_run(r, "silver")
    hist.update_task_run(running, life_cycle_state="RUNNING")
    mine = hist.create_run(job, "j")  # owned by this live process

    assert hist.close_orphans() == [r]
    d = roundtrip(hist.get_run(r))
    assert d["state"]["life_cycle_state"] == "INTERNAL_ERROR" and d["state"]["result_state"] == "FAILED"
    assert "runner process" in d["state"]["state_message"]
    assert d["status"]["termination_details"]["code"] == "INTERNAL_ERROR"
    assert hist.task_run(running).life_cycle_state == "INTERNAL_ERROR"
    assert hist.task_run(done).result_state == "SUCCESS"
    assert hist.run_record(mine).life_cycle_state == "PENDING"
    assert hist.close_orphans() == []
    hist.create_repair(r, ["silver"])  # a closed orphan can be repaired


def test_close_orphans_leaves_live_owners_alone(hist, job):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        r = hist.create_run(job, "j", owner_pid=child.pid)
        hist.set_run_state(r, "RUNNING")
        assert hist.close_orphans() == []
        assert hist.run_record(r).life_cycle_state == "RUNNING"
    finally:
        child.kill()
        child.wait()
    assert hist.close_orphans() == [r]


@pytest.mark.skipif(process_identity(os.getpid()) is None, reason="needs /proc")
def test_recycled_pid_is_not_mistaken_for_the_owner(hist, job):
    r = hist.create_run(job, "j")  # owned by this (live) process
    conn = sqlite3.connect(hist.path)
    conn.execute("UPDATE runs SET owner_identity = 'another-boot:1' WHERE run_id = ?", (r,))
    conn.commit()
    conn.close()
    assert hist.close_orphans() == [r]


# --------------------------------------------------------------------------- concurrency


def _admit_worker(db, job_id, barrier, results, queue_enabled):
    with History(db) as h:
        run_id = h.create_run(job_id, "j")
        barrier.wait()
        results.put((run_id, h.admit(job_id, run_id, 1, queue_enabled)))
        barrier.wait()  # stay alive until all decided: a dead owner's run is an orphan and frees its slot


def _contend(db, job_id, n, queue_enabled):
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    barrier, results = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_admit_worker, args=(db, job_id, barrier, results, queue_enabled))
             for _ in range(n)]
    for p in procs:
        p.start()
    out = dict(results.get(timeout=30) for _ in range(n))
    for p in procs:
        p.join(10)
        assert p.exitcode == 0
    return out


def test_admit_under_contention_runs_exactly_one(hist, job):
    decisions = _contend(hist.path, job, 6, queue_enabled=False)
    assert sorted(decisions.values()) == ["RUN"] + ["SKIP"] * 5
    skipped = next(r for r, d in decisions.items() if d == "SKIP")
    d = roundtrip(hist.get_run(skipped))
    assert d["state"]["life_cycle_state"] == "SKIPPED"
    assert d["state"]["result_state"] == "MAXIMUM_CONCURRENT_RUNS_REACHED"
    assert "MAXIMUM_CONCURRENT_RUNS_REACHED" in d["state"]["state_message"]
    assert d["status"]["state"] == "TERMINATED"
    assert d["status"]["termination_details"]["code"] == "MAX_CONCURRENT_RUNS_EXCEEDED"
    assert d["end_time"] >= d["start_time"]


def test_admit_under_contention_queues_the_rest(hist, job):
    decisions = _contend(hist.path, job, 4, queue_enabled=True)
    assert sorted(decisions.values()) == ["QUEUE"] * 3 + ["RUN"]
    queued = sorted(r for r, d in decisions.items() if d == "QUEUE")
    d = roundtrip(hist.get_run(queued[0]))
    assert d["state"]["life_cycle_state"] == "QUEUED" and "queue_reason" in d["state"]
    assert d["status"]["state"] == "QUEUED"
    assert d["status"]["queue_details"]["code"] == "MAX_CONCURRENT_RUNS_REACHED"
    assert hist.active_runs(job) == sorted(decisions)


def _first_open_worker(path, barrier, results):
    barrier.wait()
    try:
        h = History(path)
        results.put(h.create_run(h.ensure_job("j", {"name": "j"}), "j"))
    except Exception as exc:
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_new_history_at_once_all_get_their_run(tmp_path):
    # Two runners started together on a fresh state folder: SQLite answered the loser of the
    # switch to WAL "database is locked" at once (about 1 start in 6), and its run was lost.
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    for i in range(30):
        path = tmp_path / f"h{i}" / "history.db"
        barrier, results = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=_first_open_worker, args=(path, barrier, results)) for _ in range(4)]
        for p in procs:
            p.start()
        got = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(10)
        assert all(isinstance(g, int) for g in got), got
        assert len(History(path).list_runs()) == 4


def test_max_concurrent_runs_above_one(hist, job):
    runs = [hist.create_run(job, "j") for _ in range(3)]
    assert [hist.admit(job, r, 2, False) for r in runs] == ["RUN", "RUN", "SKIP"]


def test_queue_is_first_come_first_served(hist, job):
    r1, r2, r3 = (hist.create_run(job, "j") for _ in range(3))
    assert [hist.admit(job, r, 1, True) for r in (r1, r2, r3)] == ["RUN", "QUEUE", "QUEUE"]
    hist.set_run_state(r1, "RUNNING")
    with pytest.raises(TimeoutError):
        hist.wait_for_slot(r2, poll_s=0.02, timeout=0.1)
    hist.set_run_state(r1, "TERMINATED", "SUCCESS")
    with pytest.raises(TimeoutError):  # a slot is free but r2 is ahead of r3
        hist.wait_for_slot(r3, poll_s=0.02, timeout=0.1)
    r4 = hist.create_run(job, "j")
    assert hist.admit(job, r4, 1, True) == "QUEUE"  # newcomers do not overtake the queue
    assert hist.wait_for_slot(r2, timeout=1) is True
    assert hist.run_record(r2).life_cycle_state == "PENDING"
    assert (hist.get_run(r2).queue_duration or 0) > 0
    hist.set_run_state(r2, "TERMINATED", "CANCELED")
    assert hist.wait_for_slot(r3, timeout=1) is True
    hist.set_run_state(r4, "TERMINATED", "CANCELED")  # canceled while queued
    assert hist.wait_for_slot(r4, timeout=1) is False


def test_waiter_in_another_process_starts_when_the_slot_frees(hist, job):
    r1, r2 = hist.create_run(job, "j"), hist.create_run(job, "j")
    assert hist.admit(job, r1, 1, True) == "RUN" and hist.admit(job, r2, 1, True) == "QUEUE"
    waiter = subprocess.Popen([sys.executable, "-c", (
        "import sys; from course.jobs.local.history import History;"
        f"h = History({str(hist.path)!r}); sys.exit(0 if h.wait_for_slot({r2}, poll_s=0.02, timeout=20) else 3)")])
    time.sleep(0.3)
    assert waiter.poll() is None and hist.run_record(r2).life_cycle_state == "QUEUED"
    hist.set_run_state(r1, "TERMINATED", "SUCCESS")
    assert waiter.wait(timeout=20) == 0
    assert hist.run_record(r2).life_cycle_state == "PENDING"


def test_dead_runners_do_not_hold_slots(hist, job):
    stale = hist.create_run(job, "j", owner_pid=dead_pid())
    hist.set_run_state(stale, "RUNNING")
    r = hist.create_run(job, "j")
    assert hist.admit(job, r, 1, False) == "RUN"
    assert hist.run_record(stale).life_cycle_state == "INTERNAL_ERROR"


def test_threads_share_one_history(hist, job):
    r = hist.create_run(job, "j")
    errors = []

    def work(i):
        try:
            for a in range(5):
                run_task(hist, r, f"t{i}", attempt_number=a, values={"i": i})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(hist.get_run(r).tasks) == 20
    assert hist.task_values(r) == {f"t{i}": {"i": i} for i in range(4)}


# --------------------------------------------------------------------------- task types


def test_each_task_run_renders_as_its_own_task_type(hist, job):
    r = hist.create_run(job, "j")
    py = hist.create_task_run(r, "count", notebook_path="/x/check.py", task_type="spark_python_task",
                              task_settings={"python_file": "check.py", "parameters": ["--n", "3"]})
    hist.update_task_run(py, life_cycle_state="TERMINATED", result_state="SUCCESS")
    gate = hist.create_task_run(r, "gate", task_type="condition_task",
                                task_settings={"op": "EQUAL_TO", "left": "{{job.parameters.env}}", "right": "dev"})
    hist.update_task_run(gate, life_cycle_state="TERMINATED", result_state="SUCCESS", exit_value="true")
    nb = run_task(hist, r, "bronze")
    tasks = {t["task_key"]: t for t in roundtrip(hist.get_run(r))["tasks"]}
    assert tasks["count"]["spark_python_task"] == {"python_file": "/x/check.py", "parameters": ["--n", "3"]}
    assert "notebook_task" not in tasks["count"]
    assert tasks["gate"]["condition_task"] == {"op": "EQUAL_TO", "left": "{{job.parameters.env}}",
                                               "right": "dev", "outcome": "true"}
    assert "notebook_task" not in tasks["gate"]
    assert tasks["bronze"]["notebook_task"]["notebook_path"] == "/nb/bronze.ipynb"
    assert hist.task_run(py).task_type == "spark_python_task"
    assert hist.get_output(py).notebook_output is None           # only notebook tasks have one
    assert hist.get_output(nb).notebook_output is not None


def test_a_version_2_file_gains_task_types_and_keeps_its_old_rows(tmp_path):
    from course.jobs.local.history.schema import MIGRATIONS

    db = tmp_path / "h.db"
    conn = sqlite3.connect(db)
    for version in (1, 2):  # a file written by the kit before schema 3
        conn.executescript(MIGRATIONS[version])
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with History(db) as h:
        j = h.ensure_job("j", SETTINGS)
        r = h.create_run(j, "j")
        old = h.create_task_run(r, "bronze", notebook_path="/nb/bronze.ipynb")  # no type: as before
        new = h.create_task_run(r, "count", notebook_path="/x/c.py", task_type="spark_python_task",
                                task_settings={"python_file": "c.py"})
        tasks = {t.run_id: t for t in h.get_run(r).tasks}
        assert tasks[old].notebook_task.notebook_path == "/nb/bronze.ipynb"
        assert tasks[new].notebook_task is None and tasks[new].spark_python_task.python_file == "/x/c.py"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 3
    conn.close()
