"""FEEL's boolean helpers and clock functions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from zeebe_celery.engine.feel.clock import current_time
from zeebe_celery.engine.feel.errors import FeelEvaluationError
from zeebe_celery.engine.feel.serialize import feel_string

from .conversion import to_date

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _day(value: Any) -> date:
    day = to_date(value)
    if day is None:
        raise TypeError("expected a date")
    return day


def assert_(value: Any, condition: Any, cause: Any = None) -> Any:
    if condition is not True:
        message = cause if isinstance(cause, str) else f"assertion failed for value {feel_string(value)}"
        raise FeelEvaluationError(message)
    return value


def _last_day_of_month(value: Any) -> int:
    day = _day(value)
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return (following - date(day.year, day.month, 1)).days


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "is defined": lambda value: value is not None,
    "get or else": lambda value, default: default if value is None else value,
    "assert": assert_,
    # The clock is UTC: the engine runs without a local zone of its own.
    "now": current_time,
    "today": lambda: current_time().date(),
    "day of week": lambda date: _DAYS[_day(date).weekday()],
    "day of year": lambda date: _day(date).timetuple().tm_yday,
    "week of year": lambda date: _day(date).isocalendar()[1],
    "month of year": lambda date: _MONTHS[_day(date).month - 1],
    "last day of month": _last_day_of_month,
}
