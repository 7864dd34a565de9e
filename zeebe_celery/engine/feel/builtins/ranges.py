"""DMN 1.5's range functions (``before``, ``overlaps``, ``includes``...) and ``range(from)``.

Each relation takes points and ranges, in the combinations the spec lists; a point is any ordered value.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from zeebe_celery.engine.feel.temporal import parse_date, parse_datetime, parse_duration, parse_temporal, parse_time
from zeebe_celery.engine.feel.values import Range, compare

from ._args import text
from .signature import Overload, overload


def _lt(a: Any, b: Any) -> bool:
    order = compare(a, b)
    if order is None:
        raise TypeError("values are not comparable")
    return order < 0


def _eq(a: Any, b: Any) -> bool:
    order = compare(a, b)
    if order is None:
        raise TypeError("values are not comparable")
    return order == 0


def _range(value: Any) -> Range:
    if not isinstance(value, Range):
        raise TypeError("expected a range")
    return value


def before(a: Any, b: Any) -> bool:
    if isinstance(a, Range) and isinstance(b, Range):
        return _lt(a.end, b.start) or (_eq(a.end, b.start) and not (a.end_closed and b.start_closed))
    if isinstance(b, Range):
        return _lt(a, b.start) or (_eq(a, b.start) and not b.start_closed)
    if isinstance(a, Range):
        return _lt(a.end, b) or (_eq(a.end, b) and not a.end_closed)
    return _lt(a, b)


def after(a: Any, b: Any) -> bool:
    if isinstance(a, Range) and isinstance(b, Range):
        return _lt(b.end, a.start) or (_eq(a.start, b.end) and not (a.start_closed and b.end_closed))
    if isinstance(b, Range):
        return _lt(b.end, a) or (_eq(a, b.end) and not b.end_closed)
    if isinstance(a, Range):
        return _lt(b, a.start) or (_eq(a.start, b) and not a.start_closed)
    return _lt(b, a)


def meets(a: Any, b: Any) -> bool:
    r1, r2 = _range(a), _range(b)
    return r1.end_closed and r2.start_closed and _eq(r1.end, r2.start)


def met_by(a: Any, b: Any) -> bool:
    return meets(b, a)


def overlaps(a: Any, b: Any) -> bool:
    r1, r2 = _range(a), _range(b)
    return (_lt(r2.start, r1.end) or (_eq(r1.end, r2.start) and r1.end_closed and r2.start_closed)) and (
        _lt(r1.start, r2.end) or (_eq(r1.start, r2.end) and r1.start_closed and r2.end_closed)
    )


def overlaps_before(a: Any, b: Any) -> bool:
    r1, r2 = _range(a), _range(b)
    return (
        (_lt(r1.start, r2.start) or (_eq(r1.start, r2.start) and r1.start_closed and not r2.start_closed))
        and (_lt(r2.start, r1.end) or (_eq(r1.end, r2.start) and r1.end_closed and r2.start_closed))
        and (_lt(r1.end, r2.end) or (_eq(r1.end, r2.end) and (not r1.end_closed or r2.end_closed)))
    )


def overlaps_after(a: Any, b: Any) -> bool:
    return overlaps_before(b, a)


def finishes(a: Any, b: Any) -> bool:
    r2 = _range(b)
    if not isinstance(a, Range):
        return r2.end_closed and _eq(r2.end, a)
    return (
        a.end_closed == r2.end_closed
        and _eq(a.end, r2.end)
        and (_lt(r2.start, a.start) or (_eq(a.start, r2.start) and (not a.start_closed or r2.start_closed)))
    )


def finished_by(a: Any, b: Any) -> bool:
    r1 = _range(a)
    if not isinstance(b, Range):
        return r1.end_closed and _eq(r1.end, b)
    return finishes(b, r1)


def includes(a: Any, b: Any) -> bool:
    r1 = _range(a)
    if not isinstance(b, Range):
        return (
            (_lt(r1.start, b) and _lt(b, r1.end))
            or (_eq(r1.start, b) and r1.start_closed)
            or (_eq(r1.end, b) and r1.end_closed)
        )
    return (_lt(r1.start, b.start) or (_eq(r1.start, b.start) and (r1.start_closed or not b.start_closed))) and (
        _lt(b.end, r1.end) or (_eq(r1.end, b.end) and (r1.end_closed or not b.end_closed))
    )


def during(a: Any, b: Any) -> bool:
    return includes(b, a)


def starts(a: Any, b: Any) -> bool:
    r2 = _range(b)
    if not isinstance(a, Range):
        return r2.start_closed and _eq(r2.start, a)
    return (
        _eq(a.start, r2.start)
        and a.start_closed == r2.start_closed
        and (_lt(a.end, r2.end) or (_eq(a.end, r2.end) and (not a.end_closed or r2.end_closed)))
    )


def started_by(a: Any, b: Any) -> bool:
    r1 = _range(a)
    if not isinstance(b, Range):
        return r1.start_closed and _eq(r1.start, b)
    return starts(b, r1)


def coincides(a: Any, b: Any) -> bool:
    if isinstance(a, Range) and isinstance(b, Range):
        return (
            _eq(a.start, b.start)
            and _eq(a.end, b.end)
            and a.start_closed == b.start_closed
            and a.end_closed == b.end_closed
        )
    if isinstance(a, Range) or isinstance(b, Range):
        raise TypeError("coincides() takes two points or two ranges")
    return _eq(a, b)


_INTERVAL = re.compile(r"\s*([\[(\]])\s*(.*?)\s*\.\.\s*(.*?)\s*([\])\[])\s*")
_COMPARISON = re.compile(r"\s*(<=|>=|<|>|=)\s*(.*?)\s*")
_CALL = re.compile(r'(date and time|date|time|duration)\s*\(\s*"([^"]*)"\s*\)')
_PARSERS = {"date and time": parse_datetime, "date": parse_date, "time": parse_time, "duration": parse_duration}


def _literal(source: str) -> Any:
    """An endpoint of ``range()``: a number, a string, ``@"..."`` or a temporal constructor of a string."""
    if re.fullmatch(r"-?(\d+(\.\d+)?|\.\d+)", source):
        value = Decimal(source)
        return int(value) if value == value.to_integral_value() and "." not in source else value
    if re.fullmatch(r'"[^"]*"', source):
        return source[1:-1]
    if re.fullmatch(r'@"[^"]*"', source):
        moment = parse_temporal(source[2:-1])
        if moment is not None:
            return moment
    call = _CALL.fullmatch(source)
    if call is not None:
        moment = _PARSERS[call[1]](call[2])
        if moment is not None:
            return moment
    raise ValueError(f"not a literal range endpoint: {source!r}")


def range_from(from_: Any) -> Range:
    source = text(from_)
    interval = _INTERVAL.fullmatch(source)
    if interval is not None:
        start, end = _literal(interval[2]), _literal(interval[3])
        order = compare(start, end)
        if order is None or order > 0:
            raise ValueError("range endpoints of different kinds, or descending")
        return Range(start, end, start_closed=interval[1] == "[", end_closed=interval[4] == "]")
    comparison = _COMPARISON.fullmatch(source)
    if comparison is None or not comparison[2]:
        raise ValueError(f"not a range: {source!r}")
    op, point = comparison[1], _literal(comparison[2])
    if op == "=":
        return Range(point, point, start_closed=True, end_closed=True)
    if op[0] == "<":
        return Range(None, point, start_closed=False, end_closed=op == "<=")
    return Range(point, None, start_closed=op == ">=", end_closed=False)


_POINTS = ("point1", "point2")
_RANGES = ("range1", "range2")


def _relation(fn: Any, *pairs: tuple[str, str]) -> list[Overload]:
    return [overload(fn, *pair) for pair in pairs]


FUNCTIONS: dict[str, list[Overload]] = {
    "before": _relation(before, _POINTS, ("point", "range"), ("range", "point"), _RANGES),
    "after": _relation(after, _POINTS, ("point", "range"), ("range", "point"), _RANGES),
    "meets": _relation(meets, _RANGES),
    "met by": _relation(met_by, _RANGES),
    "overlaps": _relation(overlaps, _RANGES),
    "overlaps before": _relation(overlaps_before, _RANGES),
    "overlaps after": _relation(overlaps_after, _RANGES),
    "finishes": _relation(finishes, ("point", "range"), _RANGES),
    "finished by": _relation(finished_by, ("range", "point"), _RANGES),
    "includes": _relation(includes, ("range", "point"), _RANGES),
    "during": _relation(during, ("point", "range"), _RANGES),
    "starts": _relation(starts, ("point", "range"), _RANGES),
    "started by": _relation(started_by, ("range", "point"), _RANGES),
    "coincides": _relation(coincides, _POINTS, _RANGES),
    "range": [overload(range_from, "from")],
}
