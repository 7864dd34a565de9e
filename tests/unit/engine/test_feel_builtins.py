"""FEEL's built-in functions, by family."""

from __future__ import annotations

from typing import Any

import pytest

from zeebe_celery.engine.feel import FeelEvaluationError, evaluate, to_json


def feel(text: str, **variables: Any) -> Any:
    return to_json(evaluate(text, variables))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('string length("foo")', 3),
        ('string  length ("foo")', 3),
        ('substring("foobar", 3)', "obar"),
        ('substring("foobar", 3, 3)', "oba"),
        ('substring("foobar", -2, 1)', "a"),
        ('substring before("foobar", "bar")', "foo"),
        ('substring after("foobar", "ob")', "ar"),
        ('substring after("foobar", "x")', ""),
        ('upper case("aBc")', "ABC"),
        ('lower case("aBc")', "abc"),
        ('contains("foobar", "of")', False),
        ('contains("foobar", "ob")', True),
        ('starts with("foobar", "fo")', True),
        ('ends with("foobar", "r")', True),
        ('matches("foobar", "^fo*")', True),
        ('matches("FOO", "foo", "i")', True),
        ('replace("abcd", "(ab)|(a)", "[1=$1][2=$2]")', "[1=ab][2=]cd"),
        ('replace("aaa", "a", "b")', "bbb"),
        ('split("a-b-c", "-")', ["a", "b", "c"]),
        ('split("a1b22c", "\\\\d+")', ["a", "b", "c"]),
        ('string join(["a", "b", "c"], ", ")', "a, b, c"),
        ('string join(["a", null, "c"])', "ac"),
        ('string join(["a"], "-", "[", "]")', "[a]"),
        ('trim("  x  ")', "x"),
        ('is blank("  ")', True),
        ("string length(5)", None),
        ("upper case(null)", None),
    ],
)
def test_string_functions(text: str, expected: Any) -> None:
    assert feel(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("decimal(1/3, 2)", 0.33),
        ("decimal(2.5, 0)", 2),
        ("floor(1.5)", 1),
        ("floor(-1.5)", -2),
        ("floor(1.56, 1)", 1.5),
        ("ceiling(1.2)", 2),
        ("ceiling(-1.2)", -1),
        ("round up(1.1)", 2),
        ("round down(1.9)", 1),
        ("round half up(2.5)", 3),
        ("round half down(2.5)", 2),
        ("abs(-3)", 3),
        ('abs(duration("-P1D"))', "P1D"),
        ("modulo(12, 5)", 2),
        ("modulo(-12, 5)", 3),
        ("modulo(12, -5)", -3),
        ("modulo(1, 0)", None),
        ("sqrt(16)", 4),
        ("sqrt(-1)", None),
        ("odd(5)", True),
        ("even(5)", False),
        ("min([3, 1, 2])", 1),
        ("min(3, 1, 2)", 1),
        ("max(3, 1, 2)", 3),
        ('max("a", "c", "b")', "c"),
        ("sum([1, 2, 3])", 6),
        ("sum(1.5, 2)", 3.5),
        ("mean([1, 2, 3, 4])", 2.5),
        ("product([2, 3, 4])", 24),
        ("median([3, 1, 2])", 2),
        ("min([])", None),
        ('sum([1, "a"])', None),
        ('floor("x")', None),
    ],
)
def test_numeric_functions(text: str, expected: Any) -> None:
    assert feel(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("list contains([1, 2, 3], 2)", True),
        ("list contains([1, null], null)", True),
        ("count([1, 2, 3])", 3),
        ("append([1], 2, 3)", [1, 2, 3]),
        ("concatenate([1], [2], [3])", [1, 2, 3]),
        ("insert before([1, 3], 2, 2)", [1, 2, 3]),
        ("insert before([1, 2], 3, 3)", [1, 2, 3]),
        ("remove([1, 2, 3], 2)", [1, 3]),
        ("remove([1, 2, 3], 9)", None),
        ("reverse([1, 2, 3])", [3, 2, 1]),
        ("index of([1, 2, 1], 1)", [1, 3]),
        ("union([1, 2], [2, 3])", [1, 2, 3]),
        ("distinct values([1, 2, 1, 3, 2])", [1, 2, 3]),
        ("duplicate values([1, 2, 1, 3, 2])", [1, 2]),
        ("flatten([[1, [2]], 3])", [1, 2, 3]),
        ("sort([3, 1, 2])", [1, 2, 3]),
        ("sort([3, 1, 2], function(a, b) a > b)", [3, 2, 1]),
        ("sort([{n: 2}, {n: 1}], function(x, y) x.n < y.n).n", [1, 2]),
        ('sort([1, "a"])', None),
        ("sublist([1, 2, 3, 4], 2)", [2, 3, 4]),
        ("sublist([1, 2, 3, 4], 2, 2)", [2, 3]),
        ("is empty([])", True),
        ("is empty([1])", False),
        ("all([true, true])", True),
        ("all(true, false)", False),
        ("all([true, null])", None),
        ("any([false, true])", True),
        ("any([false, false])", False),
        ("any([])", False),
        ("count(5)", None),
    ],
)
def test_list_functions(text: str, expected: Any) -> None:
    assert feel(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('get value({a: 1}, "a")', 1),
        ('get value({a: {b: 2}}, ["a", "b"])', 2),
        ('get value({a: 1}, "z")', None),
        ("get entries({a: 1, b: 2})", [{"key": "a", "value": 1}, {"key": "b", "value": 2}]),
        ('put({a: 1}, "b", 2)', {"a": 1, "b": 2}),
        ('put({a: {b: 1}}, ["a", "c"], 2)', {"a": {"b": 1, "c": 2}}),
        ('context put({a: 1}, "a", 3)', {"a": 3}),
        ("context merge([{a: 1}, {b: 2}, {a: 3}])", {"a": 3, "b": 2}),
        ('context([{key: "a", value: 1}])', {"a": 1}),
        ('get value(5, "a")', None),
    ],
)
def test_context_functions(text: str, expected: Any) -> None:
    assert feel(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("string(1.50)", "1.5"),
        ("string(12)", "12"),
        ("string(true)", "true"),
        ("string(null)", "null"),
        ('string([1, "a"])', '[1, "a"]'),
        ("string({a: 1})", "{a: 1}"),
        ('string(date("2024-01-02"))', "2024-01-02"),
        ('number("12")', 12),
        ('number("1.5")', 1.5),
        ('number("1.000,5", ".", ",")', 1000.5),
        ('number("abc")', None),
        ('number(from: "7")', 7),
        ("is defined(x)", False),
        ("is defined(1)", True),
        ('get or else(null, "default")', "default"),
        ('get or else("this", "default")', "this"),
        ("assert(1, true)", 1),
    ],
)
def test_conversion_and_boolean_functions(text: str, expected: Any) -> None:
    assert feel(text) == expected


def test_a_failed_assert_raises_an_evaluation_error_with_its_message() -> None:
    with pytest.raises(FeelEvaluationError, match="x must be positive"):
        evaluate('assert(x, x > 0, "x must be positive")', {"x": -1})


def test_an_unknown_function_gives_null_as_feel_scala_does() -> None:
    assert evaluate("frobnicate(1)", {}) is None


def test_a_built_in_given_the_wrong_number_of_arguments_gives_null() -> None:
    assert evaluate('upper case("a", "b")', {}) is None
