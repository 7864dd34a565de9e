"""Values in the DMN TCK's test files (testCases.xsd), and the TCK's rule for comparing a result with one.

The rule is the one the TCK's own Java runners apply (CompareValuesUtil for Drools, isEquals for Camunda's
dmn-scala): ``null`` equals only ``null``; two numbers are equal when they differ by less than 1e-8; lists
are equal item by item; contexts have the same keys and equal values; anything else must be equal and of the
same kind. Temporal values are equal when they are the same kind and print alike, as Java's ``equals`` on
``LocalDate``, ``ZonedDateTime``, ``OffsetTime``, ``Duration`` and ``Period`` tells two values apart by their
fields (an offset and a zone id differ; so do 10:00+01:00 and 09:00Z).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from zeebe_celery.engine.feel import FeelError, evaluate
from zeebe_celery.engine.feel.values import kind_of

__all__ = ["NS", "UNREADABLE", "read_value", "shown", "tck_equal"]

NS = "{http://www.omg.org/spec/DMN/20160719/testcase}"
_XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
_PRECISION = Decimal("0.00000001")


class _Unreadable:
    """An expected value this engine cannot even build (a date it cannot hold): equal to nothing."""

    def __repr__(self) -> str:
        return "<unreadable>"


UNREADABLE: Any = _Unreadable()

_TEMPORAL = {
    "xsd:date": "date",
    "xsd:dateTime": "date and time",
    "xsd:time": "time",
    "xsd:duration": "duration",
}
_TEMPORAL_KINDS = frozenset({"date", "date and time", "time", "days and time duration", "years and months duration"})


def read_value(element: ET.Element) -> Any:
    """The value an ``inputNode``, ``expected``, ``item`` or ``component`` holds."""
    value = element.find(f"{NS}value")
    listed = element.find(f"{NS}list")
    components = element.findall(f"{NS}component")
    if listed is not None:
        return [read_value(item) for item in listed.findall(f"{NS}item")]
    if components:
        return {c.get("name", ""): read_value(c) for c in components}
    if value is None or value.get(f"{_XSI}nil") == "true":
        return None
    return _scalar(value.get(f"{_XSI}type"), value.text or "")


def _scalar(kind: str | None, text: str) -> Any:
    if kind in ("xsd:decimal", "xsd:double", "xsd:integer", "xsd:int", "xsd:long"):
        try:
            number = Decimal(text.strip())
        except InvalidOperation:
            return UNREADABLE
        return number
    if kind == "xsd:boolean":
        return text.strip() == "true"
    if kind == "xsd:string":
        return text
    if kind in _TEMPORAL:
        try:
            built = evaluate(f"{_TEMPORAL[kind]}(text)", {"text": text.strip()})
        except FeelError:
            return UNREADABLE
        return UNREADABLE if built is None else built
    # No type: dmn-scala's runner reads a boolean, then a whole number, then a decimal, else the text.
    stripped = text.strip()
    if stripped.lower() in ("true", "false"):
        return stripped.lower() == "true"
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        return Decimal(stripped)
    except InvalidOperation:
        return text


def _is_number(value: Any) -> bool:
    return type(value) in (int, float, Decimal)


def _decimal(value: Any) -> Decimal:
    return Decimal(repr(value)) if type(value) is float else Decimal(value)


def _text_of(value: Any) -> Any:
    try:
        return evaluate("string(value)", {"value": value})
    except FeelError:
        return None


def tck_equal(expected: Any, actual: Any) -> bool:
    """Whether ``actual`` matches ``expected`` by the TCK's rule (see the module docstring)."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if expected is UNREADABLE:
        return False
    if _is_number(expected) and _is_number(actual):
        try:
            return abs(_decimal(expected) - _decimal(actual)) < _PRECISION
        except (ArithmeticError, ValueError):
            return False
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(tck_equal(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, Mapping):
        return (
            isinstance(actual, Mapping)
            and len(expected) == len(actual)
            and all(key in actual and tck_equal(value, actual[key]) for key, value in expected.items())
        )
    kind = kind_of(expected)
    if kind != kind_of(actual):
        return False
    if kind in _TEMPORAL_KINDS:
        text = _text_of(expected)
        return text is not None and text == _text_of(actual)
    return bool(expected == actual)


def shown(value: Any) -> str:
    """A value for a failure message, cut short."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 120 else text[:117] + "..."
