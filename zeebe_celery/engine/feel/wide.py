"""Temporal values beyond what Python's ``datetime`` holds: years before 1 or after 9999, and fractions of a
second below a microsecond, both of which FEEL (java.time) has.

The Gregorian calendar repeats every 400 years, weekdays included (146,097 days, a whole number of weeks).
A :class:`WideTemporal` is a Python date, datetime or time (its date in the years 2000-2399), a count of
400-year cycles and the nanoseconds below its microseconds, so its arithmetic is Python's, shifted.
A value that Python can hold is always a plain Python value again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

__all__ = ["CYCLE_DAYS", "WideTemporal", "make_date", "nanos_of", "split", "widen"]

CYCLE_DAYS = 146_097
_CYCLE = timedelta(days=CYCLE_DAYS)
_BASE = 2000


@dataclass(frozen=True)
class WideTemporal:
    """``value`` moved by ``cycles`` of 400 years, plus ``nanos`` (0-999) below its microseconds."""

    cycles: int
    value: date | time
    nanos: int = 0

    @property
    def year(self) -> int:
        assert isinstance(self.value, date)
        return self.value.year + 400 * self.cycles


def split(value: Any) -> tuple[int, Any]:
    """A date or date-time, plain or wide, as (cycles, a value in the years 2000-2399); a time as (0, it).

    The nanoseconds are not part of it: see :func:`nanos_of`.
    """
    if isinstance(value, WideTemporal):
        return value.cycles, value.value
    if not isinstance(value, date):
        return 0, value
    shift = (value.year - _BASE) // 400
    return shift, value - shift * _CYCLE


def nanos_of(value: Any) -> int:
    return value.nanos if isinstance(value, WideTemporal) else 0


def widen(value: Any, cycles: int, nanos: int = 0) -> Any:
    """``value`` moved by ``cycles`` of 400 years, with ``nanos``: a plain value when Python holds it."""
    if cycles and isinstance(value, date):
        shift = (value.year - _BASE) // 400
        value, cycles = value - shift * _CYCLE, cycles + shift
        if 1 <= value.year + 400 * cycles <= 9999:
            value, cycles = value + cycles * _CYCLE, 0
    if not cycles and not nanos:
        return value
    return WideTemporal(cycles, value, nanos)


def make_date(year: int, month: int, day: int) -> Any:
    """The date, of any year java.time has; raises ValueError for a date that does not exist."""
    if 1 <= year <= 9999:
        return date(year, month, day)
    if abs(year) > 999_999_999:
        raise ValueError(f"year {year} is beyond FEEL's range")  # java.time's
    shift = (year - _BASE) // 400
    return widen(date(year - 400 * shift, month, day), shift)
