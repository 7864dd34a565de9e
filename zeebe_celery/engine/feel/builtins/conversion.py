"""FEEL's conversion functions: ``string``, ``number``, JSON and the temporal constructors."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from zeebe_celery.engine.feel.serialize import feel_string, to_json
from zeebe_celery.engine.feel.temporal import (
    YearsMonthsDuration,
    offset_zone,
    parse_date,
    parse_datetime,
    parse_duration,
    parse_time,
    zone_of,
)
from zeebe_celery.engine.feel.values import to_decimal
from zeebe_celery.engine.feel.wide import WideTemporal, make_date, nanos_of, split, widen

from ._args import integer, number, text
from .signature import Overload, overload

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_SEPARATORS = frozenset({" ", ",", ".", "'"})


def to_number(from_: Any, grouping: Any = None, decimal_separator: Any = None) -> int | Decimal | None:
    value = text(from_)
    for separator in (grouping, decimal_separator):
        if separator is not None and text(separator) not in _SEPARATORS:
            return None
    if grouping is not None and grouping == decimal_separator:
        return None
    if grouping is not None:
        value = value.replace(text(grouping), "")
    if decimal_separator is not None:
        value = value.replace(text(decimal_separator), ".")
    if not _NUMBER.fullmatch(value):
        return None
    exact = Decimal(value)
    return int(exact) if re.fullmatch(r"[+-]?\d+", value) else exact


def date_from(from_: Any) -> Any:
    if type(from_) is datetime:
        return from_.date()
    if type(from_) is date:
        return from_
    if type(from_) is WideTemporal:
        moment = from_.value
        if isinstance(moment, datetime):
            return widen(moment.date(), from_.cycles)
        return from_ if type(moment) is date else None
    return parse_date(text(from_))


def date_of(year: Any, month: Any, day: Any) -> Any:
    return make_date(integer(year), integer(month), integer(day))


def time_from(from_: Any) -> Any:
    if type(from_) is WideTemporal:
        moment = from_.value
        if isinstance(moment, datetime):
            return widen(moment.timetz(), 0, from_.nanos)
        return from_ if type(moment) is time else time(0, 0, tzinfo=UTC)
    if type(from_) is datetime:
        return from_.timetz()
    if type(from_) is time:
        return from_
    if type(from_) is date:
        return time(0, 0, tzinfo=UTC)
    return parse_time(text(from_))


def time_of(hour: Any, minute: Any, second: Any, offset: Any = None) -> time:
    whole = number(second)
    micro = int((to_decimal(whole) - int(whole)) * 1_000_000) if type(whole) is Decimal else 0
    if offset is not None and type(offset) is not timedelta:
        raise TypeError("the offset of time() is a days and time duration")
    zone = None if offset is None else offset_zone(offset)
    return time(integer(hour), integer(minute), int(whole), micro, tzinfo=zone)


def datetime_from(from_: Any) -> datetime | None:
    if type(from_) is datetime:
        return from_
    if type(from_) is date:
        return datetime(from_.year, from_.month, from_.day)
    value = text(from_)
    day = parse_date(value)
    if day is not None:  # a date alone is its midnight, as feel-scala reads it
        return datetime(day.year, day.month, day.day)
    return parse_datetime(value)


def datetime_of(day: Any, moment: Any) -> datetime:
    """``date and time(date, time)``, or a date-time moved into a zone: ``date and time(dt, "Europe/Paris")``."""
    if type(day) is datetime and type(moment) is str:
        zone = zone_of(None, moment)
        return day.astimezone(zone) if day.tzinfo else day.replace(tzinfo=zone)
    cycles, start = split(day)
    clock = split(moment)[1]
    if type(start) not in (date, datetime) or type(clock) is not time:
        raise TypeError("date and time() takes a date and a time")
    start = start.date() if type(start) is datetime else start
    combined: datetime = widen(datetime.combine(start, clock), cycles, nanos_of(moment))
    return combined


def years_and_months(from_: Any, to: Any) -> YearsMonthsDuration:
    if type(from_) not in _DAYS or type(to) not in _DAYS:
        raise TypeError("years and months duration() takes two dates")
    (start_cycles, start), (end_cycles, end) = split(date_from(from_)), split(date_from(to))
    months = (end.year - start.year + 400 * (end_cycles - start_cycles)) * 12 + end.month - start.month
    if months > 0 and end.day < start.day:
        months -= 1
    elif months < 0 and end.day > start.day:
        months += 1
    return YearsMonthsDuration(months)


_DAYS = (date, datetime, WideTemporal)


def duration_from(from_: Any) -> timedelta | YearsMonthsDuration | None:
    if type(from_) is timedelta or type(from_) is YearsMonthsDuration:
        return from_
    return parse_duration(text(from_))


def _from_json(value: Any) -> Any:
    return json.loads(text(value), parse_float=Decimal)


FUNCTIONS: dict[str, list[Overload]] = {
    "string": [overload(lambda from_: feel_string(from_), "from")],
    "number": [overload(to_number, "from", "grouping separator?", "decimal separator?")],
    "date": [overload(date_from, "from"), overload(date_of, "year", "month", "day")],
    "time": [overload(time_from, "from"), overload(time_of, "hour", "minute", "second", "offset?")],
    "date and time": [
        overload(datetime_from, "from"),
        overload(datetime_of, "date", "time"),
        overload(datetime_of, "date", "timezone"),
    ],
    "duration": [overload(duration_from, "from")],
    "years and months duration": [overload(years_and_months, "from", "to")],
    "from json": [overload(_from_json, "json")],
    "to json": [overload(lambda value: json.dumps(to_json(value), separators=(",", ":")), "value")],
}
