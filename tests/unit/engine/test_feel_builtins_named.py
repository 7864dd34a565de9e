"""Built-ins called by the spec's parameter names, and the built-ins DMN 1.5 and feel-scala add."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from zeebe_celery.engine.feel import FeelEvaluationError, evaluate, to_json


def feel(text: str) -> Any:
    return to_json(evaluate(text, {}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sqrt(number: 16)", 4),
        ("abs(n: -2)", 2),
        ("abs(number: -2)", None),  # the spec names it n; feel-scala also takes number
        ("decimal(n: 1.235, scale: 2)", 1.24),
        ("floor(n: 1.5)", 1),
        ("round up(n: 1.21, scale: 1)", 1.3),
        ("modulo(dividend: 7, divisor: 4)", 3),
        ('substring(string: "foobar", start position: 3)', "obar"),
        ('substring(string: "foobar", start position: 3, length: 2)', "ob"),
        ('string length(string: "abc")', 3),
        ('replace(input: "abc", pattern: "b", replacement: "x")', "axc"),
        ('matches(input: "abc", pattern: "B", flags: "i")', True),
        ('split(string: "a,b", delimiter: ",")', ["a", "b"]),
        ("sublist(list: [1, 2, 3], start position: 2)", [2, 3]),
        ("sublist(list: [1, 2, 3], start: 2, length: 1)", [2]),
        ("insert before(list: [1, 3], position: 2, newItem: 2)", [1, 2, 3]),
        ("list contains(list: [1, 2], element: 2)", True),
        ("min(list: [3, 1, 2])", 1),
        ("sum(list: [1, 2])", 3),
        ("concatenate(lists: [[1], [2, 3]])", [1, 2, 3]),
        ("append(list: [1], items: [2, 3])", [1, 2, 3]),
        ('number(from: "1.000,5", grouping separator: ".", decimal separator: ",")', 1000.5),
        ('date(from: "2024-01-31")', "2024-01-31"),
        ("date(year: 2024, month: 1, day: 31)", "2024-01-31"),
        ("time(hour: 10, minute: 30, second: 0)", "10:30:00"),
        ('get value(m: {a: 1}, key: "a")', 1),
        ('context put(context: {}, key: "a", value: 1)', {"a": 1}),
        ("context merge(contexts: [{a: 1}, {b: 2}])", {"a": 1, "b": 2}),
        ("get or else(value: null, default: 2)", 2),
        ("is(value1: 1, value2: 1)", True),
        ("not(negand: false)", True),
        ("before(point1: 1, point2: 2)", True),
        ("before(range: [1..2], point: 3)", True),
        ("before(point: 3, range: [1..2])", False),
        ("sqrt(nonsense: 4)", None),
        ("sqrt(1, 2)", None),
    ],
)
def test_named_arguments_use_the_spec_parameter_names(text: str, expected: Any) -> None:
    assert feel(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mode([6, 3, 9, 6, 6])", [6]),
        ("mode([6, 1, 9, 6, 1])", [1, 6]),
        ("mode([])", []),
        ("median([8, 2, 5, 3, 4])", 4),
        ("median([6, 1, 2, 3])", 2.5),
        ("median([])", None),
        ("stddev([2, 4, 7, 5])", 2.081665999466132735282297706979931),
        ("stddev([47])", None),
        ("stddev(2, 4, 7, 5)", 2.081665999466132735282297706979931),
        ("partition([1, 2, 3, 4, 5], 2)", [[1, 2], [3, 4], [5]]),
        ("partition([1], 0)", None),
        ("list replace([2, 4, 7, 8], 3, 6)", [2, 4, 6, 8]),
        ("list replace([2, 4, 7, 8], -1, 6)", [2, 4, 7, 6]),
        ("list replace([2, 4, 7, 8], function(item, newItem) item > newItem, 6)", [2, 4, 6, 6]),
        ("duplicate values([1, 2, 1, 3, 2])", [1, 2]),
        ("is empty([1])", False),
        ('string join(["a", "b"], ", ", "[", "]")', "[a, b]"),
        ('string join(["a", null, "b"])', "ab"),
        ('is blank("  ")', True),
        ('to base64("FEEL")', "RkVFTA=="),
        ('from base64("RkVFTA==")', "FEEL"),
        ('from base64("not base64!")', None),
        ('decimal(2.5, 0, "HALF_UP")', 3),
        ('decimal(2.5, 0, "SIDEWAYS")', None),
        ("floor(-1.55, 1)", -1.6),
        ("ceiling(1.51, 1)", 1.6),
        ("odd(5)", True),
        ("even(2.5)", False),
        ('from json("{\\"a\\": [1, 2.5, null]}")', {"a": [1, 2.5, None]}),
        ('to json({a: [1, "x"]})', '{"a":[1,"x"]}'),
        ("put all({a: 1}, {a: 2, b: 3})", {"a": 2, "b": 3}),
        ('context([{key: "a", value: 1}])', {"a": 1}),
        ('get value({a: {b: 1}}, ["a", "b"])', 1),
        ("and([true, true])", True),
        ("or(false, null)", None),
        ('is(date("2024-01-01"), date and time("2024-01-01T00:00:00"))', False),
        ('is(time("10:00:00Z"), time("10:00:00+00:00"))', True),
    ],
)
def test_the_built_ins_dmn_and_feel_scala_add(text: str, expected: Any) -> None:
    assert feel(text) == expected


def test_random_number_is_in_zero_to_one() -> None:
    value = evaluate("random number()", {})
    assert type(value) is Decimal
    assert 0 <= value < 1


def test_uuid_gives_a_fresh_time_ordered_uuid() -> None:
    first, second = evaluate("uuid()", {}), evaluate("uuid()", {})
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first)
    assert first != second


def test_assert_fails_with_its_cause() -> None:
    with pytest.raises(FeelEvaluationError, match="x is negative"):
        evaluate('assert(x, x >= 0, "x is negative")', {"x": -1})
