"""FEEL values written out: as JSON-able Python values (:func:`to_json`) and as FEEL's ``string()`` text."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from .temporal import YearsMonthsDuration, format_date, format_datetime, format_duration, format_time
from .wide import WideTemporal

__all__ = ["feel_string", "to_json"]


def _decimal_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _temporal_text(value: Any) -> str | None:
    kind = type(value)
    if kind is datetime:
        return format_datetime(value)
    if kind is date:
        return format_date(value)
    if kind is time:
        return format_time(value)
    if kind is WideTemporal:
        inner = type(value.value)
        if inner is time:
            return format_time(value)
        return format_datetime(value) if inner is datetime else format_date(value)
    if kind is timedelta or kind is YearsMonthsDuration:
        return format_duration(value)
    return None


def to_json(value: Any) -> Any:
    """A FEEL value as JSON-able Python: temporal values become their ISO text, an integral Decimal an
    int and any other Decimal a float; lists and contexts are converted deeply. Functions become null."""
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is str or kind is float:
        return value
    if kind is Decimal:
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [to_json(v) for v in value]
    text = _temporal_text(value)
    if text is not None:
        return text
    return None if callable(value) else str(value)


def feel_string(value: Any, *, nested: bool = False) -> str:
    """FEEL's ``string(value)``: ``"null"``, ``"1.5"``, ``"[1, \\"a\\"]"``, ``"{a: 1}"``, ``"P1D"``..."""
    kind = type(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is str:
        text: str = value
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"' if nested else text
    if kind is int:
        return str(value)
    if kind is float:
        return _decimal_text(Decimal(repr(value)))
    if kind is Decimal:
        return _decimal_text(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {feel_string(v, nested=True)}" for k, v in value.items()) + "}"
    if kind is list or kind is tuple:
        return "[" + ", ".join(feel_string(v, nested=True) for v in value) + "]"
    temporal = _temporal_text(value)
    return temporal if temporal is not None else str(value)
