"""Argument checks for the built-ins: each raises TypeError, which the caller turns into FEEL's null."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from zeebe_celery.engine.feel.values import is_number, to_decimal


def text(value: Any) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a string, got {value!r}")
    return value


def number(value: Any) -> int | Decimal:
    if not is_number(value):
        raise TypeError(f"expected a number, got {value!r}")
    return to_decimal(value)


def integer(value: Any) -> int:
    """A number's integral part, as feel-scala's ``intValue`` takes it (``substring("abc", 1.8)``)."""
    return int(number(value))


def items(value: Any) -> list[Any]:
    if type(value) is not list:
        raise TypeError(f"expected a list, got {value!r}")
    return value


def context(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected a context, got {value!r}")
    return value


def spread(args: tuple[Any, ...]) -> list[Any]:
    """``f([1, 2])`` and ``f(1, 2)`` alike, as FEEL's list functions accept both."""
    if len(args) == 1 and type(args[0]) is list:
        return list(args[0])
    if not args:
        raise TypeError("expected at least one argument")
    return list(args)
