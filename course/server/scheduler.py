"""While the server runs it is the scheduler: every job's schedule or trigger fires, as with `watch`.

One watcher thread per job with an unpaused `schedule`, `trigger` (file arrival, periodic) or
`continuous` block, running `course.jobs.schedules.triggers.watch` on the job as its file
defines it now. Each firing starts a run in a child process (the launcher, as `run-now`)
with the trigger type; the watcher waits for that run to end before waiting again (one run
at a time, as `watch`). Every few seconds the jobs table is read again: a job created,
changed (paused, resumed, new schedule) or deleted gets its watcher started, restarted or
stopped. What happens goes to `<state>/server/scheduler.log`.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from course.jobs.schedules.triggers import job_trigger, watch
from course.jobs.spec import JobSpecError, load_job

RESCAN_S = 3.0
RUN_POLL_S = 1.0


class Stopped(Exception):
    """The watcher was told to stop (job changed, deleted, or the server stops)."""


class Watcher:
    """One job's trigger watched in a thread until `stop()`."""

    def __init__(self, scheduler: "Scheduler", job_id: int, source: dict, version: str):
        self.scheduler, self.job_id, self.source, self.version = scheduler, job_id, source, version
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.main, daemon=True, name=f"day7-schedule-{job_id}")

    def say(self, text: str) -> None:
        self.scheduler.log(f"job {self.job_id}: {text}")

    def sleep(self, seconds: float) -> None:
        if self.stopping.wait(seconds):
            raise Stopped

    def main(self) -> None:
        try:
            loaded = load_job(self.source["file"], job_key=self.source.get("job_key"),
                              target=self.source.get("target"))
            trigger = job_trigger(loaded)
        except (JobSpecError, OSError) as exc:
            self.say(f"not watched: {exc}")
            return
        if trigger is None or trigger.paused:
            return
        self.say(trigger.describe())
        try:
            watch(trigger, self.fire, say=self.say, sleep=self.sleep)
        except Stopped:
            pass
        except Exception as exc:  # noqa: BLE001 - one job's trouble never stops the server
            self.say(f"stopped watching: {exc!r}")

    def fire(self, fire) -> bool:
        state = self.scheduler.state
        try:
            run_id = state.launcher.run_now(self.source, self.job_id, {}, trigger=fire.trigger,
                                            trigger_time_ms=int(fire.time.timestamp() * 1000),
                                            location=fire.location)
        except Exception as exc:  # noqa: BLE001 - said, and the next firing tries again
            self.say(f"{fire.reason}: the run did not start: {exc}")
            return False
        self.say(f"{fire.reason}: run {run_id} started ({fire.trigger})")
        while True:
            record = state.history.run_record(run_id)
            if record.terminal:
                self.say(f"run {run_id} {record.result_state}")
                return record.result_state == "SUCCESS"
            self.sleep(RUN_POLL_S)

    def stop(self) -> None:
        self.stopping.set()


class Scheduler:
    """Keeps one Watcher per job with a trigger; `start()` returns the function that stops it."""

    def __init__(self, state, rescan_s: float = RESCAN_S):
        self.state = state
        self.rescan_s = rescan_s
        self.watchers: dict[int, Watcher] = {}
        self.stopping = threading.Event()
        self.log_file: Path = state.home / "server" / "scheduler.log"
        self._log_lock = threading.Lock()

    def log(self, text: str) -> None:
        with self._log_lock, open(self.log_file, "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')}  {text}\n")

    def scan(self) -> None:
        """Start, restart or stop watchers after the jobs table."""
        seen = set()
        for job in self.state.history.jobs(limit=100_000):
            settings = self.state.jobs.settings_of(job)
            if not any(settings.get(k) for k in ("schedule", "trigger", "continuous")):
                continue
            seen.add(job["job_id"])
            # The definition, not updated_time: each run rewrites the history's snapshot of an API job.
            version = json.dumps(settings, sort_keys=True)
            current = self.watchers.get(job["job_id"])
            if current is not None and current.version == version:
                continue
            if current is not None:
                current.stop()
            try:
                source = self.state.jobs.source(job["job_id"])
            except Exception:  # noqa: BLE001 - its file is gone: nothing to watch
                self.watchers.pop(job["job_id"], None)
                continue
            watcher = Watcher(self, job["job_id"], source, version)
            self.watchers[job["job_id"]] = watcher
            watcher.thread.start()
        for job_id in [j for j in self.watchers if j not in seen]:
            self.watchers.pop(job_id).stop()

    def main(self) -> None:
        while not self.stopping.is_set():
            try:
                self.scan()
            except Exception as exc:  # noqa: BLE001 - a locked or broken history: try again
                self.log(f"scan failed: {exc!r}")
            self.stopping.wait(self.rescan_s)

    def start(self):
        threading.Thread(target=self.main, daemon=True, name="day7-scheduler").start()

        def stop() -> None:
            self.stopping.set()
            for w in self.watchers.values():
                w.stop()
        return stop
