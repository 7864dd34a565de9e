"""ISO 8601 durations, dates and repeating intervals, and Spring-style cron expressions, as BPMN timers use
them; all times in epoch ms.

A time cycle is either an ISO 8601 repeating interval (``R5/PT10S``, ``R/PT1M``, ``R3/2026-01-01T00:00:00Z/P1D``)
or a cron expression as Zeebe reads it with Spring's ``CronExpression``: six fields, seconds first
(``0 0 9-17 * * MON-FRI``), or one of the macros (``@daily``). Cron cycles repeat forever, in UTC.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

from croniter import croniter
from croniter.croniter import CroniterError

__all__ = ["MAX_DURATION_MS", "Cycle", "TimerSyntaxError", "after", "due_at", "duration_ms", "next_due", "parse_cycle"]

# The longest duration the engine schedules: any deadline (now + duration) then stays below 2**63 ms, an
# int64 on the wire and in SQLite, for the next 146 million years.
MAX_DURATION_MS = 2**62

_DURATION = re.compile(
    r"^(?P<sign>-)?P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_CYCLE = re.compile(r"^R(?P<count>\d*)/(?P<rest>.+)$")
# Spring's macros; ``@reboot`` and the like are not Spring's.
_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


class TimerSyntaxError(ValueError):
    """A timer value that is not an ISO 8601 duration, date or repeating interval, nor a cron expression."""


def duration_ms(value: Any) -> int:
    """Milliseconds of an ISO 8601 duration (``PT5S``, ``P1DT2H``) or a timedelta."""
    if isinstance(value, dt.timedelta):
        return int(value.total_seconds() * 1000)
    text = str(value).strip()
    match = _DURATION.match(text)
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise TimerSyntaxError(f"Invalid duration format '{text}' for expression")
    parts = {k: float(v) for k, v in match.groupdict().items() if v and k != "sign"}
    days = parts.get("years", 0) * 365 + parts.get("months", 0) * 30 + parts.get("weeks", 0) * 7 + parts.get("days", 0)
    seconds = days * 86400 + parts.get("hours", 0) * 3600 + parts.get("minutes", 0) * 60 + parts.get("seconds", 0)
    if not math.isfinite(seconds) or seconds * 1000 > MAX_DURATION_MS:
        raise TimerSyntaxError(f"Invalid duration '{text[:60]}' for expression: longer than {MAX_DURATION_MS} ms")
    ms = round(seconds * 1000)
    return -ms if match.group("sign") else ms


def after(start: int, value: Any) -> int:
    """Epoch ms one ISO 8601 duration (or timedelta, or FEEL years-and-months duration) after ``start``.

    As Zeebe's ``Interval`` adds a period, years and months are calendar months (January 31st plus a month
    is the last day of February), in UTC; weeks, days and times are exact.
    """
    exact_ms = duration_ms(value)  # checks the syntax and the bound
    if isinstance(value, dt.timedelta):
        return start + exact_ms
    text = str(value).strip()
    match = _DURATION.match(text)
    assert match is not None
    parts = {k: float(v) for k, v in match.groupdict().items() if v and k != "sign"}
    sign = -1 if match.group("sign") else 1
    months = int(parts.get("years", 0)) * 12 + int(parts.get("months", 0))
    if not months:
        return start + exact_ms
    try:
        moment = _plus_months(dt.datetime.fromtimestamp(start / 1000, dt.UTC), sign * months)
    except (ValueError, OverflowError) as exc:
        raise TimerSyntaxError(f"Invalid duration '{text[:60]}' for expression: beyond the year 9999") from exc
    exact = dt.timedelta(
        weeks=parts.get("weeks", 0),
        days=parts.get("days", 0),
        hours=parts.get("hours", 0),
        minutes=parts.get("minutes", 0),
        seconds=parts.get("seconds", 0),
    )
    try:
        return round((moment + sign * exact).timestamp() * 1000)
    except OverflowError as exc:
        raise TimerSyntaxError(f"Invalid duration '{text[:60]}' for expression: beyond the year 9999") from exc


def _plus_months(moment: dt.datetime, months: int) -> dt.datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return moment.replace(year=year, month=month + 1, day=min(moment.day, last_day))


def due_at(value: Any) -> int:
    """Epoch ms of an ISO 8601 date and time (``2025-01-01T10:00:00Z``); a date without a zone is UTC."""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        # FEEL's zone ids (`@Europe/Berlin`) are not ISO; the offset forms are.
        text = re.sub(r"\[.*\]$", "", text)
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError as exc:
            raise TimerSyntaxError(f"Invalid date-time format '{value}' for expression") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Cycle:
    """A parsed time cycle: how often it fires (-1: forever) and when, after a given moment."""

    text: str
    repetitions: int
    interval: str = ""  # ISO cycles: the duration between two times it fires; "" for cron
    start: int | None = None  # ISO cycles with a start date
    cron: str | None = None

    @property
    def interval_ms(self) -> int:
        """The interval as it is from now (months vary: only for the records)."""
        return duration_ms(self.interval) if self.interval else 0

    def first_due(self, now: int) -> int:
        """When the cycle first fires, for a timer opened at ``now``: as Zeebe's ``Interval`` has it, at its
        start date, or at once if that has passed; without one, one interval on (cron: its next match)."""
        if self.cron is not None:
            return _cron_after(self.cron, now)
        if self.start is not None:
            return max(self.start, now)
        return after(now, self.interval)

    def next_due(self, last_due: int, now: int) -> int:
        """When it fires next, having fired at ``last_due``: one interval on, or (as Zeebe re-anchors a
        cycle that missed occurrences, say while the engine was down) one interval after ``now`` if that
        has passed; a cron cycle's next match after both."""
        if self.cron is not None:
            return _cron_after(self.cron, max(last_due, now))
        natural = after(last_due, self.interval)
        return natural if natural > now else after(now, self.interval)


def _cron_after(expression: str, after: int) -> int:
    moment = dt.datetime.fromtimestamp(after / 1000, dt.UTC)
    following = croniter(expression, moment, second_at_beginning=True, day_or=False).get_next(dt.datetime)
    return int(following.timestamp() * 1000)


def parse_cycle(value: Any) -> Cycle:
    """The cycle of ``R3/PT10S``, ``R/2026-01-01T00:00:00Z/P1D`` or a cron expression; raises TimerSyntaxError."""
    text = str(value).strip()
    match = _CYCLE.match(text)
    if match:
        count = match.group("count")
        if len(count) > 18:
            raise TimerSyntaxError(f"Invalid time cycle format '{text[:60]}' for expression: too many repetitions")
        repetitions = int(count) if count else -1
        parts = match.group("rest").split("/")
        if len(parts) == 1:
            return Cycle(text, repetitions, _checked(parts[0]))
        if len(parts) == 2 and not parts[0].startswith("P"):
            return Cycle(text, repetitions, _checked(parts[1]), start=due_at(parts[0]))
        raise TimerSyntaxError(f"Invalid time cycle format '{text}' for expression")
    fields = text.split()
    if (len(fields) == 6 or (len(fields) == 1 and text.lower() in _MACROS)) and croniter.is_valid(
        text, second_at_beginning=True
    ):
        try:
            croniter(text, dt.datetime(2000, 1, 1, tzinfo=dt.UTC), second_at_beginning=True, day_or=False).get_next()
        except (CroniterError, ValueError) as exc:
            raise TimerSyntaxError(f"Invalid time cycle format '{text}' for expression") from exc
        return Cycle(text, -1, cron=text)
    raise TimerSyntaxError(f"Invalid time cycle format '{text}' for expression")


def next_due(due: int, repetitions: int, cycle_text: str, interval_ms: int, now: int) -> int | None:
    """When a timer that fired at ``due`` (at ``now``) fires again, or None when that was its last time (a
    duration or date timer, or a cycle's last repetition)."""
    if repetitions == 0 or repetitions == 1:
        return None
    if cycle_text:
        return parse_cycle(cycle_text).next_due(due, now)
    # A timer stored before cycles kept their text: its interval in ms.
    if interval_ms <= 0:
        return None
    natural = due + interval_ms
    return natural if natural > now else now + interval_ms


def _checked(interval: str) -> str:
    """An ISO cycle's interval, once it is known to be a duration (raises TimerSyntaxError)."""
    duration_ms(interval)
    return interval
