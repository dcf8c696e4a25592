"""When a job starts on its own: schedules, file arrival and continuous jobs, locally.

Databricks starts a job from at most one of ``schedule`` (Quartz cron),
``trigger`` (``file_arrival`` or ``periodic``) and ``continuous``. This module
decides *when*; the caller decides what a run is (``watch(trigger, run)``), so
everything here runs with an injected clock and sleep and no job at all.

Quartz cron fire times live in ``cron.py``.

File arrival (``FileArrivalWatcher``): polls a folder (``/Volumes/…`` and ``dbfs:/``
mapped as notebooks map them) and fires when files appear that it has not seen.
What it has seen is kept under ``<DAY7_HOME>/triggers/``, so a restart does not
fire again for old files; the first ``start()`` only records what is there (building
a watcher records nothing, so `runner.py schedule` leaves no trigger state; like any
path mapping it may create the kit's state folders). Changes to
files already seen do not fire (Databricks triggers on new files); names starting
with ``.`` are ignored (editors' and the kit's own temporary files).

Continuous (``ContinuousTrigger``): the next run starts when the previous ends;
after a failure it waits 10 s, then 20 s, 40 s … up to 10 min, back to no wait
after a success (Databricks backs off exponentially and does not publish its steps).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from course.jobs.model.cron import MIN_SECONDS_BETWEEN_RUNS, TriggerError, describe_schedule, next_fire_times, zone
from course.jobs.model.states import value

__all__ = ["TriggerError", "Fire", "next_fire_times", "describe_schedule", "MIN_SECONDS_BETWEEN_RUNS",
           "FileArrivalWatcher", "FileArrival", "Backoff", "CronTrigger", "PeriodicTrigger",
           "FileArrivalTrigger", "ContinuousTrigger", "job_trigger", "check_continuous", "retry_mode", "watch"]

_UTC = timezone.utc


# ---------------------------------------------------------------- file arrival

def _state_dir() -> Path:
    from course.platform import paths

    return paths.home() / "triggers"


def state_file_for(job_key: str, local: str | Path) -> Path:
    """Where a job's file-arrival watcher keeps what it has seen (one file per job and folder)."""
    digest = hashlib.sha1(str(Path(local).resolve()).encode()).hexdigest()[:10]
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", job_key)
    return _state_dir() / f"file_arrival-{safe}-{digest}.json"


@dataclass
class FileArrival:
    url: str                  # the location as the job names it
    files: list[str]          # new files, relative to the location
    time: float               # clock() when it fired


class FileArrivalWatcher:
    """Fires when files it has not seen appear under `url`, as `trigger.file_arrival` does.

    ``poll()`` scans once and returns a FileArrival when the trigger fires: there are
    new files, nothing changed among them for `wait_after_last_change_seconds`, and
    `min_time_between_triggers_seconds` passed since the last firing.
    """

    def __init__(self, url: str, *, min_time_between_triggers_seconds: int | None = 0,
                 wait_after_last_change_seconds: int | None = 0, state_file: Path | None = None,
                 clock: Callable[[], float] = time.time):
        from course.platform.localpaths import to_local

        self.url = url
        try:
            self.local = Path(to_local(url))
        except ValueError as exc:
            raise TriggerError(str(exc)) from None
        self.min_between = min_time_between_triggers_seconds or 0
        self.wait_after = wait_after_last_change_seconds or 0
        self.clock = clock
        self.state_file = state_file
        self.seen: dict[str, list[int]] = {}
        self.last_fire: float | None = None
        self.baseline: int | None = None     # files recorded at a first start (not fired for)
        self.pending: dict[str, list[int]] = {}
        self._changed_at: float | None = None
        self._started = False

    def scan(self) -> dict[str, list[int]]:
        """Every file below the location: relative path -> [mtime_ns, size]."""
        found: dict[str, list[int]] = {}
        if not self.local.is_dir():
            return found
        for root, dirs, files in os.walk(self.local):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                if name.startswith("."):
                    continue
                path = Path(root, name)
                try:
                    st = path.stat()
                except OSError:          # gone between listing and stat
                    continue
                found[path.relative_to(self.local).as_posix()] = [st.st_mtime_ns, st.st_size]
        return found

    def start(self) -> None:
        """Read what was seen before, or (first start) record what is there now as seen."""
        if self._started:
            return
        self._started = True
        data = None
        if self.state_file is not None and self.state_file.is_file():
            try:
                data = json.loads(self.state_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = None            # unreadable: start again from what is there now
        if data is None:
            self.seen = self.scan()
            self.baseline = len(self.seen)
            self._save()
            return
        self.seen = dict(data.get("seen") or {})
        self.last_fire = data.get("last_fire")

    def _save(self) -> None:
        if self.state_file is None:
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(json.dumps({"url": self.url, "local": str(self.local), "seen": self.seen,
                                   "last_fire": self.last_fire}), encoding="utf-8")
        tmp.replace(self.state_file)  # atomic: a crash never leaves half a state file

    def poll(self) -> FileArrival | None:
        self.start()
        now, current = self.clock(), self.scan()
        gone = [p for p in self.seen if p not in current]
        if gone:                       # a deleted file that comes back is new again
            for p in gone:
                del self.seen[p]
            self._save()
        new = {p: s for p, s in current.items() if p not in self.seen}
        if new != self.pending:       # new files, or new files still being written
            self.pending, self._changed_at = new, now
        if not new or now - (self._changed_at or now) < self.wait_after:
            return None
        if self.last_fire is not None and now - self.last_fire < self.min_between:
            return None
        self.seen.update(new)
        self.last_fire, self.pending = now, {}
        self._save()
        return FileArrival(self.url, sorted(new), now)

    def waiting_for(self) -> float:
        """Seconds until pending new files may fire (0 when none are pending or they may now)."""
        if not self.pending:
            return 0.0
        now = self.clock()
        quiet = (self._changed_at or now) + self.wait_after - now
        spaced = (self.last_fire + self.min_between - now) if self.last_fire is not None else 0
        return max(0.0, quiet, spaced)


# ---------------------------------------------------------------- continuous

@dataclass
class Backoff:
    """Delay before the next continuous run: none after a success, doubling after failures."""
    first: float = 10.0
    factor: float = 2.0
    cap: float = 600.0
    failures: int = 0

    def after(self, succeeded: bool) -> float:
        if succeeded:
            self.failures = 0
            return 0.0
        self.failures += 1
        return min(self.cap, self.first * self.factor ** (self.failures - 1))


# ---------------------------------------------------------------- one trigger per job

@dataclass
class Fire:
    """A trigger firing: what the run is told (trigger type) and what the watcher prints."""
    trigger: str                       # PERIODIC, FILE_ARRIVAL, CONTINUOUS (jobs.TriggerType)
    time: datetime                     # aware
    reason: str                        # one line, e.g. "3 new files under /Volumes/…"
    location: str | None = None        # file arrival: the url
    files: list[str] = field(default_factory=list)


Say = Callable[[str], None]


def _now(clock) -> datetime:
    return datetime.fromtimestamp(clock(), _UTC)


def _sleep_until(when: float, clock, sleep) -> None:
    # In steps, so a suspended laptop or a changed clock is noticed within a minute.
    while (left := when - clock()) > 0:
        sleep(min(left, 60.0))


def _at(t: datetime) -> str:
    local = t.astimezone()
    text = t.strftime("%Y-%m-%d %H:%M:%S %Z")
    return text if local.utcoffset() == t.utcoffset() else f"{text} ({local.strftime('%H:%M %Z')} here)"


class CronTrigger:
    kind = "PERIODIC"

    def __init__(self, expr: str, timezone_id: str | None, paused: bool = False):
        self.expr, self.timezone_id, self.paused = expr, timezone_id or "UTC", paused
        next_fire_times(expr, self.timezone_id, datetime.now(_UTC), 1)  # bad input fails here
        self._last: datetime | None = None

    def describe(self) -> str:
        return f"schedule `{self.expr}` in {self.timezone_id}: {describe_schedule(self.expr)}"

    def upcoming(self, after: datetime, count: int) -> list[datetime]:
        return next_fire_times(self.expr, self.timezone_id, after, count)

    def wait(self, clock, sleep, say: Say) -> Fire | None:
        now = _now(clock)
        if self._last is not None and (first := self.upcoming(self._last, 1)) and first[0] <= now:
            # Counting is costly (up to 1000 fire times): only when at least one passed.
            missed = sum(1 for t in self.upcoming(self._last, 1000) if t <= now)
            if missed:
                say(f"{missed if missed < 1000 else '1000+'} fire time(s) passed while the last run ran "
                    "(on Databricks they are skipped, or one is queued with queue.enabled)")
        after = now if self._last is None else max(now, self._last + timedelta(seconds=MIN_SECONDS_BETWEEN_RUNS)
                                                   - timedelta(microseconds=1))
        nxt = self.upcoming(after, 1)
        if not nxt:
            say(f"`{self.expr}` fires no more: nothing left to wait for")
            return None
        say(f"next run at {_at(nxt[0])}")
        _sleep_until(nxt[0].timestamp(), clock, sleep)
        self._last = nxt[0]
        return Fire("PERIODIC", nxt[0], f"schedule `{self.expr}` fired")

    def finished(self, succeeded: bool, say: Say) -> None:
        pass


class PeriodicTrigger:
    """`trigger.periodic`: every N minutes/hours/days/weeks, counted from when watching started."""
    kind = "PERIODIC"
    _UNITS = {"MINUTES": 60, "HOURS": 3600, "DAYS": 86400, "WEEKS": 604800}

    def __init__(self, interval: int, unit: str, paused: bool = False):
        if unit not in self._UNITS:
            raise TriggerError(f"trigger.periodic.unit: {unit!r} is not one of {', '.join(self._UNITS)}")
        if not interval or interval < 1:
            raise TriggerError(f"trigger.periodic.interval: must be at least 1, got {interval!r}")
        self.interval, self.unit, self.paused = interval, unit, paused
        self.seconds = max(interval * self._UNITS[unit], MIN_SECONDS_BETWEEN_RUNS)
        self._next: float | None = None

    def describe(self) -> str:
        return f"periodic trigger: every {self.interval} {self.unit.lower()}, counted from when watching starts"

    def upcoming(self, after: datetime, count: int) -> list[datetime]:
        return [after + timedelta(seconds=self.seconds * (k + 1)) for k in range(count)]

    def wait(self, clock, sleep, say: Say) -> Fire | None:
        if self._next is None or self._next < clock():
            self._next = clock() + self.seconds
        when = datetime.fromtimestamp(self._next, _UTC)
        say(f"next run at {_at(when)}")
        _sleep_until(self._next, clock, sleep)
        self._next += self.seconds
        return Fire("PERIODIC", when, f"every {self.interval} {self.unit.lower()}")

    def finished(self, succeeded: bool, say: Say) -> None:
        pass


class FileArrivalTrigger:
    kind = "FILE_ARRIVAL"

    def __init__(self, watcher: FileArrivalWatcher, poll_seconds: float = 2.0, paused: bool = False):
        self.watcher, self.poll_seconds, self.paused = watcher, poll_seconds, paused
        self._announced = False

    def describe(self) -> str:
        w = self.watcher
        extra = [f"at least {w.min_between} s between runs" if w.min_between else "",
                 f"{w.wait_after} s without changes first" if w.wait_after else ""]
        extra = [e for e in extra if e]
        return (f"file arrival: new files under {w.url}" + (f" ({w.local})" if str(w.local) != w.url else "")
                + (f"; {', '.join(extra)}" if extra else ""))

    def upcoming(self, after: datetime, count: int) -> list[datetime]:
        return []

    def wait(self, clock, sleep, say: Say) -> Fire | None:
        w = self.watcher
        if not self._announced:
            self._announced = True
            w.start()
            if w.baseline:
                say(f"watching {w.url}: {w.baseline} file(s) already there are not new; new ones start a run")
            elif w.baseline == 0:
                say(f"watching {w.url}: new files start a run")
            else:
                say(f"watching {w.url} (what was seen before is remembered in {w.state_file})")
            if not w.local.is_dir():
                say(f"{w.local} does not exist yet: files appearing there will start a run")
        said_pending = False
        while True:
            event = w.poll()
            if event is not None:
                shown = ", ".join(event.files[:3]) + (" …" if len(event.files) > 3 else "")
                return Fire("FILE_ARRIVAL", datetime.fromtimestamp(event.time, _UTC),
                            f"{len(event.files)} new file(s) under {event.url} ({shown})",
                            location=event.url, files=event.files)
            left = w.waiting_for()
            if w.pending and not said_pending:
                said_pending = True
                say(f"{len(w.pending)} new file(s) under {w.url}; waiting {left:.0f} s "
                    "(wait_after_last_change_seconds / min_time_between_triggers_seconds)")
            sleep(min(self.poll_seconds, left) if left > 0 else self.poll_seconds)

    def finished(self, succeeded: bool, say: Say) -> None:
        pass


class ContinuousTrigger:
    kind = "CONTINUOUS"

    def __init__(self, backoff: Backoff | None = None, paused: bool = False):
        self.backoff, self.paused = backoff or Backoff(), paused
        self._delay = 0.0

    def describe(self) -> str:
        return "continuous: a new run starts when the previous one ends (failures back off exponentially)"

    def upcoming(self, after: datetime, count: int) -> list[datetime]:
        return []

    def wait(self, clock, sleep, say: Say) -> Fire | None:
        if self._delay:
            _sleep_until(clock() + self._delay, clock, sleep)
        return Fire("CONTINUOUS", _now(clock), "continuous: starting the next run")

    def finished(self, succeeded: bool, say: Say) -> None:
        self._delay = self.backoff.after(succeeded)
        if self._delay:
            say(f"{self.backoff.failures} failed run(s) in a row: next run in {self._delay:.0f} s")


# ---------------------------------------------------------------- from a job definition

def _error(loaded, field_path: str, problem: str) -> Exception:
    from course.jobs.spec import JobSpecError

    return JobSpecError(loaded.source, loaded.field_path(field_path), problem)


def check_continuous(loaded) -> None:
    """A continuous job has no task dependencies, and retry policies only with
    `continuous.task_retry_mode: ON_FAILURE` (the API's default is NEVER)."""
    mode = retry_mode(loaded.settings)
    for i, task in enumerate(loaded.settings.tasks or []):
        if task.depends_on:
            raise _error(loaded, f"tasks[{i}].depends_on",
                         f"a continuous job cannot have task dependencies ('{task.task_key}' depends on "
                         f"'{task.depends_on[0].task_key}'): remove depends_on or the continuous block")
        if (task.max_retries not in (None, 0) or task.retry_on_timeout) and mode != "ON_FAILURE":
            what = "max_retries" if task.max_retries not in (None, 0) else "retry_on_timeout"
            raise _error(loaded, f"tasks[{i}].{what}",
                         f"a continuous job retries tasks only with continuous.task_retry_mode: ON_FAILURE "
                         f"(this one's is {mode}; task '{task.task_key}'): set it, or remove {what} and "
                         "let failed runs restart with exponential back-off")


def retry_mode(settings) -> str:
    """`continuous.task_retry_mode` of a continuous job: NEVER when unset (the API field's default)."""
    mode = settings.continuous.task_retry_mode if settings.continuous is not None else None
    return mode.value if mode is not None else "NEVER"


def job_trigger(loaded, *, poll_seconds: float = 2.0, clock: Callable[[], float] = time.time):
    """The one trigger a job has (CronTrigger, PeriodicTrigger, FileArrivalTrigger,
    ContinuousTrigger), or None for a job started only by hand. Raises JobSpecError
    (naming file and field) for something that cannot be used locally."""
    s = loaded.settings
    present = [name for name in ("schedule", "trigger", "continuous") if getattr(s, name) is not None]
    if len(present) > 1:
        raise _error(loaded, present[1], f"a job has one of schedule, trigger and continuous; "
                                         f"this one has {' and '.join(present)}")
    if not present:
        return None
    paused = value(getattr(s, present[0]).pause_status) == "PAUSED"
    try:
        if s.schedule is not None:
            where = "schedule.timezone_id"
            zone(s.schedule.timezone_id)
            where = "schedule.quartz_cron_expression"
            return CronTrigger(s.schedule.quartz_cron_expression, s.schedule.timezone_id, paused)
        if s.continuous is not None:
            check_continuous(loaded)
            return ContinuousTrigger(paused=paused)
        t = s.trigger
        if t.file_arrival is not None:
            where = "trigger.file_arrival.url"
            fa = t.file_arrival
            watcher = FileArrivalWatcher(
                fa.url, min_time_between_triggers_seconds=fa.min_time_between_triggers_seconds,
                wait_after_last_change_seconds=fa.wait_after_last_change_seconds,
                state_file=state_file_for(loaded.key, _local(fa.url)), clock=clock)
            return FileArrivalTrigger(watcher, poll_seconds=poll_seconds, paused=paused)
        if t.periodic is not None:
            where = "trigger.periodic"
            return PeriodicTrigger(t.periodic.interval, value(t.periodic.unit), paused)
    except TriggerError as exc:
        raise _error(loaded, where, str(exc)) from None
    kinds = [name for name in ("table_update", "job_completion", "model", "sql_condition")
             if getattr(s.trigger, name, None) is not None]
    raise _error(loaded, f"trigger.{kinds[0] if kinds else ''}".rstrip("."),
                 "only file_arrival and periodic triggers run locally (the rest deploy as they are)")


def _local(url: str) -> str:
    from course.platform.localpaths import to_local

    try:
        return to_local(url)
    except ValueError as exc:
        raise TriggerError(str(exc)) from None


# ---------------------------------------------------------------- the loop

def watch(trigger, run: Callable[[Fire], bool], *, say: Say = print, clock: Callable[[], float] = time.time,
          sleep: Callable[[float], None] = time.sleep, max_runs: int | None = None) -> int:
    """Wait for the trigger, call `run(fire)` (True when the run succeeded), repeat.

    Returns how many runs were started. Stops after `max_runs`, when the trigger has
    nothing left to wait for, or by KeyboardInterrupt (the caller's Ctrl-C).
    """
    started = 0
    while max_runs is None or started < max_runs:
        fire = trigger.wait(clock, sleep, say)
        if fire is None:
            break
        started += 1
        succeeded = run(fire)
        trigger.finished(succeeded, say)
    return started
