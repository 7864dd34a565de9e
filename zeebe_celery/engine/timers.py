"""ISO 8601 durations, dates and repeating intervals, as BPMN timers use them; all times in epoch ms."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

__all__ = ["MAX_DURATION_MS", "TimerSyntaxError", "cycle", "due_at", "duration_ms"]

# The longest duration the engine schedules: any deadline (now + duration) then stays below 2**63 ms, an
# int64 on the wire and in SQLite, for the next 146 million years.
MAX_DURATION_MS = 2**62

_DURATION = re.compile(
    r"^(?P<sign>-)?P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_CYCLE = re.compile(r"^R(?P<count>\d*)/(?P<rest>.+)$")


class TimerSyntaxError(ValueError):
    """A timer value that is not an ISO 8601 duration, date or repeating interval."""


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


def cycle(value: Any) -> tuple[int, int]:
    """``(repetitions, interval ms)`` of ``R3/PT10S``; ``R/PT1M`` repeats forever (-1)."""
    text = str(value).strip()
    match = _CYCLE.match(text)
    if not match:
        raise TimerSyntaxError(f"Invalid time cycle format '{text}' for expression")
    count = match.group("count")
    if len(count) > 18:
        raise TimerSyntaxError(f"Invalid time cycle format '{text[:60]}' for expression: too many repetitions")
    return (int(count) if count else -1), duration_ms(match.group("rest"))
