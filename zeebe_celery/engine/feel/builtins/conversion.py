"""FEEL's conversion functions: ``string``, ``number`` and the temporal constructors."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from zeebe_celery.engine.feel.serialize import feel_string
from zeebe_celery.engine.feel.temporal import (
    YearsMonthsDuration,
    parse_date,
    parse_datetime,
    parse_duration,
    parse_time,
    zone_of,
)

from ._args import integer, text

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def to_number(from_: Any, grouping: Any = None, decimal_separator: Any = None) -> int | Decimal | None:
    value = text(from_)
    if grouping is not None:
        value = value.replace(text(grouping), "")
    if decimal_separator is not None:
        value = value.replace(text(decimal_separator), ".")
    if not _NUMBER.fullmatch(value):
        return None
    exact = Decimal(value)
    return int(exact) if re.fullmatch(r"[+-]?\d+", value) else exact


def to_date(*args: Any) -> date | None:
    if len(args) == 3:
        return date(integer(args[0]), integer(args[1]), integer(args[2]))
    (value,) = args
    if type(value) is datetime:
        return value.date()
    if type(value) is date:
        return value
    return parse_date(text(value))


def to_time(*args: Any) -> time | None:
    if len(args) in (3, 4):
        hour, minute, second = (integer(a) for a in args[:3])
        return time(hour, minute, second)
    (value,) = args
    if type(value) is datetime:
        return value.timetz()
    if type(value) is time:
        return value
    return parse_time(text(value))


def to_datetime(*args: Any) -> datetime | None:
    if len(args) == 2:
        day, moment = args
        if type(day) is date and type(moment) is time:
            return datetime.combine(day, moment)
        if type(day) is datetime and type(moment) is str:
            zone = zone_of(None, moment)
            return day.astimezone(zone) if day.tzinfo else day.replace(tzinfo=zone)
        raise TypeError("date and time() takes a date and a time")
    (value,) = args
    if type(value) is datetime:
        return value
    if type(value) is date:
        return datetime(value.year, value.month, value.day)
    return parse_datetime(text(value))


def years_and_months(from_: Any, to: Any) -> YearsMonthsDuration:
    start, end = to_date(from_), to_date(to)
    if start is None or end is None:
        raise TypeError("years and months duration() takes two dates")
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and end.day < start.day:
        months -= 1
    elif months < 0 and end.day > start.day:
        months += 1
    return YearsMonthsDuration(months)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "string": lambda from_: feel_string(from_),
    "number": to_number,
    "date": to_date,
    "time": to_time,
    "date and time": to_datetime,
    "duration": lambda from_: parse_duration(text(from_)),
    "years and months duration": years_and_months,
}
