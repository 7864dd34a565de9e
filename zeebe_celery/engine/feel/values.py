"""The shapes FEEL values take in Python, and FEEL's equality and ordering over them.

FEEL numbers are ``int`` (kept exact) or ``Decimal``; a ``float`` read from the variables is taken at its
shortest decimal form, so ``0.1`` in a variable equals the literal ``0.1``. ``bool`` is never a number.
Lists are Python lists, contexts are dicts, ``null`` is ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from .limits import CALL_STEPS, charge
from .temporal import YearsMonthsDuration
from .wide import CYCLE_DAYS, WideTemporal, nanos_of, split

__all__ = [
    "NULL_END",
    "FeelFunction",
    "Range",
    "Scope",
    "compare",
    "equals",
    "is_number",
    "kind_of",
    "to_decimal",
]

Evaluator = Callable[[Mapping[str, Any]], Any]


def is_number(value: Any) -> bool:
    kind = type(value)
    return kind is int or kind is Decimal or kind is float


def to_decimal(value: int | float | Decimal) -> int | Decimal:
    """An exact FEEL number for a Python number: ints stay ints, floats go through their shortest repr."""
    if type(value) is float:
        return Decimal(repr(value))
    return value  # type: ignore[return-value]  # an int or a Decimal


_KINDS: dict[type, str] = {
    int: "number",
    float: "number",
    Decimal: "number",
    bool: "boolean",
    str: "string",
    date: "date",
    datetime: "date and time",
    time: "time",
    timedelta: "days and time duration",
    YearsMonthsDuration: "years and months duration",
    list: "list",
    tuple: "list",
    dict: "context",
    type(None): "Null",
}


def kind_of(value: Any) -> str:
    """FEEL's type name of a value: ``number``, ``string``, ``date and time``, ``context``, ..."""
    kind = _KINDS.get(type(value))
    if kind is not None:
        return kind
    if type(value) is WideTemporal:
        inner = type(value.value)
        return "date" if inner is date else "time" if inner is time else "date and time"
    if isinstance(value, Mapping):
        return "context"
    if isinstance(value, FeelFunction) or callable(value):
        return "function"
    if isinstance(value, Range):
        return "range"
    return "Any"


_SIMPLE = frozenset({str, int, bool})


def equals(left: Any, right: Any) -> bool | None:
    """FEEL ``=``: deep over lists and contexts; ``null`` only equals ``null``; other kinds mixed give ``None``."""
    if left is None or right is None:
        return left is None and right is None
    if type(left) is type(right) and type(left) in _SIMPLE:
        return bool(left == right)
    kind = kind_of(left)
    if kind != kind_of(right):
        return None
    if kind == "number":
        return bool(to_decimal(left) == to_decimal(right))
    if kind == "list":
        if len(left) != len(right):
            return False
        return all(equals(a, b) is True for a, b in zip(left, right, strict=True))
    if kind == "context":
        if left.keys() != right.keys():
            return False
        return all(equals(left[k], right[k]) is True for k in left)
    if type(left) is WideTemporal or type(right) is WideTemporal:
        order = _far_order(left, right)
        return None if order is None else order == 0
    if kind == "date and time" and (left.tzinfo is None) != (right.tzinfo is None):
        return None
    try:
        return bool(left == right)
    except TypeError:
        return None


_ORDERED = frozenset(
    {"number", "string", "date", "date and time", "time", "days and time duration", "years and months duration"}
)


def compare(left: Any, right: Any) -> int | None:
    """-1, 0 or 1 for two values of one ordered kind; ``None`` when FEEL cannot order them."""
    if type(left) is int and type(right) is int:
        return (left > right) - (left < right)
    kind = kind_of(left)
    if kind not in _ORDERED or kind != kind_of(right):
        return None
    if kind == "number":
        left, right = to_decimal(left), to_decimal(right)
    elif type(left) is WideTemporal or type(right) is WideTemporal:
        return _far_order(left, right)
    try:
        return int(left > right) - int(left < right)
    except TypeError:
        return None  # a naive and an aware date-time, for one


def _far_order(left: Any, right: Any) -> int | None:
    """The order of two temporal values of one kind, one of them beyond Python's years or precision."""
    (left_cycles, left_value), (right_cycles, right_value) = split(left), split(right)
    if type(left_value) is time and type(right_value) is time:
        left_value, right_value = datetime.combine(_ANY_DAY, left_value), datetime.combine(_ANY_DAY, right_value)
    try:
        delta: timedelta = (left_value - right_value) + (left_cycles - right_cycles) * timedelta(days=CYCLE_DAYS)
    except TypeError:
        return None  # a naive and an aware date-time
    if not delta:
        nanos = nanos_of(left) - nanos_of(right)
        return (nanos > 0) - (nanos < 0)
    return (delta > timedelta(0)) - (delta < timedelta(0))


_ANY_DAY = date(2000, 1, 1)


class _NullEnd:
    """The endpoint of ``(null..10)``: unlike an open end, it makes membership unknown."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "null"


NULL_END: Any = _NullEnd()


class Range:
    """A FEEL range value such as ``[1..10)``; an endpoint of ``None`` is unbounded."""

    __slots__ = ("end", "end_closed", "operator", "start", "start_closed")

    def __init__(
        self, start: Any, end: Any, *, start_closed: bool, end_closed: bool, operator: str | None = None
    ) -> None:
        self.start, self.end = start, end
        self.start_closed, self.end_closed = start_closed, end_closed
        self.operator = operator  # "=", "<"...: a unary test's range, `(=10)` is not `[10..10]`

    def contains(self, value: Any) -> bool | None:
        if self.start is not None:
            low = compare(value, self.start)
            if low is None:
                return None
            if low < 0 or (low == 0 and not self.start_closed):
                return False
        if self.end is not None:
            high = compare(value, self.end)
            if high is None:
                return None
            if high > 0 or (high == 0 and not self.end_closed):
                return False
        return True

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Range):
            return NotImplemented
        return (self.start, self.end, self.start_closed, self.end_closed, self.operator) == (
            other.start,
            other.end,
            other.start_closed,
            other.end_closed,
            other.operator,
        )

    def __hash__(self) -> int:
        return hash((Range, self.start_closed, self.end_closed))

    def __repr__(self) -> str:
        opening = "[" if self.start_closed else "("
        closing = "]" if self.end_closed else ")"
        return f"{opening}{self.start!r}..{self.end!r}{closing}"


class FeelFunction:
    """A function value made by ``function(a, b) body``; it closes over the scope it was made in."""

    __slots__ = ("body", "closure", "params")

    def __init__(self, params: Sequence[str], body: Evaluator, closure: Mapping[str, Any]) -> None:
        self.params, self.body, self.closure = tuple(params), body, closure

    def __call__(self, *args: Any) -> Any:
        if len(args) != len(self.params):
            return None
        charge(CALL_STEPS)
        return self.body(Scope(self.closure, dict(zip(self.params, args, strict=True))))


class Scope(Mapping[str, Any]):
    """Local names (a loop variable, ``item``, earlier context entries) over an outer scope."""

    __slots__ = ("local", "outer")

    def __init__(self, outer: Mapping[str, Any], local: dict[str, Any]) -> None:
        self.outer, self.local = outer, local

    def get(self, key: str, default: Any = None) -> Any:
        local = self.local
        if key in local:
            return local[key]
        return self.outer.get(key, default)

    def __getitem__(self, key: str) -> Any:
        if key in self.local:
            return self.local[key]
        return self.outer[key]

    def __contains__(self, key: object) -> bool:
        return key in self.local or key in self.outer

    def __iter__(self) -> Iterator[str]:
        yield from self.local
        yield from (k for k in self.outer if k not in self.local)

    def __len__(self) -> int:
        return sum(1 for _ in self)
