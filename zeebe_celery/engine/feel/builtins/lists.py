"""FEEL's list functions."""

from __future__ import annotations

import functools
from typing import Any

from zeebe_celery.engine.feel.limits import check_size
from zeebe_celery.engine.feel.values import compare, equals

from ._args import integer, items, spread
from .signature import Overload, overload


def _contains(values: list[Any], element: Any) -> bool:
    return any(equals(value, element) is True for value in values)


def _distinct(values: list[Any]) -> list[Any]:
    kept: list[Any] = []
    for value in values:
        if not _contains(kept, value):
            kept.append(value)
    return kept


def _offset(values: list[Any], position: Any) -> int:
    place = integer(position)
    if place == 0 or abs(place) > len(values):
        raise IndexError(f"position {place} is outside the list")
    return place - 1 if place > 0 else len(values) + place


def insert_before(list_: Any, position: Any, newItem: Any) -> list[Any]:
    values = items(list_)
    place = integer(position)
    at = len(values) if place == len(values) + 1 else _offset(values, place)
    return [*values[:at], newItem, *values[at:]]


def remove(list_: Any, position: Any) -> list[Any]:
    values = items(list_)
    at = _offset(values, position)
    return values[:at] + values[at + 1 :]


def sublist(list_: Any, start: Any, length: Any = None) -> list[Any]:
    values = items(list_)
    at = _offset(values, start)
    return values[at:] if length is None else values[at : at + integer(length)]


def flatten(list_: Any) -> list[Any]:
    flat: list[Any] = []
    for value in items(list_):
        flat.extend(flatten(value) if type(value) is list else [value])
    return _sized(flat)


def _sized(values: list[Any]) -> list[Any]:
    if len(values) > 4096:
        check_size(len(values))
    return values


def sort(list_: Any, precedes: Any = None) -> list[Any]:
    values = items(list_)
    if precedes is None:

        def natural(a: Any, b: Any) -> int:
            order = compare(a, b)
            if order is None:
                raise TypeError("list items are not comparable")
            return order

        ordered: list[Any] = sorted(values, key=functools.cmp_to_key(natural))
        return ordered
    if not callable(precedes):
        raise TypeError("sort() takes a function as its second argument")

    def by_function(a: Any, b: Any) -> int:
        if precedes(a, b) is True:
            return -1
        return 1 if precedes(b, a) is True else 0

    return sorted(values, key=functools.cmp_to_key(by_function))


def _all(*args: Any) -> bool | None:
    values = spread(args) if args != ([],) else []
    if any(v is False for v in values):
        return False
    return True if all(v is True for v in values) else None


def _any(*args: Any) -> bool | None:
    values = spread(args) if args != ([],) else []
    if any(v is True for v in values):
        return True
    return False if all(v is False for v in values) else None


def _duplicates(list_: Any) -> list[Any]:
    values = items(list_)
    return _distinct([v for i, v in enumerate(values) if _contains(values[:i] + values[i + 1 :], v)])


def partition(list_: Any, size: Any) -> list[list[Any]]:
    values, step = items(list_), integer(size)
    if step <= 0:
        raise ValueError("partition size must be positive")
    return [values[at : at + step] for at in range(0, len(values), step)]


def list_replace(list_: Any, position: Any, newItem: Any) -> list[Any]:
    """``position`` is a 1-based (or negative) index, or a function(item, newItem) picking the items to replace."""
    if list_ is None:
        raise TypeError("list replace() takes a list")
    values = list_ if type(list_) is list else [list_]
    if callable(position):
        if len(getattr(position, "params", ("item", "newItem"))) != 2:
            raise TypeError("list replace() takes a function of (item, newItem)")
        replaced = []
        for value in values:
            chosen = position(value, newItem)
            if type(chosen) is not bool:
                raise TypeError("the match function of list replace() gives a boolean")
            replaced.append(newItem if chosen else value)
        return replaced
    at = _offset(values, position)
    return [*values[:at], newItem, *values[at + 1 :]]


def _lists(*lists: Any) -> list[Any]:
    return _sized([value for values in lists for value in items(values)])


def _first_list(fn: Any) -> list[Overload]:
    return [overload(fn, "list")]


FUNCTIONS: dict[str, list[Overload]] = {
    "list contains": [overload(lambda list_, element: _contains(items(list_), element), "list", "element")],
    "count": _first_list(lambda list_: len(items(list_))),
    "append": [overload(lambda list_, *item: _sized([*items(list_), *item]), "list", "items|item...")],
    "concatenate": [overload(_lists, "lists|list...")],
    "insert before": [overload(insert_before, "list", "position", "newItem")],
    "remove": [overload(remove, "list", "position")],
    "reverse": _first_list(lambda list_: items(list_)[::-1]),
    "index of": [
        overload(
            lambda list_, match: [i + 1 for i, v in enumerate(items(list_)) if equals(v, match) is True],
            "list",
            "match",
        )
    ],
    "union": [overload(lambda *lists: _distinct(_lists(*lists)), "lists|list...")],
    "distinct values": _first_list(lambda list_: _distinct(items(list_))),
    "duplicate values": _first_list(_duplicates),
    "flatten": _first_list(flatten),
    "sort": [overload(sort, "list", "precedes?")],
    "sublist": [overload(sublist, "list", "start position|start", "length?")],
    "is empty": _first_list(lambda list_: not items(list_)),
    "partition": [overload(partition, "list", "size")],
    "list replace": [
        overload(list_replace, "list", "position", "newItem"),
        overload(list_replace, "list", "match", "newItem"),
    ],
    "all": [overload(_all, "list...")],
    "and": [overload(_all, "list...")],
    "any": [overload(_any, "list...")],
    "or": [overload(_any, "list...")],
}
