"""Reading into values: ``x.y`` paths, ``xs[2]`` indexes and ``xs[item > 1]`` filters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from .limits import current_budget
from .temporal import YearsMonthsDuration
from .values import NULL_END, Range, Scope, is_number
from .wide import WideTemporal

__all__ = ["filter_items", "index", "member"]


def _date_members(value: date) -> dict[str, Any]:
    return {"year": value.year, "month": value.month, "day": value.day, "weekday": value.isoweekday()}


def _time_members(value: time | datetime) -> dict[str, Any]:
    offset = value.utcoffset()
    return {
        "hour": value.hour,
        "minute": value.minute,
        "second": value.second,
        "time offset": offset,
        "timezone": getattr(value.tzinfo, "key", None),
    }


def _temporal_members(value: Any) -> dict[str, Any] | None:
    kind = type(value)
    if kind is WideTemporal:
        members = _temporal_members(value.value)
        if members is None or type(value.value) is time:
            return members
        return {**members, "year": value.year}
    if kind is date:
        return _date_members(value)
    if kind is datetime:
        return {**_date_members(value), **_time_members(value)}
    if kind is time:
        return _time_members(value)
    if kind is timedelta:
        seconds = value.seconds
        return {"days": value.days, "hours": seconds // 3600, "minutes": seconds // 60 % 60, "seconds": seconds % 60}
    if kind is YearsMonthsDuration:
        return {"years": value.years, "months": value.months - value.years * 12}
    return None


def member(value: Any, name: str) -> Any:
    """``value.name``: a context entry, the entry of every element of a list, or a temporal property."""
    if isinstance(value, Mapping):
        return value.get(name)
    if type(value) is list:
        return [member(item, name) for item in value]
    if isinstance(value, Range):
        return _range_members(value).get(name)
    members = _temporal_members(value)
    return None if members is None else members.get(name)


def _range_members(value: Range) -> dict[str, Any]:
    return {
        "start": None if value.start is NULL_END else value.start,
        "end": None if value.end is NULL_END else value.end,
        "start included": value.start_closed,
        "end included": value.end_closed,
    }


def index(items: list[Any], position: Any) -> Any:
    """``items[position]``: 1-based, negative from the end, ``null`` outside the list."""
    if type(position) is not int:
        if not is_number(position) or position != int(position):
            return None
        position = int(position)
    size = len(items)
    if 0 < position <= size:
        return items[position - 1]
    if -size <= position < 0:
        return items[position]
    return None


def filter_items(items: list[Any], condition: Callable[[Mapping[str, Any]], Any], env: Mapping[str, Any]) -> list[Any]:
    """The items for which the condition is true, with ``item`` and a context item's entries in scope."""
    kept = []
    budget = current_budget().get()
    if budget is not None:
        budget.charge(len(items))  # one step an item, paid up front
    for item in items:
        # A context item's own entries come first: `[{item: 1}][item > 0]` reads its entry `item`.
        local = {"item": item, **item} if isinstance(item, Mapping) else {"item": item}
        if condition(Scope(env, local)) is True:
            kept.append(item)
    return kept
