"""FEEL literals, operators, paths, filters, iteration and function definitions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from zeebe_celery.engine.feel import compile_expression, evaluate, to_json


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        ("1.25", Decimal("1.25")),
        ('"a \\"quoted\\" word\\n"', 'a "quoted" word\n'),
        ('"caf\\u00e9"', "café"),
        ("true", True),
        ("false", False),
        ("null", None),
        ("[1, 2, 3]", [1, 2, 3]),
        ("[]", []),
        ('{a: 1, "b c": {d: [true]}}', {"a": 1, "b c": {"d": [True]}}),
        ("{a: 1, b: a + 1, c: b * 2}", {"a": 1, "b": 2, "c": 4}),
        ("// a comment\n 1 /* and another */ + 1", 2),
    ],
)
def test_literals_evaluate_to_their_python_values(text: str, expected: Any) -> None:
    assert evaluate(text, {}) == expected


def test_adding_two_ints_gives_an_int() -> None:
    result = evaluate("a + b", {"a": 2, "b": 3})
    assert result == 5
    assert type(result) is int


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("2 ** 10", 1024),
        ("-x", -4),
        ("- -x", 4),
        ("7 / 2", 3.5),
        ("8 / 2", 4),
        ("0.1 + 0.2", 0.3),
        ("f * 2", 3.0),
        ('"abc" + "def"', "abcdef"),
        ("1 / 0", None),
        ('"a" + 1', None),
        ("null + 1", None),
        ("missing * 2", None),
    ],
)
def test_arithmetic_follows_feel_precedence_and_null_rules(text: str, expected: Any) -> None:
    assert to_json(evaluate(text, {"x": 4, "f": 1.5})) == expected


def test_a_float_variable_equals_the_same_decimal_literal() -> None:
    assert evaluate("x = 0.1", {"x": 0.1}) is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 < 2", True),
        ("2 <= 2", True),
        ("3 > 4", False),
        ("3 >= 4", False),
        ("1 = 1.0", True),
        ("1 != 2", True),
        ('"a" < "b"', True),
        ("[1, {a: 2}] = [1, {a: 2}]", True),
        ("{a: 1} = {a: 2}", False),
        ("null = null", True),
        ("x = null", True),
        ("1 = null", False),
        ('1 = "1"', None),
        ('1 < "a"', None),
        ("5 between 1 and 10", True),
        ("11 between 1 and 10", False),
        ("5 in [1..5]", True),
        ("5 in [1..5)", False),
        ("5 in ]1..5[", False),
        ("5 in (4..6)", True),
        ("3 in (1, 2)", False),
        ("2 in (1, 2)", True),
        ("2 in [1, 2, 3]", True),
        ("2 in (< 3)", True),
        ("2 in > 3", False),
        ("x in xs", True),
    ],
)
def test_comparisons_give_booleans_or_null_for_unlike_types(text: str, expected: Any) -> None:
    assert evaluate(text, {"xs": [None, 1]}) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true and true", True),
        ("true and false", False),
        ("false and null", False),
        ("true and null", None),
        ("true or null", True),
        ("false or null", None),
        ("false or false", False),
        ("null or true", True),
        ("not(true)", False),
        ("not(null)", None),
        ('not("x")', None),
        ("1 and true", None),
    ],
)
def test_and_or_and_not_use_three_valued_logic(text: str, expected: Any) -> None:
    assert evaluate(text, {}) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('if x > 1 then "big" else "small"', "big"),
        ('if x > 5 then "big" else "small"', "small"),
        ('if null then "yes" else "no"', "no"),
        ('if missing > 1 then "yes" else "no"', "no"),
    ],
)
def test_if_takes_the_else_branch_unless_the_condition_is_true(text: str, expected: Any) -> None:
    assert evaluate(text, {"x": 2}) == expected


ORDER = {"order": {"amount": 150, "lines": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 3}], "tags": [1, 2, 3, 4]}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("order.amount", 150),
        ("order.missing", None),
        ("order.amount.deeper", None),
        ("nothing.at.all", None),
        ("order.lines.sku", ["a", "b"]),
        ("order.tags[1]", 1),
        ("order.tags[-1]", 4),
        ("order.tags[0]", None),
        ("order.tags[9]", None),
        ("order.tags[item > 2]", [3, 4]),
        ("order.lines[qty > 1].sku", ["b"]),
        ("order.lines[item.qty = 1][1].sku", "a"),
        ("order.tags[n]", 2),
        ("5[1]", 5),
        ("{x: {y: {z: 7}}}.x.y.z", 7),
    ],
)
def test_paths_indexes_and_filters_read_into_values(text: str, expected: Any) -> None:
    assert evaluate(text, {**ORDER, "n": 2}) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("for x in [1, 2, 3] return x * 2", [2, 4, 6]),
        ("for x in 1..3 return x", [1, 2, 3]),
        ("for x in 3..1 return x", [3, 2, 1]),
        ("for x in [1, 2], y in [10, 20] return x + y", [11, 21, 12, 22]),
        ("for i in 1..4 return if i = 1 then 1 else partial[-1] * i", [1, 2, 6, 24]),
        ("for x in null return x", None),
        ("some x in [1, 5] satisfies x > 4", True),
        ("some x in [1, 2] satisfies x > 4", False),
        ("every x in [5, 6] satisfies x > 4", True),
        ("every x in [5, 1] satisfies x > 4", False),
        ("every x in [] satisfies x > 4", True),
    ],
)
def test_for_some_and_every_iterate_over_lists(text: str, expected: Any) -> None:
    assert evaluate(text, {}) == expected


def test_a_function_definition_can_be_called_from_a_later_context_entry() -> None:
    assert evaluate("{double: function(x) x * 2, result: double(21)}.result", {}) == 42


def test_a_user_function_accepts_named_arguments() -> None:
    assert evaluate("{f: function(a, b) a - b, r: f(b: 1, a: 10)}.r", {}) == 9


def test_calling_something_that_is_not_a_function_gives_null() -> None:
    assert evaluate("x(1)", {"x": 5}) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 instance of number", True),
        ('"a" instance of string', True),
        ("x instance of context", True),
        ("[1] instance of list", True),
        ('@"2024-01-01T10:00:00" instance of date and time', True),
        ('@"P1Y" instance of years and months duration', True),
        ('@"PT1H" instance of days and time duration', True),
        ('"a" instance of number', False),
        ("null instance of Any", False),
    ],
)
def test_instance_of_names_the_feel_type(text: str, expected: bool) -> None:
    assert evaluate(text, {"x": {"a": 1}}) is expected


def test_names_lists_free_variables_but_not_loop_or_local_names() -> None:
    expression = compile_expression("for x in items return x + rate + {a: 1, b: a + offset}.b")
    assert expression.names() == frozenset({"items", "rate", "offset"})


def test_compiled_expressions_are_cached_by_text() -> None:
    assert compile_expression("a + 1") is compile_expression("a + 1")


def test_an_expression_accepts_any_mapping_as_variables() -> None:
    from types import MappingProxyType

    assert evaluate("a.b", MappingProxyType({"a": {"b": 1}})) == 1
