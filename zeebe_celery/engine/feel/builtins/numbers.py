"""FEEL's numeric functions, with Decimal rounding modes matching java.math.RoundingMode."""

from __future__ import annotations

import decimal
import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from zeebe_celery.engine.feel.ops import DECIMALS, add, normalize
from zeebe_celery.engine.feel.temporal import YearsMonthsDuration
from zeebe_celery.engine.feel.values import compare

from ._args import integer, number, spread
from .signature import Overload, overload

# java.math.BigDecimal's scales under DECIMAL128: beyond them a rounding is an error.
_SCALES = range(-6111, 6177)
_ROUNDING = decimal.Context(prec=100_000, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def _rounder(mode: str) -> Callable[..., Any]:
    def round_to(n: Any, scale: Any = 0) -> int | Decimal:
        places = integer(scale)
        if places not in _SCALES:
            raise ValueError(f"scale {places} is out of range")
        exact = Decimal(number(n))
        return normalize(exact.quantize(Decimal(1).scaleb(-places), rounding=mode, context=_ROUNDING))

    return round_to


def modulo(dividend: Any, divisor: Any) -> int | Decimal | None:
    a, b = number(dividend), number(divisor)
    if not b:
        return None
    # FEEL's modulo takes the divisor's sign: floored, not truncated, division.
    return normalize(
        DECIMALS.subtract(a, DECIMALS.multiply(b, (Decimal(a) / Decimal(b)).to_integral_value(decimal.ROUND_FLOOR)))
    )


def sqrt(n: Any) -> int | Decimal | None:
    value = number(n)
    return None if value < 0 else normalize(DECIMALS.sqrt(Decimal(value)))


def _extreme(args: tuple[Any, ...], sign: int) -> Any:
    values = spread(args)
    best = values[0]
    for value in values[1:]:
        order = compare(value, best)
        if order is None:
            raise TypeError("values are not comparable")
        if order == sign:
            best = value
    if compare(best, best) is None:
        raise TypeError("value is not comparable")
    return best


def _fold(args: tuple[Any, ...], start: int, step: Callable[[Any, Any], Any]) -> Any:
    result: Any = start
    for value in spread(args):
        result = step(result, number(value))
    return result


def total(*args: Any) -> Any:
    return _fold(args, 0, add)


def mean(*args: Any) -> Any:
    values = spread(args)
    if not values:
        return None
    return normalize(DECIMALS.divide(Decimal(total(*values)), len(values)))


def product(*args: Any) -> Any:
    values = spread(args)
    if not values:
        return None
    result: int | Decimal = 1
    for value in (number(v) for v in values):
        result = (
            DECIMALS.multiply(result, value) if type(value) is Decimal or type(result) is Decimal else result * value
        )
    return result


def median(*args: Any) -> Any:
    values = sorted(number(v) for v in spread(args))
    if not values:
        return None
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return normalize(DECIMALS.divide(DECIMALS.add(values[middle - 1], values[middle]), 2))


def absolute(n: Any) -> Any:
    if type(n) is timedelta:
        return abs(n)
    if type(n) is YearsMonthsDuration:
        return YearsMonthsDuration(abs(n.months))
    return abs(number(n))


def stddev(*args: Any) -> Any:
    """The sample standard deviation; null for fewer than two numbers."""
    values = [Decimal(number(v)) for v in spread(args)]
    if len(values) < 2:
        return None
    average = DECIMALS.divide(sum(values, Decimal(0)), len(values))
    squares = sum((DECIMALS.power(v - average, 2) for v in values), Decimal(0))
    return normalize(DECIMALS.sqrt(DECIMALS.divide(squares, len(values) - 1)))


def mode(*args: Any) -> list[Any]:
    """The most frequent numbers, ascending."""
    values = [number(v) for v in spread(args)] if args != ([],) else []
    counts: dict[Any, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    if not counts:
        return []
    most = max(counts.values())
    return sorted(value for value, seen in counts.items() if seen == most)


_MODES = {
    "UP": decimal.ROUND_UP,
    "DOWN": decimal.ROUND_DOWN,
    "CEILING": decimal.ROUND_CEILING,
    "FLOOR": decimal.ROUND_FLOOR,
    "HALF_UP": decimal.ROUND_HALF_UP,
    "HALF_DOWN": decimal.ROUND_HALF_DOWN,
    "HALF_EVEN": decimal.ROUND_HALF_EVEN,
}


def decimal_in_mode(n: Any, scale: Any, mode: Any) -> int | Decimal:
    if type(mode) is not str or mode.upper() not in _MODES:
        raise ValueError(f"unknown rounding mode {mode!r}")
    rounded: int | Decimal = _rounder(_MODES[mode.upper()])(n, scale)
    return rounded


def _whole(n: Any) -> int | None:
    value = number(n)
    return int(value) if value == int(value) else None


def _log(n: Any) -> Any:
    value = number(n)
    return None if value <= 0 else normalize(DECIMALS.ln(Decimal(value)))


def _one(fn: Any, name: str) -> list[Overload]:
    return [overload(fn, name)]


def _scaled(mode: str) -> list[Overload]:
    return [overload(_rounder(mode), "n", "scale?")]


def _list(fn: Any) -> list[Overload]:
    return [overload(fn, "list...")]


FUNCTIONS: dict[str, list[Overload]] = {
    "decimal": [
        overload(_rounder(decimal.ROUND_HALF_EVEN), "n", "scale"),
        overload(decimal_in_mode, "n", "scale", "mode"),
    ],
    "floor": [overload(_rounder(decimal.ROUND_FLOOR), "n", "scale?")],
    "ceiling": [overload(_rounder(decimal.ROUND_CEILING), "n", "scale?")],
    "round up": _scaled(decimal.ROUND_UP),
    "round down": _scaled(decimal.ROUND_DOWN),
    "round half up": _scaled(decimal.ROUND_HALF_UP),
    "round half down": _scaled(decimal.ROUND_HALF_DOWN),
    "abs": _one(absolute, "n"),
    "modulo": [overload(modulo, "dividend", "divisor")],
    "sqrt": _one(sqrt, "number"),
    "log": _one(_log, "number"),
    "exp": _one(lambda n: normalize(DECIMALS.exp(Decimal(number(n)))), "number"),
    "odd": _one(lambda n: (whole := _whole(n)) is not None and whole % 2 == 1, "number"),
    "even": _one(lambda n: (whole := _whole(n)) is not None and whole % 2 == 0, "number"),
    "random number": [overload(lambda: Decimal(repr(random.random())))],
    "min": _list(lambda *args: _extreme(args, -1)),
    "max": _list(lambda *args: _extreme(args, 1)),
    "sum": _list(total),
    "mean": _list(mean),
    "product": _list(product),
    "median": _list(median),
    "stddev": _list(stddev),
    "mode": _list(mode),
}
