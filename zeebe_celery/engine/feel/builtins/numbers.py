"""FEEL's numeric functions, with Decimal rounding modes matching java.math.RoundingMode."""

from __future__ import annotations

import decimal
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from zeebe_celery.engine.feel.ops import DECIMALS, add, normalize
from zeebe_celery.engine.feel.temporal import YearsMonthsDuration
from zeebe_celery.engine.feel.values import compare

from ._args import integer, number, spread


def _rounder(mode: str) -> Callable[..., Any]:
    def round_to(n: Any, scale: Any = 0) -> int | Decimal:
        places = integer(scale)
        return normalize(Decimal(number(n)).quantize(Decimal(1).scaleb(-places), rounding=mode))

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
    return normalize(DECIMALS.divide(Decimal(total(*values)), len(values)))


def product(*args: Any) -> Any:
    result: int | Decimal = 1
    for value in (number(v) for v in spread(args)):
        result = (
            DECIMALS.multiply(result, value) if type(value) is Decimal or type(result) is Decimal else result * value
        )
    return result


def median(*args: Any) -> Any:
    values = sorted(number(v) for v in spread(args))
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


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "decimal": _rounder(decimal.ROUND_HALF_EVEN),
    "floor": _rounder(decimal.ROUND_FLOOR),
    "ceiling": _rounder(decimal.ROUND_CEILING),
    "round up": _rounder(decimal.ROUND_UP),
    "round down": _rounder(decimal.ROUND_DOWN),
    "round half up": _rounder(decimal.ROUND_HALF_UP),
    "round half down": _rounder(decimal.ROUND_HALF_DOWN),
    "abs": absolute,
    "modulo": modulo,
    "sqrt": sqrt,
    "log": lambda n: None if number(n) <= 0 else normalize(DECIMALS.ln(Decimal(number(n)))),
    "exp": lambda n: normalize(DECIMALS.exp(Decimal(number(n)))),
    "odd": lambda n: integer(n) % 2 == 1,
    "even": lambda n: integer(n) % 2 == 0,
    "min": lambda *args: _extreme(args, -1),
    "max": lambda *args: _extreme(args, 1),
    "sum": total,
    "mean": mean,
    "product": product,
    "median": median,
}
