"""`runner.py schedule` and `runner.py watch`: what they print, exit codes, and a real
file-arrival run end to end (a real runner process, kernel and notebook)."""
from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest

from runner_fixtures import NOTEBOOKS, cli, finish, start_runner

OK = NOTEBOOKS / "ok.ipynb"


def job_file(tmp_path: Path, trigger_yaml: str, tasks: str | None = None) -> Path:
    tasks = tasks or f"- {{task_key: a, notebook_task: {{notebook_path: {OK}}}}}"
    path = tmp_path / "job.yml"
    path.write_text("bundle: {name: t}\nresources:\n  jobs:\n    job:\n      name: watched\n"
                    + textwrap.indent(trigger_yaml, "      ") + "\n      tasks:\n"
                    + textwrap.indent(tasks, "        ") + "\n")
    return path


def test_schedule_prints_the_trigger_in_words_and_the_next_fire_times():
    code, out, err = cli(["schedule", "--count", "3"])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "day7-medallion: schedule `0 0 2 * * ?` in UTC: every day at 02:00:00"
    assert lines[1] == "next fire times (3):"
    assert len(lines) == 5 and all(line.strip().endswith("02:00:00 UTC") or "here" in line for line in lines[2:])


def test_schedule_of_a_development_target_says_it_is_paused():
    code, out, _ = cli(["schedule", "-t", "dev", "--count", "1"])
    assert code == 0
    assert "PAUSED (development mode pauses triggers)" in out and "would fire at (1):" in out


def test_schedule_in_another_zone_and_a_job_without_trigger(tmp_path):
    path = job_file(tmp_path, "schedule: {quartz_cron_expression: '0 15 10 ? * 6L', timezone_id: Asia/Tokyo}")
    code, out, _ = cli(["schedule", "--job", str(path), "--count", "2"])
    assert code == 0
    assert "(the last FRI of the month)" in out and out.count("JST") == 2 and "Fri" in out
    code, out, _ = cli(["schedule", "--job", str(NOTEBOOKS.parent / "databricks.yml"), "--job-key", "cli"])
    assert code == 0 and "no schedule, trigger or continuous block" in out


@pytest.mark.parametrize("trigger_yaml, tasks, words", [
    ("schedule: {quartz_cron_expression: '0 0 2 * * *', timezone_id: UTC}", None,
     "resources.jobs.job.schedule.quartz_cron_expression: bad Quartz cron: exactly one of day-of-month"),
    ("schedule: {quartz_cron_expression: '0 61 2 * * ?', timezone_id: UTC}", None, "minutes: 61 is out of range 0–59"),
    ("schedule: {quartz_cron_expression: '0 0 2 1,LW * ?', timezone_id: UTC}", None,
     "schedule.quartz_cron_expression: bad Quartz cron: day-of-month: '1,LW': 'L' and 'LW' cannot be combined"),
    ("schedule: {quartz_cron_expression: '0 0 2 * * ?', timezone_id: Europe/Atlantis}", None,
     "schedule.timezone_id: unknown time zone 'Europe/Atlantis'"),
    ("continuous: {}", f"- {{task_key: a, max_retries: 1, notebook_task: {{notebook_path: {OK}}}}}",
     "tasks[0].max_retries: a continuous job retries tasks only with continuous.task_retry_mode: ON_FAILURE"),
])
def test_bad_schedules_exit_2_naming_the_field(tmp_path, day7_home, trigger_yaml, tasks, words):
    path = job_file(tmp_path, trigger_yaml, tasks)
    for command in ("schedule", "watch"):
        code, out, err = cli([command, "--job", str(path)])
        assert code == 2 and words in err, (command, err)
        assert "job.yml" in err and not out
    assert not (day7_home / "triggers").exists() and not any((day7_home / "runs").glob("*"))


def test_watch_refuses_what_it_cannot_watch(tmp_path, day7_home):
    code, _, err = cli(["watch", "--job", str(NOTEBOOKS.parent / "databricks.yml"), "--job-key", "cli"])
    assert code == 2 and "has no schedule, trigger or continuous block: nothing to watch" in err
    code, _, err = cli(["watch", "-t", "dev", "--once"])
    assert code == 1 and "PAUSED (development mode pauses triggers)" in err and "not watching" in err
    code, _, err = cli(["watch", "--poll", "0"])
    assert code == 2 and "--poll" in err
    assert not any((day7_home / "runs").glob("*"))                # nothing ran


@pytest.mark.slow
def test_watch_once_runs_the_job_when_a_file_arrives(tmp_path, day7_home):
    """A real `runner.py watch --once`: it takes stock of the folder, a file lands, one
    FILE_ARRIVAL run of a one-notebook job follows, and the run sees its trigger type."""
    url = "/Volumes/workspace/day7/landing/orders"
    path = job_file(tmp_path, f"trigger: {{file_arrival: {{url: {url}}}}}\n"
                              "parameters: [{name: n, default: '7'}, {name: how, default: '{{job.trigger.type}}'},\n"
                              "             {name: where, default: '{{job.trigger.file_arrival.location}}'}]")
    folder = day7_home / "volumes" / "workspace" / "day7" / "landing" / "orders"
    folder.mkdir(parents=True)
    (folder / "old.csv").write_text("already here\n")
    started = time.monotonic()
    proc = start_runner(["watch", "--job", str(path), "--once", "--poll", "0.1", "--json"])
    seen = []
    while not any("watching" in line for line in seen):           # wait until it took stock
        line = proc.stderr.readline()
        assert line, "watch exited early:\n" + "".join(seen)
        seen.append(line)
    assert "1 file(s) already there are not new" in seen[-1]
    (folder / "new.csv").write_text("fresh\n")
    code, out, err = finish(proc, timeout=60)
    err = "".join(seen) + err
    assert code == 0, err
    run = json.loads(out)
    assert run["trigger"] == "FILE_ARRIVAL" and run["state"]["result_state"] == "SUCCESS"
    job_parameters = {p["name"]: p["value"] for p in run["job_parameters"]}
    assert job_parameters["how"] == "file_arrival" and job_parameters["where"] == url
    assert f"1 new file(s) under {url} (new.csv): run {run['run_id']} started (FILE_ARRIVAL)" in err
    assert time.monotonic() - started < 30
    state = json.loads(next((day7_home / "triggers").glob("file_arrival-job-*.json")).read_text())
    assert sorted(state["seen"]) == ["new.csv", "old.csv"]
