"""FEEL's boolean helpers, ``is`` and the clock and calendar functions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from zeebe_celery.engine.feel.clock import current_time
from zeebe_celery.engine.feel.errors import FeelEvaluationError
from zeebe_celery.engine.feel.serialize import feel_string
from zeebe_celery.engine.feel.values import equals, kind_of

from .conversion import date_from
from .signature import Overload, overload

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
    day = date_from(value) if type(value) in (date, datetime) else None
    if not isinstance(day, date):
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


def _is(value1: Any, value2: Any) -> bool:
    """DMN's ``is``: the same kind and equal, so a date is not a date and time at midnight."""
    if kind_of(value1) != kind_of(value2):
        return False
    if type(value1) is datetime or type(value1).__name__ == "time":
        return bool(value1 == value2) and value1.tzinfo == value2.tzinfo
    return equals(value1, value2) is True


def _not(negand: Any) -> bool | None:
    return (not negand) if type(negand) is bool else None


def _on_date(fn: Any) -> list[Overload]:
    return [overload(lambda date: fn(_day(date)), "date")]


FUNCTIONS: dict[str, list[Overload]] = {
    "not": [overload(_not, "negand")],
    "is": [overload(_is, "value1", "value2")],
    "is defined": [overload(lambda value: value is not None, "value")],
    "get or else": [overload(lambda value, default: default if value is None else value, "value", "default")],
    "assert": [overload(assert_, "value", "condition", "cause?")],
    # The clock is UTC: the engine runs without a local zone of its own.
    "now": [overload(current_time)],
    "today": [overload(lambda: current_time().date())],
    "day of week": _on_date(lambda day: _DAYS[day.weekday()]),
    "day of year": _on_date(lambda day: day.timetuple().tm_yday),
    "week of year": _on_date(lambda day: day.isocalendar()[1]),
    "month of year": _on_date(lambda day: _MONTHS[day.month - 1]),
    "last day of month": _on_date(lambda day: _last_day_of_month(day)),
}
