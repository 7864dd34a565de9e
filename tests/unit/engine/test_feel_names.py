"""FEEL's names and literals as feel-scala parses them: unicode, backticks, names with spaces, exponent
literals and DMN 1.5 type expressions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from zeebe_celery.engine.feel import Range, compile_expression, evaluate


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("größe * 2", {"größe": 21}, 42),
        ("日付 + 1", {"日付": 1}, 2),
        ("$amount", {"$amount": 5}, 5),
        ("`Full Name`", {"Full Name": "Ada"}, "Ada"),
        ("`a+b` - 1", {"a+b": 3}, 2),
        ("person.`first name`", {"person": {"first name": "Ada"}}, "Ada"),
        ("order", {"order": 1}, 1),
        ("android and notify", {"android": True, "notify": True}, True),
        ("{Full Name: 1, Applicant's age: 2}", {}, {"Full Name": 1, "Applicant's age": 2}),
        ("{a+b: 1}.`a+b`", {}, 1),
        ('{"quoted key": 1}', {}, {"quoted key": 1}),
        ("{`x y`: 3}", {}, {"x y": 3}),
        ('date and time("2024-01-01T10:00:00+02:00").time offset', {}, timedelta(hours=2)),
    ],
)
def test_names_read_as_feel_scala_reads_them(text: str, variables: dict[str, Any], expected: Any) -> None:
    assert evaluate(text, variables) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.23e4", 12300),
        ("1.23e+4", 12300),
        ("1.23e-4", Decimal("0.000123")),
        ("2E3", 2000),
        (".872", Decimal("0.872")),
        ("-.5", Decimal("-0.5")),
        ("[1..3]", Range(1, 3, start_closed=True, end_closed=True)),
    ],
)
def test_number_literals_take_exponents_and_a_leading_point(text: str, expected: Any) -> None:
    assert evaluate(text, {}) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('string join(["a", "b"], "-")', "a-b"),
        ("is empty([])", True),
        ("get or else(null, 1)", 1),
        ('date and time("2024-01-01") = date and time("2024-01-01T00:00:00")', True),
        ('years and months duration(date("2020-01-01"), date("2021-02-01")) = duration("P1Y1M")', True),
        ('last day of month(date("2024-02-10"))', 29),
        ("list replace([1, 2], 1, 0)", [0, 2]),
    ],
)
def test_built_ins_named_with_spaces_are_called_by_that_name(text: str, expected: Any) -> None:
    assert evaluate(text, {}) == expected


def test_a_function_value_named_with_spaces_is_called_from_the_variables() -> None:
    double = evaluate("function(x) x * 2", {})
    assert evaluate("Double It(21)", {"Double It": double}) == 42
    assert evaluate("Double It(x: 4)", {"Double It": double}) == 8


@pytest.mark.parametrize(
    "text",
    ["if x then f(1) else 2", "for y in xs return f(y)", "some y in xs satisfies g(y)", "x and f(1)"],
)
def test_keywords_never_join_a_name_with_spaces(text: str) -> None:
    compile_expression(text)  # parses: `x then f` is not read as one function name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("null instance of Any", False),
        ("1 instance of Any", True),
        ("1 instance of number", True),
        ('"a" instance of string', True),
        ('@"2024-01-01" instance of date', True),
        ('@"2024-01-01T10:00:00" instance of date and time', True),
        ('@"P1Y" instance of years and months duration', True),
        ('@"PT1H" instance of days and time duration', True),
        ("[1, 2] instance of list<number>", True),
        ('[1, "a"] instance of list<number>', False),
        ('[1, "a"] instance of list<Any>', True),
        ("{a: 1} instance of context<a: number>", True),
        ('{a: "x"} instance of context<a: number>', False),
        ("{a: 1, b: 2} instance of context<>", True),
        ("(function(x) x) instance of function<Any> -> Any", True),
        ("(function(x) x) instance of function<>->Any", False),
        ("[1..2] instance of range<number>", True),
        ("[1..2] instance of range<string>", False),
        ("1 instance of tUserDefined", False),
        ("[[1]] instance of list<list<number>>", True),
    ],
)
def test_instance_of_reads_dmn_type_expressions(text: str, expected: bool) -> None:
    assert evaluate(text, {}) is expected


def test_an_instance_of_check_can_be_combined() -> None:
    assert evaluate("x instance of list<number> and count(x) > 1", {"x": [1, 2]}) is True
