"""DMN input entries: unary tests."""

from __future__ import annotations

from typing import Any

import pytest

from zeebe_celery.engine.feel import FeelSyntaxError, compile_unary_tests


@pytest.mark.parametrize(
    ("entry", "value", "expected"),
    [
        ("-", "anything", True),
        ("", None, True),
        ('"gold"', "gold", True),
        ('"gold"', "silver", False),
        ('"gold","silver"', "silver", True),
        ('"gold", "silver"', "bronze", False),
        ("< 10", 5, True),
        ("< 10", 10, False),
        ("<= 10", 10, True),
        ("> 10", 11, True),
        (">= 10", 9, False),
        ("= 3", 3, True),
        ("!= 3", 3, False),
        ("< 10, > 50", 60, True),
        ("< 10, > 50", 30, False),
        ("[1..5]", 5, True),
        ("[1..5[", 5, False),
        ("]1..5]", 1, False),
        ("(1..5)", 3, True),
        ('not("x")', "y", True),
        ('not("x")', "x", False),
        ('not("a", "b")', "b", False),
        ("not(< 5)", 7, True),
        ("? > 5", 6, True),
        ("? > 5 and ? < 10", 12, False),
        ("string length(?) = 3", "abc", True),
        ("limit", 4, True),
        ("< limit", 3, True),
        ("allowed", "b", True),
        ("allowed", "z", False),
        ("null", None, True),
        ("null", 1, False),
        ("true", True, True),
        ("false", False, True),
        ("true", False, False),
        ("< 10", "a string", False),
        ('>= date("2024-01-01")', __import__("datetime").date(2024, 2, 1), True),
    ],
)
def test_unary_tests_match_the_input_value(entry: str, value: Any, expected: bool) -> None:
    variables = {"limit": 4, "allowed": ["a", "b"]}
    assert compile_unary_tests(entry).matches(value, variables) is expected


def test_a_boolean_expression_without_question_mark_decides_for_a_non_boolean_input() -> None:
    assert compile_unary_tests("x > 5").matches("ignored", {"x": 6}) is True
    assert compile_unary_tests("x > 5").matches("ignored", {"x": 1}) is False


def test_an_invalid_entry_is_a_syntax_error() -> None:
    with pytest.raises(FeelSyntaxError, match="unexpected"):
        compile_unary_tests("< < 3")
