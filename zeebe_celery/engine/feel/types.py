"""FEEL's type expressions, as ``instance of`` reads them: ``number``, ``list<string>``,
``context<a: number>``, ``function<string>->boolean``, ``range<date>``, ``Any``.

A type becomes a predicate over values once, when the expression is compiled.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

from .values import FeelFunction, Range, kind_of

__all__ = ["TypeResolver", "type_predicate", "use_type_resolver"]

Predicate = Callable[[Any], bool]

_TOKEN = re.compile(r"\s*(date and time|days and time duration|years and months duration|->|[<>,:]|[^\s<>,:]+)")
_SIMPLE = frozenset(
    {
        "number",
        "string",
        "boolean",
        "date",
        "time",
        "date and time",
        "days and time duration",
        "years and months duration",
        "list",
        "context",
        "function",
        "range",
        "Null",
    }
)
# feel-scala's older names for the temporal types.
_ALIASES = {
    "date time": "date and time",
    "dateTime": "date and time",
    "year-month-duration": "years and months duration",
    "day-time-duration": "days and time duration",
    "yearMonthDuration": "years and months duration",
    "dayTimeDuration": "days and time duration",
}


def _any(value: Any) -> bool:
    return value is not None


class _Reader:
    def __init__(self, text: str) -> None:
        self.tokens = [m[1] for m in _TOKEN.finditer(text)]
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise ValueError(f"expected {expected or 'a type'}")
        self.at += 1
        return token

    def type(self) -> Predicate:
        name = self.take()
        if self.peek() == "<":
            self.take("<")
            if name == "context":
                return self._context()
            params = self._params()
            if name == "list":
                return _list_of(params[0] if params else _any)
            if name == "range":
                return _range_of(params[0] if params else _any)
            if name == "function":
                self.take("->")
                self.type()
                return _function_of(len(params))
            raise ValueError(f"{name} takes no type parameters")
        return _named(name)

    def _params(self) -> list[Predicate]:
        params: list[Predicate] = []
        while self.peek() != ">":
            if params:
                self.take(",")
            params.append(self.type())
        self.take(">")
        return params

    def _context(self) -> Predicate:
        entries: dict[str, Predicate] = {}
        while self.peek() != ">":
            if entries:
                self.take(",")
            key = self.take()
            self.take(":")
            entries[key] = self.type()
        self.take(">")
        return _context_of(entries)


def _named(name: str) -> Predicate:
    name = _ALIASES.get(name, name)
    if name == "Any":
        return _any
    if name not in _SIMPLE:
        return lambda value: _user_type(name, value)  # a DMN item definition, say
    return lambda value: kind_of(value) == name


TypeResolver = Callable[[str, Any], bool | None]
_resolver: ContextVar[TypeResolver | None] = ContextVar("feel_types", default=None)


def use_type_resolver(resolver: TypeResolver | None) -> None:
    """Let ``instance of`` know types FEEL does not (a DMN model's item definitions), in this context.

    The resolver answers whether a value is of a named type, or None when it does not know the name.
    """
    _resolver.set(resolver)


def _user_type(name: str, value: Any) -> bool:
    resolver = _resolver.get()
    return resolver is not None and resolver(name, value) is True


def _list_of(item: Predicate) -> Predicate:
    return lambda value: type(value) is list and all(v is None or item(v) for v in value)


def _range_of(point: Predicate) -> Predicate:
    def check(value: Any) -> bool:
        if not isinstance(value, Range):
            return False
        return all(p is None or point(p) for p in (value.start, value.end))

    return check


def _function_of(arity: int) -> Predicate:
    def check(value: Any) -> bool:
        if isinstance(value, FeelFunction):
            return len(value.params) == arity
        return kind_of(value) == "function"

    return check


def _context_of(entries: dict[str, Predicate]) -> Predicate:
    def check(value: Any) -> bool:
        if not isinstance(value, Mapping):
            return False
        return all(key in value and (value[key] is None or test(value[key])) for key, test in entries.items())

    return check


def type_predicate(text: str) -> Predicate:
    """The test ``instance of <text>`` applies; raises ValueError for text that is not a type."""
    reader = _Reader(text)
    predicate = reader.type()
    if reader.peek() is not None:
        raise ValueError(f"unexpected {reader.peek()!r} in type {text!r}")
    return predicate
