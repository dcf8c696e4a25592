"""What the runner shows: state colours, every task run of a run, the 'save first' note."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

from course.cli.progress import GREEN, RED, Colors, attempts_table, saved_notes
from course.jobs.spec import load_job
from course.jobs.local.history import History

REPO = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_a_state_is_coloured_by_its_word_then_padded():
    colors = Colors(True)
    success, failed = colors.state("SUCCESS", 18), colors.state("FAILED", 18)
    assert success.startswith(GREEN) and failed.startswith(RED)
    assert len(ANSI.sub("", success)) == 18 and len(ANSI.sub("", failed)) == 18
    assert Colors(False).state("FAILED", 10) == "FAILED    "


def test_runs_show_lists_every_attempt_with_its_task_run_id(tmp_path):
    history = History(tmp_path / "h.db")
    job = history.ensure_job("j", {"name": "j"})
    run = history.create_run(job, "j")
    first = history.create_task_run(run, "a")
    history.update_task_run(first, life_cycle_state="TERMINATED", result_state="FAILED")
    history.set_run_state(run, "INTERNAL_ERROR", "FAILED", "Task a failed")
    history.create_repair(run, ["a"])
    second = history.create_task_run(run, "a")
    history.update_task_run(second, life_cycle_state="TERMINATED", result_state="SUCCESS")
    history.set_run_state(run, "TERMINATED", "SUCCESS")
    lines = attempts_table(history.get_run(run)).splitlines()
    assert lines[0].split()[:5] == ["task_run_id", "task", "attempt", "in", "state"]
    assert re.match(rf"\s*{first}\s+a\s+0\s+run\s+FAILED", lines[1]), lines
    assert re.match(rf"\s*{second}\s+a\s+0\s+repair 1\s+SUCCESS", lines[2]), lines


def test_a_recently_saved_notebook_gets_the_save_first_note(monkeypatch):
    monkeypatch.chdir(REPO)
    loaded = load_job(REPO / "notebooks" / "jobs" / "one_task.yml")
    path = loaded.settings.tasks[0].notebook_task.notebook_path
    mtime = os.path.getmtime(path)
    assert saved_notes(loaded, now=mtime + 3600) == []  # nobody is editing: nothing to say
    notes = saved_notes(loaded, now=mtime + 30)
    assert "save them first (Ctrl-S)" in notes[0]
    assert notes[1].startswith("  hello: notebooks/jobs/hello.ipynb, saved ") and notes[1].endswith("(30 s ago)")
