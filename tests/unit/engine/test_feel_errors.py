"""FEEL syntax errors, evaluation errors, null handling and JSON conversion."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from zeebe_celery.engine import feel
from zeebe_celery.engine.feel import (
    FeelError,
    FeelEvaluationError,
    FeelSyntaxError,
    compile_expression,
    evaluate,
    to_json,
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 +", "unexpected end of expression"),
        ("a b", "unexpected 'b' at column 3"),
        ("(1 + 2", "unexpected end of expression"),
        ("1 # 2", "unexpected character '#' at column 3"),
        ('@"not a date"', 'invalid temporal literal @"not a date"'),
        ("", "the expression is empty"),
        ("if x then 1", "unexpected end of expression"),
    ],
)
def test_bad_expressions_raise_a_syntax_error_that_says_where(text: str, message: str) -> None:
    with pytest.raises(FeelSyntaxError) as caught:
        compile_expression(text)
    assert message in str(caught.value)
    assert isinstance(caught.value, FeelError)


def test_a_syntax_error_on_a_later_line_names_the_line() -> None:
    with pytest.raises(FeelSyntaxError, match="line 2, column 3"):
        compile_expression("1 +\n1 ) 2")


def test_evaluation_errors_are_feel_errors() -> None:
    assert issubclass(FeelEvaluationError, FeelError)
    with pytest.raises(FeelEvaluationError):
        evaluate("assert(null, false)", {})


@pytest.mark.parametrize(
    "text",
    ["missing", "missing.field", "missing[1]", "missing + 1", "-missing", "upper case(missing)", "missing > 1"],
)
def test_a_missing_variable_is_null_and_so_is_what_is_computed_from_it(text: str) -> None:
    assert evaluate(text, {}) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("2.0"), 2),
        (Decimal("2.5"), 2.5),
        ({"a": [Decimal("1.5"), None, True]}, {"a": [1.5, None, True]}),
        ("text", "text"),
    ],
)
def test_to_json_normalises_numbers_deeply(value: Any, expected: Any) -> None:
    result = to_json(value)
    assert result == expected
    assert type(result) is type(expected)


def test_to_json_turns_a_function_value_into_null() -> None:
    assert to_json(evaluate("function(x) x", {})) is None


def test_the_public_api_is_complete_and_sorted() -> None:
    assert feel.__all__ == sorted(feel.__all__)
    for name in feel.__all__:
        assert hasattr(feel, name)
