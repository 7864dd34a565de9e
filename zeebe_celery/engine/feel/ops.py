"""FEEL's arithmetic: ``+ - * / **`` and negation over numbers, strings, dates, times and durations.

Every operator gives ``None`` (FEEL's null) for operands it is not defined on, as feel-scala does.
Decimal arithmetic runs with 34 significant digits, the precision of Java's DECIMAL128.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from .limits import check_size
from .temporal import YearsMonthsDuration, add_months
from .values import is_number, to_decimal
from .wide import CYCLE_DAYS, WideTemporal, split, widen

__all__ = ["DECIMALS", "add", "divide", "multiply", "negate", "normalize", "power", "subtract"]

# DECIMAL128 precision; exponents as far as java.math.BigDecimal's 32-bit scale reaches.
DECIMALS = Context(prec=34, Emax=2_147_483_647, Emin=-2_147_483_648)
_MICRO = timedelta(microseconds=1)
_MAX_EXPONENT = 10_000
# Values smaller than this are never checked against the size limit: checking costs a lookup.
_SIZE_CHECKED = 4096
# Beyond this an int power is computed as a 34-digit decimal, as feel-scala's are: 10**100000 is cheap then.
_MAX_EXACT_BITS = 1 << 16


def normalize(value: Decimal) -> int | Decimal:
    """An integral decimal as an int, so ``4 / 2`` is the int ``2`` (one of up to 34 digits: ``1E+400`` stays)."""
    if value.adjusted() < 34 and value == value.to_integral_value():
        return int(value)
    return value


def _decimal(operation: Callable[[Any, Any], Decimal], left: Any, right: Any) -> Decimal | None:
    """A decimal operation; beyond DECIMAL128's exponents the result is null, as feel-scala's."""
    try:
        return operation(to_decimal(left), to_decimal(right))
    except ArithmeticError:
        return None


def _calendar(value: Any) -> bool:
    return type(value) is date or type(value) is datetime


def _shift_time(moment: time, delta: timedelta) -> time:
    shifted = datetime.combine(date(2000, 1, 1), moment) + delta
    return shifted.timetz()


def add(left: Any, right: Any) -> Any:
    if type(left) is int and type(right) is int:
        return left + right
    if left is None or right is None:
        return None
    if is_number(left) and is_number(right):
        return _decimal(DECIMALS.add, left, right)
    if type(left) is str and type(right) is str:
        size = len(left) + len(right)
        if size > _SIZE_CHECKED:
            check_size(size)  # before building it
        return left + right
    return _add_temporal(left, right)


def _add_temporal(left: Any, right: Any) -> Any:
    if type(right) in (date, datetime, WideTemporal) and type(left) in (timedelta, YearsMonthsDuration):
        left, right = right, left
    if type(left) is WideTemporal:
        moved = _add_temporal(left.value, right)
        return None if moved is None else widen(moved, left.cycles, left.nanos)
    if type(left) is timedelta:
        if type(right) is timedelta:
            return left + right
        if type(right) is time:
            return _shift_time(right, left)
        return None
    if type(left) is YearsMonthsDuration and type(right) is YearsMonthsDuration:
        return YearsMonthsDuration(left.months + right.months)
    if _calendar(left) and type(right) in (timedelta, YearsMonthsDuration):
        try:
            return _move(left, right)
        except (OverflowError, ValueError):  # past Python's years: move a value 400-year cycles away
            cycles, base = split(left)
            return widen(_move(base, right), cycles)
    if type(left) is time and type(right) is timedelta:
        return _shift_time(left, right)
    return None


def _move(day: Any, by: Any) -> Any:
    return day + by if type(by) is timedelta else add_months(day, by.months)


def subtract(left: Any, right: Any) -> Any:
    if type(left) is int and type(right) is int:
        return left - right
    if left is None or right is None:
        return None
    if is_number(left) and is_number(right):
        return _decimal(DECIMALS.subtract, left, right)
    if type(left) in _DAYS and type(right) in _DAYS:
        return _between(left, right)
    if type(left) is WideTemporal and type(right) in (timedelta, YearsMonthsDuration):
        moved = subtract(left.value, right)
        return None if moved is None else widen(moved, left.cycles, left.nanos)
    if type(left) is timedelta and type(right) is timedelta:
        return left - right
    if type(right) is YearsMonthsDuration:
        if type(left) is YearsMonthsDuration:
            return YearsMonthsDuration(left.months - right.months)
        if _calendar(left):
            return add(left, YearsMonthsDuration(-right.months))
        return None
    if type(right) is timedelta and (_calendar(left) or type(left) is time):
        return add(left, -right)
    return None


_DAYS = (date, datetime, time, WideTemporal)
_CYCLE = timedelta(days=CYCLE_DAYS)


def _midnight(day: date, like: Any) -> datetime:
    """A date as the date-time it is subtracted from or to: its midnight in UTC; with a local date-time, an error."""
    if like.tzinfo is None:
        raise TypeError("a date and a local date-time have no difference")
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _on_any_day(moment: time) -> datetime:
    return datetime.combine(date(2000, 1, 1), moment)


def _between(left: Any, right: Any) -> timedelta | None:
    """``left - right`` of dates and date-times; a date against a date-time counts from its midnight."""
    (left_cycles, left_value), (right_cycles, right_value) = split(left), split(right)
    if type(left_value) is time or type(right_value) is time:
        if type(left_value) is not time or type(right_value) is not time:
            return None
        left_value, right_value = _on_any_day(left_value), _on_any_day(right_value)
    try:
        if type(left_value) is date and type(right_value) is datetime:
            left_value = _midnight(left_value, right_value)
        elif type(right_value) is date and type(left_value) is datetime:
            right_value = _midnight(right_value, left_value)
        difference: timedelta = (left_value - right_value) + (left_cycles - right_cycles) * _CYCLE
    except TypeError:
        return None  # a naive and an aware date-time
    return difference


def _scale_delta(delta: timedelta, factor: Any) -> timedelta:
    return timedelta(microseconds=int(DECIMALS.multiply(delta // _MICRO, to_decimal(factor))))


def multiply(left: Any, right: Any) -> Any:
    if type(left) is int and type(right) is int:
        if left.bit_length() + right.bit_length() <= _MAX_EXACT_BITS:
            return left * right
        return _decimal(DECIMALS.multiply, left, right)  # 34 digits, as feel-scala's: squaring cannot run away
    if left is None or right is None:
        return None
    if is_number(left) and is_number(right):
        return _decimal(DECIMALS.multiply, left, right)
    if is_number(left):
        left, right = right, left
    if not is_number(right):
        return None
    if type(left) is timedelta:
        return _scale_delta(left, right)
    if type(left) is YearsMonthsDuration:
        return YearsMonthsDuration(int(DECIMALS.multiply(left.months, to_decimal(right))))
    return None


def divide(left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    try:
        if is_number(left) and is_number(right):
            if not right:
                return None
            return normalize(DECIMALS.divide(to_decimal(left), to_decimal(right)))
        if type(left) is timedelta and type(right) is timedelta:
            return None if not right else normalize(DECIMALS.divide(left // _MICRO, right // _MICRO))
        if type(left) is YearsMonthsDuration and type(right) is YearsMonthsDuration:
            return None if not right.months else normalize(DECIMALS.divide(left.months, right.months))
        if is_number(right) and right:
            if type(left) is timedelta:
                return _scale_delta(left, DECIMALS.divide(1, to_decimal(right)))
            if type(left) is YearsMonthsDuration:
                return YearsMonthsDuration(int(DECIMALS.divide(left.months, to_decimal(right))))
    except (InvalidOperation, OverflowError):
        return None
    return None


def power(left: Any, right: Any) -> Any:
    if not (is_number(left) and is_number(right)):
        return None
    try:
        exact = type(left) is int and type(right) is int and 0 <= right <= _MAX_EXPONENT
        if exact and left.bit_length() * right <= _MAX_EXACT_BITS:
            return left**right
        return normalize(DECIMALS.power(to_decimal(left), to_decimal(right)))
    except (InvalidOperation, OverflowError, ArithmeticError):
        return None


def negate(value: Any) -> Any:
    if type(value) is int or type(value) is Decimal or type(value) is timedelta:
        return -value
    if type(value) is float:
        return -to_decimal(value)
    if type(value) is YearsMonthsDuration:
        return YearsMonthsDuration(-value.months)
    return None
