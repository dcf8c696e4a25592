"""Quartz cron schedules: their grammar, their next fire times and a reading in words.

Grammar (``validate_quartz_cron``): the shape of an expression, checked field by
field; the job spec calls it so a bad schedule is an error naming the field.

Fire times (``next_fire_times``): croniter does the field arithmetic; this module
translates Quartz to it (day-of-week 1–7 = SUN–SAT becomes 0–6, ``?`` becomes
``*``) and computes what croniter lacks or spells differently itself: the year
field, ``LW``, ``L-n`` and ``nW`` (resolved to one day per month, then croniter
finds the times of day). Choices, after the Quartz and Databricks docs on daylight
saving time ("a job may be skipped or appear not to fire for an hour or two"):

* a wall-clock time that does not exist (spring forward) does not fire that day;
* a wall-clock time that happens twice (fall back) fires once, the first time;
* fire times are at least 10 s apart (Databricks' minimum between scheduled runs).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator

__all__ = ["TriggerError", "validate_quartz_cron", "next_fire_times", "describe_cron", "describe_schedule",
           "zone", "MIN_SECONDS_BETWEEN_RUNS"]

MIN_SECONDS_BETWEEN_RUNS = 10
_MAX_YEAR = 2099          # Quartz's last year
_UTC = timezone.utc


class TriggerError(ValueError):
    """A schedule or trigger that cannot be used: the message names the field and the problem."""


# ---------------------------------------------------------------- the grammar

_MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
_DAYS = "SUN MON TUE WED THU FRI SAT".split()
_CRON = [("seconds", 0, 59, None), ("minutes", 0, 59, None), ("hours", 0, 23, None),
         ("day-of-month", 1, 31, None), ("month", 1, 12, _MONTHS), ("day-of-week", 1, 7, _DAYS),
         ("year", 1970, 2099, None)]


def _cron_value(text: str, name: str, lo: int, hi: int, names) -> int:
    if names and text.upper() in names:
        return names.index(text.upper()) + 1
    if not text.isdigit():
        raise ValueError(f"{name}: {text!r} is not a number" + (f" or a name ({names[0]}–{names[-1]})" if names else ""))
    if not lo <= int(text) <= hi:
        raise ValueError(f"{name}: {text} is out of range {lo}–{hi}")
    return int(text)


# Quartz's largest step per field, and how its message names the limit ("Increment > 60 : 120").
_MAX_STEP = {"seconds": (59, 60), "minutes": (59, 60), "hours": (23, 24), "day-of-month": (31, 31),
             "month": (12, 12), "day-of-week": (7, 7)}
_MAX_LAST_DAY_OFFSET = 30   # Quartz: "Offset from last day must be <= 30"


def _dom_special(item: str, name: str, lo: int, hi: int, names) -> bool:
    """Day-of-month 'L', 'LW', 'L-n', 'L-nW' and 'nW' (Quartz's forms); False for anything else."""
    m = re.fullmatch(r"L(?:-(\d+))?(W?)|(\d+)W", item, re.I)
    if not m:
        return False
    if m.group(1) is not None and int(m.group(1)) > _MAX_LAST_DAY_OFFSET:
        raise ValueError(f"{name}: {item!r}: the offset from the last day must be <= {_MAX_LAST_DAY_OFFSET} (as in Quartz)")
    if m.group(3) is not None:
        if int(m.group(3)) > hi:
            raise ValueError(f"{name}: {item!r}: 'W' does not make sense with values larger than {hi} (as in Quartz)")
        _cron_value(m.group(3), name, lo, hi, names)
    return True


def _cron_item(item: str, name: str, lo: int, hi: int, names) -> None:
    if name == "day-of-month" and _dom_special(item, name, lo, hi, names):
        return
    if name == "day-of-week":
        m = re.fullmatch(r"(\w+)(#([1-5])|L)", item, re.I)
        if item.upper() == "L":
            return
        if m:
            _cron_value(m.group(1), name, lo, hi, names)
            return
        if "#" in item:
            raise ValueError(f"{name}: {item!r}: '#' takes a weekday and a week 1–5, e.g. 6#3")
    base, _, step = item.partition("/")
    if step and not (step.isdigit() and int(step) > 0):
        raise ValueError(f"{name}: {item!r}: the step after '/' must be a positive number")
    if step and name in _MAX_STEP and int(step) > _MAX_STEP[name][0]:
        raise ValueError(f"{name}: {item!r}: the step {int(step)} is larger than the field "
                         f"(Quartz: 'Increment > {_MAX_STEP[name][1]} : {int(step)}')")
    if base == "*":
        return
    a, dash, b = base.partition("-")
    _cron_value(a, name, lo, hi, names)
    if dash:
        _cron_value(b, name, lo, hi, names)


def validate_quartz_cron(expr: str) -> None:
    """Check the shape of a Quartz cron expression; raise ValueError saying what is wrong.

    Fields: seconds minutes hours day-of-month month day-of-week [year];
    exactly one of day-of-month / day-of-week is ``?``; day-of-week is 1–7 = SUN–SAT.
    """
    parts = str(expr).split()
    if len(parts) not in (6, 7):
        raise ValueError(f"expected 6 or 7 fields (seconds minutes hours day-of-month month "
                         f"day-of-week [year]), got {len(parts)}: {expr!r}")
    if (parts[3] == "?") == (parts[5] == "?"):
        raise ValueError(f"exactly one of day-of-month ({parts[3]!r}) and day-of-week "
                         f"({parts[5]!r}) must be '?', e.g. '0 0 2 * * ?'")
    for text, (name, lo, hi, names) in zip(parts, _CRON):
        if name == "day-of-month" and "," in text and "L" in text.upper():
            raise ValueError(f"{name}: {text!r}: 'L' and 'LW' cannot be combined with other days "
                             "of the month (as in Quartz)")
        if text == "?":
            if name not in ("day-of-month", "day-of-week"):
                raise ValueError(f"{name}: '?' is only allowed in day-of-month or day-of-week")
            continue
        for item in text.split(","):
            if not item:
                raise ValueError(f"{name}: empty list item in {text!r}")
            _cron_item(item, name, lo, hi, names)


# ---------------------------------------------------------------- fire times


@dataclass(frozen=True)
class _Plan:
    expr: str                                   # croniter: sec min hour dom month dow
    years: frozenset[int] | None = None         # None: any year
    day_rule: Callable[[int, int], list[int]] | None = None  # (year, month) -> days, for LW, L-n(W), nW


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


def _item_days(item: str, year: int, month: int) -> set[int]:
    """The days of one day-of-month list item in a month: 'L-nW', 'nW', '5', '1-10/3', '*/2'."""
    last = _last_day(year, month)
    if m := re.fullmatch(r"L(?:-(\d+))?(W?)", item):
        day = last - int(m.group(1) or 0)
        if day < 1:
            return set()
        near = _weekday_near(year, month, day) if m.group(2) else day
        return {near} if near is not None else set()
    if m := re.fullmatch(r"(\d+)W", item):
        near = _weekday_near(year, month, int(m.group(1)))
        return {near} if near is not None else set()
    base, _, step = item.partition("/")
    a, dash, b = base.partition("-")
    first = 1 if a == "*" else int(a)
    end = int(b) if dash else (last if step or a == "*" else first)
    return {d for d in range(first, end + 1, int(step or 1)) if d <= last}


def _day_rule(text: str):
    """(year, month) -> the days a day-of-month with 'L' or 'W' fires on (Quartz allows 'nW'
    in a list with plain days: '2W,16' is the weekday nearest the 2nd, and the 16th)."""
    items = text.upper().split(",")
    return lambda y, mo: sorted(set().union(*(_item_days(i, y, mo) for i in items)))


def _plan(expr: str) -> _Plan:
    try:
        validate_quartz_cron(expr)
    except ValueError as exc:
        raise TriggerError(str(exc)) from None
    parts = str(expr).split()
    sec, minute, hour, dom, month, dow = parts[:6]
    years = _years(parts[6]) if len(parts) == 7 else None
    rule = None
    if re.search(r"L.|W", dom.upper()):
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
        days = plan.day_rule(year, month) if plan.years is None or year in plan.years else []
        for day in days:
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
    (r"^L-(\d+)W$", "dom", "the weekday nearest {0} day(s) before the last day of the month"),
    (r"^(\d+)W$", "dom", "the weekday nearest day {0}"),
    (r"^L$", "dow", "SAT, the last day of the week"),
    (r"^(\w+?)L$", "dow", "the last {0} of the month"),
    (r"^(\w+)#([1-5])$", "dow", "the {1} {0} of the month"),
]


_ORDINALS = {"1": "first", "2": "second", "3": "third", "4": "fourth", "5": "fifth"}


def describe_cron(expr: str) -> str:
    """A plain reading of the common shapes; anything else is just 'a Quartz schedule'."""
    parts = expr.split()
    if len(parts) in (6, 7) and all(p.isdigit() for p in parts[:3]) and parts[3:6] in (["*", "*", "?"], ["?", "*", "*"]):
        return f"every day at {int(parts[2]):02d}:{int(parts[1]):02d}:{int(parts[0]):02d}"
    if len(parts) in (6, 7) and all(p.isdigit() for p in parts[:3]) and parts[3] == "?" and parts[4] == "*":
        return f"at {int(parts[2]):02d}:{int(parts[1]):02d} on days of week {parts[5]}"
    return "a Quartz schedule"


def describe_schedule(expr: str) -> str:
    """A reading of a Quartz expression: ``describe_cron``'s for common shapes, else field by field."""
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
