"""Dates and date-times whose year Python's ``datetime`` cannot hold (before 1, after 9999), as FEEL allows.

The Gregorian calendar repeats every 400 years, weekdays included (146,097 days, a whole number of weeks).
A :class:`FarDate` is a Python date or datetime in the years 2000-2399 plus a count of 400-year cycles,
so its arithmetic is Python's, shifted. A value whose year fits is always a plain Python value again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

__all__ = ["CYCLE_DAYS", "FarDate", "far", "make_date", "split"]

CYCLE_DAYS = 146_097
_CYCLE = timedelta(days=CYCLE_DAYS)
_BASE = 2000


@dataclass(frozen=True)
class FarDate:
    """A date (``value`` a date) or date-time (``value`` a datetime) ``cycles`` times 400 years from ``value``."""

    cycles: int
    value: date

    @property
    def year(self) -> int:
        return self.value.year + 400 * self.cycles

    def __str__(self) -> str:
        return self.value.isoformat()  # replaced by the serializer's text; kept for repr-like uses


def split(value: date | FarDate) -> tuple[int, date]:
    """A plain or far date as (cycles, a value in the years 2000-2399)."""
    if isinstance(value, FarDate):
        return value.cycles, value.value
    shift = (value.year - _BASE) // 400
    return shift, value - shift * _CYCLE


def far(value: Any, cycles: int) -> Any:
    """``value`` moved by ``cycles`` of 400 years: a plain value if its year fits Python, else a FarDate."""
    if not cycles:
        return value
    shift = (value.year - _BASE) // 400
    value, cycles = value - shift * _CYCLE, cycles + shift
    year = value.year + 400 * cycles
    if 1 <= year <= 9999:
        return value + cycles * _CYCLE
    return FarDate(cycles, value)


def make_date(year: int, month: int, day: int) -> Any:
    """The date, of any year; raises ValueError for a month or day that does not exist."""
    if 1 <= year <= 9999:
        return date(year, month, day)
    shift = (year - _BASE) // 400
    return far(date(year - 400 * shift, month, day), shift)
