"""When a job starts on its own: schedules, file arrival and continuous jobs, locally.

Databricks starts a job from at most one of ``schedule`` (Quartz cron),
``trigger`` (``file_arrival`` or ``periodic``) and ``continuous``. This module
decides *when*; the caller decides what a run is (``watch(trigger, run)``), so
everything here runs with an injected clock and sleep and no job at all.

Quartz cron (``next_fire_times``): croniter does the field arithmetic; this module
translates Quartz to it (day-of-week 1–7 = SUN–SAT becomes 0–6, ``?`` becomes
``*``) and computes what croniter lacks or spells differently itself: the year
field, ``LW``, ``L-n`` and ``nW`` (resolved to one day per month, then croniter
finds the times of day). Choices, after the Quartz and Databricks docs on daylight
saving time ("a job may be skipped or appear not to fire for an hour or two"):

* a wall-clock time that does not exist (spring forward) does not fire that day;
* a wall-clock time that happens twice (fall back) fires once, the first time;
* fire times are at least 10 s apart (Databricks' minimum between scheduled runs).

File arrival (``FileArrivalWatcher``): polls a folder (``/Volumes/…`` and ``dbfs:/``
mapped as notebooks map them) and fires when files appear that it has not seen.
What it has seen is kept under ``<DAY7_HOME>/triggers/``, so a restart does not
fire again for old files; the first ``start()`` only records what is there (building
a watcher touches nothing, so `runner.py schedule` changes no state). Changes to
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
from typing import Callable, Iterator

__all__ = ["TriggerError", "Fire", "next_fire_times", "describe_schedule", "MIN_SECONDS_BETWEEN_RUNS",
           "FileArrivalWatcher", "FileArrival", "Backoff", "CronTrigger", "PeriodicTrigger",
           "FileArrivalTrigger", "ContinuousTrigger", "job_trigger", "check_continuous", "watch"]

MIN_SECONDS_BETWEEN_RUNS = 10
_MAX_YEAR = 2099          # Quartz's last year
_UTC = timezone.utc


class TriggerError(ValueError):
    """A schedule or trigger that cannot be used: the message names the field and the problem."""


# ---------------------------------------------------------------- Quartz cron

_DAYS = "SUN MON TUE WED THU FRI SAT".split()


@dataclass(frozen=True)
class _Plan:
    expr: str                                   # croniter: sec min hour dom month dow
    years: frozenset[int] | None = None         # None: any year
    day_rule: Callable[[int, int], int | None] | None = None  # (year, month) -> day, for LW, L-n, nW


def _quartz_day(text: str) -> int:
    return _DAYS.index(text.upper()) + 1 if text.upper() in _DAYS else int(text)


def _dow_items(text: str) -> str:
    """Quartz day-of-week (1–7 = SUN–SAT) as croniter's (0–6 = SUN–SAT)."""
    up = text.upper()
    if up == "?" or up == "*":
        return "*"
    if up == "L":                               # 'L' alone is the last day of the week: Saturday
        return "6"
    m = re.fullmatch(r"(\w+?)(L|#([1-5]))", up)
    if m and ("," not in up):
        day = _quartz_day(m.group(1)) - 1
        return f"L{day}" if m.group(2) == "L" else f"{day}#{m.group(3)}"
    if "L" in up or "#" in up:
        raise TriggerError(f"day-of-week {text!r}: 'L' and '#' must stand alone, not in a list (as in Quartz)")
    days: set[int] = set()
    for item in up.split(","):
        base, _, step = item.partition("/")
        if base == "*":
            first, last = 1, 7
        else:
            a, dash, b = base.partition("-")
            first = _quartz_day(a)
            last = _quartz_day(b) if dash else (7 if step else first)
        span = (last - first) % 7                # FRI-MON wraps round the week, as in Quartz
        days.update((first - 1 + k) % 7 + 1 for k in range(0, span + 1, int(step or 1)))
    return ",".join(str(d - 1) for d in sorted(days))


def _years(text: str) -> frozenset[int] | None:
    if text == "*":
        return None
    years: set[int] = set()
    for item in text.split(","):
        base, _, step = item.partition("/")
        a, dash, b = base.partition("-")
        first = 1970 if a == "*" else int(a)
        last = int(b) if dash else (_MAX_YEAR if step or a == "*" else first)
        years.update(range(first, last + 1, int(step or 1)))
    return frozenset(years)


def _last_day(year: int, month: int) -> int:
    nxt = datetime(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def _weekday_near(year: int, month: int, day: int) -> int | None:
    """Quartz 'nW': the weekday nearest day n, never leaving the month."""
    last = _last_day(year, month)
    if day > last:
        return None
    wd = datetime(year, month, day).weekday()  # MON=0 … SUN=6
    if wd == 5:
        return day - 1 if day > 1 else day + 2
    if wd == 6:
        return day + 1 if day < last else day - 2
    return day


def _day_rule(text: str):
    up = text.upper()
    if up == "LW":
        return lambda y, m: _weekday_near(y, m, _last_day(y, m))
    if m := re.fullmatch(r"L-(\d+)", up):
        back = int(m.group(1))
        return lambda y, mo: _last_day(y, mo) - back if _last_day(y, mo) - back >= 1 else None
    if m := re.fullmatch(r"(\d+)W", up):
        n = int(m.group(1))
        return lambda y, mo: _weekday_near(y, mo, n)
    return None


def _plan(expr: str) -> _Plan:
    from course.jobs.spec import validate_quartz_cron

    try:
        validate_quartz_cron(expr)
    except ValueError as exc:
        raise TriggerError(str(exc)) from None
    parts = str(expr).split()
    sec, minute, hour, dom, month, dow = parts[:6]
    years = _years(parts[6]) if len(parts) == 7 else None
    rule = None
    if re.search(r"L.|W", dom.upper()):
        if "," in dom:
            raise TriggerError(f"day-of-month {dom!r}: 'L' and 'W' must stand alone, not in a list (as in Quartz)")
        rule, dom = _day_rule(dom), "*"
    croniter_expr = " ".join([sec, minute, hour, "*" if dom == "?" else dom, month, _dow_items(dow)])
    return _Plan(croniter_expr, years, rule)


def _croniter(expr: str, start: datetime):
    from croniter import croniter

    try:
        return croniter(expr, start, second_at_beginning=True)
    except (ValueError, KeyError) as exc:  # the shape was checked: croniter lacks a feature
        raise TriggerError(f"cannot compute fire times for {expr!r} (as croniter: {exc})") from None


def _next_naive(it) -> datetime | None:
    from croniter import CroniterBadDateError

    try:
        return it.get_next(datetime)
    except CroniterBadDateError:  # e.g. 30 February: never
        return None


def _naive_times(plan: _Plan, start: datetime) -> Iterator[datetime]:
    """Wall-clock fire times strictly after `start` (naive), in order."""
    if plan.day_rule is None:
        it = _croniter(plan.expr, start)
        while (t := _next_naive(it)) is not None and t.year <= _MAX_YEAR:
            if plan.years is not None and t.year not in plan.years:
                later = [y for y in plan.years if y > t.year]
                if not later:
                    return
                it = _croniter(plan.expr, datetime(min(later), 1, 1) - timedelta(seconds=1))
                continue
            yield t
        return
    year, month = start.year, start.month
    while year <= _MAX_YEAR:
        day = plan.day_rule(year, month) if plan.years is None or year in plan.years else None
        if day is not None:
            midnight = datetime(year, month, day)
            it = _croniter(plan.expr, max(start, midnight - timedelta(seconds=1)))
            while (t := _next_naive(it)) is not None and t.date() == midnight.date():
                yield t
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def zone(timezone_id: str | None):
    """The IANA zone for a `timezone_id` (Java zone ids are IANA names; default UTC)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(timezone_id or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise TriggerError(f"unknown time zone {timezone_id!r} (an IANA name such as Europe/Amsterdam, "
                           "America/New_York or UTC)") from None


def next_fire_times(expr: str, timezone_id: str | None, after: datetime, count: int) -> list[datetime]:
    """The next `count` fire times of a Quartz cron expression strictly after `after`.

    Aware datetimes in the zone; fewer than `count` when the expression stops firing
    (a year list that ends, 30 February). Raises TriggerError for a bad expression or zone.
    """
    if after.tzinfo is None:
        raise ValueError("after must be a timezone-aware datetime")
    tz, plan = zone(timezone_id), _plan(expr)
    after_utc, out = after.astimezone(_UTC), []
    start = after.astimezone(tz).replace(tzinfo=None)
    last_utc = None
    for naive in _naive_times(plan, start):
        local = naive.replace(tzinfo=tz)       # fold=0: the first of two equal wall times
        utc = local.astimezone(_UTC)
        if utc.astimezone(tz).replace(tzinfo=None) != naive:
            continue                            # in a spring-forward gap: this time does not exist
        if utc <= after_utc or (last_utc and (utc - last_utc).total_seconds() < MIN_SECONDS_BETWEEN_RUNS):
            continue
        out.append(local)
        last_utc = utc
        if len(out) >= count:
            break
    return out


_SPECIAL_WORDS = [
    (r"^L$", "dom", "the last day of the month"),
    (r"^LW$", "dom", "the last weekday of the month"),
    (r"^L-(\d+)$", "dom", "{0} day(s) before the last day of the month"),
    (r"^(\d+)W$", "dom", "the weekday nearest day {0}"),
    (r"^L$", "dow", "SAT, the last day of the week"),
    (r"^(\w+?)L$", "dow", "the last {0} of the month"),
    (r"^(\w+)#([1-5])$", "dow", "the {1} {0} of the month"),
]


_ORDINALS = {"1": "first", "2": "second", "3": "third", "4": "fourth", "5": "fifth"}


def describe_schedule(expr: str) -> str:
    """A reading of a Quartz expression: course.practical's for common shapes, else field by field."""
    from course.practical import describe_cron

    parts = expr.split()
    said = describe_cron(expr)
    if said != "a Quartz schedule":
        special = _special_words(parts[5], "dow") if len(parts) > 5 else None
        if special is None and len(parts) > 5 and re.search(r"\d", parts[5]):
            special = "1=SUN … 7=SAT"
        return said + (f" ({special})" if special else "")
    if len(parts) == 6 and parts[0] == "0" and parts[1].isdigit() and parts[2:5] == ["*", "*", "*"] \
            and parts[5] == "?":
        return f"every hour at minute {int(parts[1])}"
    names = ["second", "minute", "hour", "day-of-month", "month", "day-of-week", "year"]
    words = []
    for name, text in zip(names, parts):
        if text in ("*", "?") or (name == "second" and text == "0"):
            continue
        kind = "dom" if name == "day-of-month" else "dow" if name == "day-of-week" else None
        special = _special_words(text, kind)
        words.append(f"{name} {special or text}" + (" (1=SUN … 7=SAT)" if kind == "dow" and not special else ""))
    return ", ".join(words) or "every second"


def _special_words(text: str, kind: str | None) -> str | None:
    """'6L' -> 'the last FRI of the month', 'LW' -> 'the last weekday of the month', …"""
    for pattern, where, template in _SPECIAL_WORDS:
        m = re.match(pattern, text.upper())
        if m and where == kind:
            try:
                args = [_DAYS[_quartz_day(g) - 1] if where == "dow" and i == 0
                        else _ORDINALS.get(g, g) if where == "dow" else g
                        for i, g in enumerate(m.groups())]
            except (ValueError, IndexError):
                return None
            return template.format(*args)
    return None


# ---------------------------------------------------------------- file arrival

def _state_dir() -> Path:
    from course import paths

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
        from course.runtime.localpaths import to_local

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
        if self._last is not None:
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

def _value(enum_or_str) -> str | None:
    return getattr(enum_or_str, "value", enum_or_str)


def _prefix(loaded) -> str:
    if loaded.bundle_name is not None or str(loaded.source).endswith((".yml", ".yaml")):
        return f"resources.jobs.{loaded.key}."
    try:
        return "settings." if "settings" in json.loads(Path(loaded.source).read_text(encoding="utf-8")) else ""
    except (OSError, ValueError):
        return ""


def _error(loaded, field_path: str, problem: str) -> Exception:
    from course.jobs.spec import JobSpecError

    return JobSpecError(loaded.source, _prefix(loaded) + field_path, problem)


def check_continuous(loaded) -> None:
    """A continuous job has no task dependencies and no retry policies (SEMANTICS)."""
    for i, task in enumerate(loaded.settings.tasks or []):
        if task.depends_on:
            raise _error(loaded, f"tasks[{i}].depends_on",
                         f"a continuous job cannot have task dependencies ('{task.task_key}' depends on "
                         f"'{task.depends_on[0].task_key}'): remove depends_on or the continuous block")
        if task.max_retries not in (None, 0) or task.retry_on_timeout:
            what = "max_retries" if task.max_retries not in (None, 0) else "retry_on_timeout"
            raise _error(loaded, f"tasks[{i}].{what}",
                         f"a continuous job cannot have retry policies (task '{task.task_key}'): "
                         "failed runs are restarted with exponential back-off instead")


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
    paused = _value(getattr(s, present[0]).pause_status) == "PAUSED"
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
            return PeriodicTrigger(t.periodic.interval, _value(t.periodic.unit), paused)
    except TriggerError as exc:
        raise _error(loaded, where, str(exc)) from None
    kinds = [name for name in ("table_update", "job_completion", "model", "sql_condition")
             if getattr(s.trigger, name, None) is not None]
    raise _error(loaded, f"trigger.{kinds[0] if kinds else ''}".rstrip("."),
                 "only file_arrival and periodic triggers run locally (the rest deploy as they are)")


def _local(url: str) -> str:
    from course.runtime.localpaths import to_local

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
