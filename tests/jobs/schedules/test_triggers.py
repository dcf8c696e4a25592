"""course.jobs.schedules.triggers: Quartz fire times, file arrival, continuous back-off, the watch loop.

Real croniter, real files in temporary folders; only the clock and the sleep are fake.
Fire times were checked by hand against a calendar (2025: 30 March and 26 October are the
EU's daylight-saving Sundays; 31 January and 28 February are Fridays).
"""
from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from course.jobs.schedules import triggers
from course.jobs.spec import JobSpecError, load_job
from course.jobs.schedules.triggers import (Backoff, ContinuousTrigger, CronTrigger, FileArrivalTrigger, FileArrivalWatcher,
                                  TriggerError, describe_schedule, job_trigger, next_fire_times, watch)

UTC = timezone.utc
AMS = ZoneInfo("Europe/Amsterdam")
NOTEBOOK = Path(__file__).resolve().parents[2] / "jobs" / "runner" / "notebooks" / "ok.ipynb"


def fires(expr, tz, after, count=5):
    return [t.isoformat() for t in next_fire_times(expr, tz, after, count)]


# ---------------------------------------------------------------- Quartz cron

def test_daily_2am_in_amsterdam_skips_the_spring_forward_day_and_fires_once_on_fall_back():
    assert fires("0 0 2 * * ?", "Europe/Amsterdam", datetime(2025, 3, 29, 3, tzinfo=AMS), 2) == [
        "2025-03-31T02:00:00+02:00", "2025-04-01T02:00:00+02:00"]          # 02:00 on 30 March does not exist
    assert fires("0 0 2 * * ?", "Europe/Amsterdam", datetime(2025, 10, 25, 12, tzinfo=AMS), 2) == [
        "2025-10-26T02:00:00+02:00", "2025-10-27T02:00:00+01:00"]          # 02:00 happens twice: once


def test_hourly_across_both_changes_gaps_like_databricks_says():
    # "an hourly job will be skipped or might appear to not fire for an hour or two"
    spring = next_fire_times("0 0 * * * ?", "Europe/Amsterdam", datetime(2025, 3, 30, 0, 30, tzinfo=AMS), 3)
    assert [t.astimezone(UTC).hour for t in spring] == [0, 1, 2]             # 01:00 CET, 03:00 CEST, 04:00
    fall = next_fire_times("0 0 * * * ?", "Europe/Amsterdam", datetime(2025, 10, 26, 0, 30, tzinfo=AMS), 4)
    assert [t.astimezone(UTC).strftime("%d %H") for t in fall] == ["25 23", "26 00", "26 02", "26 03"]


def test_after_the_second_pass_of_a_repeated_hour_does_not_fire_it_again():
    second_pass = datetime(2025, 10, 26, 1, 30, tzinfo=UTC)                # 02:30 CET, the repeat
    assert fires("0 45 2 * * ?", "Europe/Amsterdam", second_pass, 1) == ["2025-10-27T02:45:00+01:00"]


@pytest.mark.parametrize("expr, expected", [
    ("0 15 10 ? * 6L", ["2025-02-28T10:15:00+00:00", "2025-03-28T10:15:00+00:00", "2025-04-25T10:15:00+00:00"]),
    ("0 15 10 ? * FRIL", ["2025-02-28T10:15:00+00:00", "2025-03-28T10:15:00+00:00", "2025-04-25T10:15:00+00:00"]),
    ("0 0 12 ? * 2#1", ["2025-02-03T12:00:00+00:00", "2025-03-03T12:00:00+00:00", "2025-04-07T12:00:00+00:00"]),
    ("0 0 0 L * ?", ["2025-02-28T00:00:00+00:00", "2025-03-31T00:00:00+00:00", "2025-04-30T00:00:00+00:00"]),
    ("0 0 9 LW * ?", ["2025-02-28T09:00:00+00:00", "2025-03-31T09:00:00+00:00", "2025-04-30T09:00:00+00:00"]),
    ("0 0 9 15W * ?", ["2025-02-14T09:00:00+00:00", "2025-03-14T09:00:00+00:00", "2025-04-15T09:00:00+00:00"]),
    ("0 0 9 1W * ?", ["2025-02-03T09:00:00+00:00", "2025-03-03T09:00:00+00:00", "2025-04-01T09:00:00+00:00"]),
    ("0 0 9 L-2 * ?", ["2025-02-26T09:00:00+00:00", "2025-03-29T09:00:00+00:00", "2025-04-28T09:00:00+00:00"]),
    ("0 0 12 ? * 1", ["2025-02-02T12:00:00+00:00", "2025-02-09T12:00:00+00:00", "2025-02-16T12:00:00+00:00"]),
    ("0 0 12 ? * 7", ["2025-02-01T12:00:00+00:00", "2025-02-08T12:00:00+00:00", "2025-02-15T12:00:00+00:00"]),
    ("0 0 12 ? * L", ["2025-02-01T12:00:00+00:00", "2025-02-08T12:00:00+00:00", "2025-02-15T12:00:00+00:00"]),
    ("0 0 6 ? * FRI-MON", ["2025-02-01T06:00:00+00:00", "2025-02-02T06:00:00+00:00", "2025-02-03T06:00:00+00:00"]),
    ("0 30 6 ? FEB,MAR 2-6/2", ["2025-02-03T06:30:00+00:00", "2025-02-05T06:30:00+00:00", "2025-02-07T06:30:00+00:00"]),
    ("0 0 9 1 1 ? 2027-2028", ["2027-01-01T09:00:00+00:00", "2028-01-01T09:00:00+00:00"]),
    ("0 0 0 30 2 ?", []),
])
def test_quartz_specials_day_numbers_names_and_years(expr, expected):
    """Strictly after Friday 31 January 2025, 10:15 (itself the last Friday of January)."""
    assert fires(expr, "UTC", datetime(2025, 1, 31, 10, 15, tzinfo=UTC), 3) == expected


@pytest.mark.parametrize("expr, expected", [
    # Quartz's CronExpressionTest.testLastDayOffset (October 2010)
    ("0 15 10 L-2 * ? 2010", ["2010-10-29T10:15:00+00:00"]),
    ("0 15 10 L-5W * ? 2010", ["2010-10-26T10:15:00+00:00"]),
    ("0 15 10 L-1W * ? 2010", ["2010-10-29T10:15:00+00:00"]),   # the 30th is a Saturday
    # 'nW' in a list with plain days: the weekday nearest the 2nd (Sat) is Fri 1st, and the 16th
    ("0 15 10 2W,16 * ? 2010", ["2010-10-01T10:15:00+00:00", "2010-10-16T10:15:00+00:00"]),
    ("0 15 10 1W,15W * ? 2010", ["2010-10-01T10:15:00+00:00", "2010-10-15T10:15:00+00:00"]),
])
def test_quartz_last_day_offsets_and_nearest_weekdays(expr, expected):
    got = fires(expr, "UTC", datetime(2010, 9, 30, tzinfo=UTC), 3)
    assert got[:len(expected)] == expected


def test_last_weekday_moves_back_from_a_weekend():
    # 31 May 2025 is a Saturday, 31 August a Sunday: both move back to Friday.
    got = fires("0 0 9 LW * ?", "UTC", datetime(2025, 5, 1, tzinfo=UTC), 4)
    assert got == ["2025-05-30T09:00:00+00:00", "2025-06-30T09:00:00+00:00", "2025-07-31T09:00:00+00:00",
                   "2025-08-29T09:00:00+00:00"]


def test_fire_times_are_at_least_10_seconds_apart_and_strictly_after():
    got = next_fire_times("*/5 * * * * ?", "UTC", datetime(2025, 1, 1, tzinfo=UTC), 4)
    assert [t.second for t in got] == [5, 15, 25, 35]
    at = datetime(2025, 1, 1, 2, tzinfo=UTC)
    assert next_fire_times("0 0 2 * * ?", "UTC", at, 1)[0] == at + timedelta(days=1)


def test_times_are_in_the_jobs_zone():
    got = next_fire_times("0 30 6 ? * MON-FRI", "America/New_York", datetime(2025, 7, 4, 12, tzinfo=UTC), 1)[0]
    assert (got.tzinfo.key, got.isoformat()) == ("America/New_York", "2025-07-07T06:30:00-04:00")


@pytest.mark.parametrize("expr, tz, words", [
    ("0 0 2 * * *", "UTC", "exactly one of day-of-month"),
    ("0 0 2 ? * 8", "UTC", "day-of-week: 8 is out of range 1–7"),
    ("0 0 25 * * ?", "UTC", "hours: 25 is out of range 0–23"),
    ("0 0 2 * *", "UTC", "expected 6 or 7 fields"),
    ("0 0 2 1,LW * ?", "UTC", "'L' and 'LW' cannot be combined with other days of the month"),
    ("0 43 9 1,5,29,L * ?", "UTC", "'L' and 'LW' cannot be combined with other days of the month"),
    # Quartz's CronExpressionTest: steps larger than their field are refused, as are 32W and L-31
    ("0/120 0 8-18 ? * 2-6", "UTC", "seconds: '0/120': the step 120 is larger than the field "
                                    "(Quartz: 'Increment > 60 : 120')"),
    ("0 0/120 8-18 ? * 2-6", "UTC", "(Quartz: 'Increment > 60 : 120')"),
    ("0 0 0/120 ? * 2-6", "UTC", "(Quartz: 'Increment > 24 : 120')"),
    ("0 0 0 0/120 * ?", "UTC", "(Quartz: 'Increment > 31 : 120')"),
    ("0 0 0 ? 1/120 2-6", "UTC", "(Quartz: 'Increment > 12 : 120')"),
    ("0 0 0 ? * 1/120", "UTC", "(Quartz: 'Increment > 7 : 120')"),
    ("0/5 * * 32W 1 ?", "UTC", "'W' does not make sense with values larger than 31"),
    ("0 0 0 L-31 * ?", "UTC", "the offset from the last day must be <= 30"),
    ("0 0 2 ? * 2#1,3", "UTC", "'L' and '#' must stand alone"),
    ("0 0 2 * * ?", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
])
def test_bad_expressions_and_zones_say_which_part(expr, tz, words):
    with pytest.raises(TriggerError, match=None) as caught:
        next_fire_times(expr, tz, datetime(2025, 1, 1, tzinfo=UTC), 1)
    assert words in str(caught.value)


def test_after_must_be_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire_times("0 0 2 * * ?", "UTC", datetime(2025, 1, 1), 1)


def test_schedules_in_words():
    assert describe_schedule("0 0 2 * * ?") == "every day at 02:00:00"
    assert describe_schedule("0 15 10 ? * 6L") == "at 10:15 on days of week 6L (the last FRI of the month)"
    assert describe_schedule("0 0 12 ? * 2#1").endswith("(the first MON of the month)")
    assert describe_schedule("0 0 9 LW * ?") == "minute 0, hour 9, day-of-month the last weekday of the month"


# ---------------------------------------------------------------- file arrival

class Clock:
    """A fake clock; `sleep` moves it on and runs what a test scheduled for that moment."""

    def __init__(self, now: float = 1_750_000_000.0):
        self.now, self.slept, self.at = now, [], {}

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        for when in sorted(k for k in self.at if k <= self.now):
            self.at.pop(when)()


def watcher(folder, clock, state, **kw):
    return FileArrivalWatcher(str(folder), state_file=state, clock=clock, **kw)


def test_files_already_there_do_not_fire_new_ones_do_once_even_after_a_restart(tmp_path):
    folder, state, clock = tmp_path / "landing", tmp_path / "state.json", Clock()
    folder.mkdir()
    (folder / "old.csv").write_text("a\n")
    w = watcher(folder, clock, state)
    assert not state.exists(), "nothing is written before watching starts"
    assert w.poll() is None and w.baseline == 1
    (folder / "sub").mkdir()
    (folder / "sub" / "new.csv").write_text("b\n")
    (folder / ".new.csv.swp").write_text("editor")
    event = w.poll()
    assert event.files == ["sub/new.csv"] and event.url == str(folder)
    assert w.poll() is None
    (folder / "old.csv").write_text("changed\n")                          # a change is not a new file
    assert w.poll() is None

    again = watcher(folder, clock, state)                                 # a restart
    assert again.poll() is None and again.baseline is None
    (folder / "while_stopped.csv").write_text("c\n")
    third = watcher(folder, clock, state)
    assert third.poll().files == ["while_stopped.csv"]


def test_wait_after_last_change_waits_for_the_batch_to_settle(tmp_path):
    folder, clock = tmp_path / "in", Clock()
    folder.mkdir()
    w = watcher(folder, clock, tmp_path / "s.json", wait_after_last_change_seconds=60)
    w.start()
    (folder / "a.csv").write_text("1")
    assert w.poll() is None and w.waiting_for() == 60
    clock.now += 30
    (folder / "a.csv").write_text("12")                                   # still being written
    (folder / "b.csv").write_text("1")
    assert w.poll() is None
    clock.now += 59
    assert w.poll() is None
    clock.now += 1
    assert w.poll().files == ["a.csv", "b.csv"]


def test_min_time_between_triggers_is_kept_across_a_restart(tmp_path):
    folder, state, clock = tmp_path / "in", tmp_path / "s.json", Clock()
    folder.mkdir()
    w = watcher(folder, clock, state, min_time_between_triggers_seconds=120)
    w.start()
    (folder / "1.csv").write_text("1")
    assert w.poll().files == ["1.csv"]
    clock.now += 10
    (folder / "2.csv").write_text("2")
    assert w.poll() is None
    restarted = watcher(folder, clock, state, min_time_between_triggers_seconds=120)
    clock.now += 100
    assert restarted.poll() is None
    clock.now += 10
    assert restarted.poll().files == ["2.csv"]


def test_a_deleted_file_that_comes_back_is_new(tmp_path):
    folder, clock = tmp_path / "in", Clock()
    folder.mkdir()
    (folder / "x.csv").write_text("1")
    w = watcher(folder, clock, tmp_path / "s.json")
    w.start()
    (folder / "x.csv").unlink()
    assert w.poll() is None
    (folder / "x.csv").write_text("again")
    assert w.poll().files == ["x.csv"]


def test_volumes_urls_map_to_the_kits_folder_and_state_lives_in_day7_home(day7_home):
    loaded = _job(day7_home, "trigger: {file_arrival: {url: /Volumes/main/raw/landing/orders}}")
    trig = job_trigger(loaded)
    assert trig.watcher.local == day7_home / "volumes" / "main" / "raw" / "landing" / "orders"
    assert not (day7_home / "triggers").exists()                          # loading changes nothing
    clock = Clock()
    trig.watcher.clock = clock
    clock.at[clock.now + 2] = lambda: (trig.watcher.local.mkdir(parents=True),
                                       (trig.watcher.local / "o.json").write_text("{}"))
    said: list[str] = []
    fire = trig.wait(clock, clock.sleep, said.append)
    assert (fire.trigger, fire.location, fire.files) == ("FILE_ARRIVAL", "/Volumes/main/raw/landing/orders", ["o.json"])
    assert "1 new file(s) under /Volumes/main/raw/landing/orders (o.json)" == fire.reason
    assert any("does not exist yet" in s for s in said)
    assert list((day7_home / "triggers").glob("file_arrival-job-*.json"))


# ---------------------------------------------------------------- continuous

def test_backoff_doubles_after_failures_and_resets_after_a_success():
    b = Backoff(first=10, factor=2, cap=60)
    assert [b.after(False) for _ in range(5)] == [10, 20, 40, 60, 60]
    assert b.after(True) == 0 and b.after(False) == 10


def test_watch_restarts_a_continuous_job_with_backoff():
    clock, results, starts = Clock(), iter([False, False, True, True]), []

    def run(fire):
        starts.append((fire.trigger, clock.now))
        clock.now += 5                                                    # the run takes 5 s
        return next(results)

    said: list[str] = []
    assert watch(ContinuousTrigger(), run, say=said.append, clock=clock, sleep=clock.sleep, max_runs=4) == 4
    t0 = starts[0][1]
    assert [(kind, now - t0) for kind, now in starts] == [("CONTINUOUS", 0), ("CONTINUOUS", 15),
                                                          ("CONTINUOUS", 40), ("CONTINUOUS", 45)]
    assert said == ["1 failed run(s) in a row: next run in 10 s", "2 failed run(s) in a row: next run in 20 s"]


# ---------------------------------------------------------------- from a job file

def _job(folder: Path, trigger_yaml: str, tasks: str | None = None, name: str = "job.yml"):
    tasks = tasks or f"- {{task_key: a, notebook_task: {{notebook_path: {NOTEBOOK}}}}}"
    path = folder / name
    path.write_text("bundle: {name: t}\nresources:\n  jobs:\n    job:\n"
                    + textwrap.indent(trigger_yaml, "      ") + "\n      tasks:\n"
                    + textwrap.indent(tasks, "        ") + "\n")
    return load_job(path)


def test_the_schedule_cron_is_used_with_its_zone_and_pause(tmp_path):
    trig = job_trigger(_job(tmp_path, "schedule: {quartz_cron_expression: '0 0 9 ? * 2#1', timezone_id: "
                                      "Europe/Amsterdam, pause_status: PAUSED}"))
    assert isinstance(trig, CronTrigger) and trig.paused
    assert trig.upcoming(datetime(2025, 1, 1, tzinfo=UTC), 1)[0].isoformat() == "2025-01-06T09:00:00+01:00"
    assert job_trigger(_job(tmp_path, "description: by hand")) is None


def test_a_continuous_job_with_dependencies_or_retries_is_refused_naming_the_field(tmp_path):
    deps = f"""\
- {{task_key: a, notebook_task: {{notebook_path: {NOTEBOOK}}}}}
- {{task_key: b, depends_on: [{{task_key: a}}], notebook_task: {{notebook_path: {NOTEBOOK}}}}}"""
    with pytest.raises(JobSpecError) as caught:
        job_trigger(_job(tmp_path, "continuous: {pause_status: UNPAUSED}", deps))
    assert "job.yml: resources.jobs.job.tasks[1].depends_on: a continuous job cannot have task dependencies" \
        in str(caught.value)
    retries = f"- {{task_key: a, max_retries: 2, notebook_task: {{notebook_path: {NOTEBOOK}}}}}"
    with pytest.raises(JobSpecError, match=r"tasks\[0\]\.max_retries: a continuous job retries tasks only with "
                                           r"continuous.task_retry_mode: ON_FAILURE \(this one's is NEVER"):
        job_trigger(_job(tmp_path, "continuous: {}", retries))      # the API's default mode is NEVER
    with pytest.raises(JobSpecError, match=r"this one's is NEVER"):
        job_trigger(_job(tmp_path, "continuous: {task_retry_mode: NEVER}", retries))
    assert isinstance(job_trigger(_job(tmp_path, "continuous: {task_retry_mode: ON_FAILURE}", retries)),
                      ContinuousTrigger)
    assert isinstance(job_trigger(_job(tmp_path, "continuous: {}")), ContinuousTrigger)


def test_one_trigger_per_job_and_unsupported_kinds_are_named(tmp_path):
    with pytest.raises(JobSpecError, match=r"resources\.jobs\.job\.continuous: a job has one of schedule, "
                                           r"trigger and continuous; this one has schedule and continuous"):
        job_trigger(_job(tmp_path, "schedule: {quartz_cron_expression: '0 0 2 * * ?', timezone_id: UTC}\n"
                                   "continuous: {}"))
    with pytest.raises(JobSpecError, match=r"trigger\.table_update: only file_arrival and periodic"):
        job_trigger(_job(tmp_path, "trigger: {table_update: {table_names: [main.a.b]}}"))
    with pytest.raises(JobSpecError, match=r"schedule\.timezone_id: unknown time zone 'Nowhere/Land'"):
        job_trigger(_job(tmp_path, "schedule: {quartz_cron_expression: '0 0 2 * * ?', timezone_id: Nowhere/Land}"))


def test_a_cron_trigger_sleeps_until_the_fire_time_and_reports_missed_ones():
    clock = Clock(datetime(2025, 1, 1, 0, 0, 30, tzinfo=UTC).timestamp())
    trig, said, fired = CronTrigger("0 0 * * * ?", "UTC"), [], []

    def run(fire):
        fired.append(fire.time.isoformat())
        clock.now += 2 * 3600 + 60                                        # a run of two hours
        return True

    watch(trig, run, say=said.append, clock=clock, sleep=clock.sleep, max_runs=2)
    assert fired == ["2025-01-01T01:00:00+00:00", "2025-01-01T04:00:00+00:00"]
    assert said[0] == "next run at 2025-01-01 01:00:00 UTC"
    assert said[1].startswith("2 fire time(s) passed while the last run ran")
    assert max(clock.slept) <= 60                                         # sleeps in steps


def test_file_arrival_trigger_through_job_trigger_uses_the_injected_clock(tmp_path):
    clock = Clock()
    folder = tmp_path / "drop"
    trig = job_trigger(_job(tmp_path, f"trigger: {{file_arrival: {{url: {folder}, wait_after_last_change_seconds: 60}}}}"),
                       clock=clock, poll_seconds=5)
    assert isinstance(trig, FileArrivalTrigger)
    clock.at[clock.now + 5] = lambda: (folder.mkdir(), (folder / "a.csv").write_text("1"))
    said: list[str] = []
    fire = trig.wait(clock, clock.sleep, said.append)
    assert fire.files == ["a.csv"] and clock.now - fire.time.timestamp() < 1
    assert sum(clock.slept) == pytest.approx(65)                          # found at 5 s, quiet for 60 s
    assert any("waiting 60 s" in s for s in said)
