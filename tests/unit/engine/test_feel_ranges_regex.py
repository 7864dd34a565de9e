"""DMN 1.5's range functions and ``range()``, and regular expressions read as java.util.regex reads them."""

from __future__ import annotations

from typing import Any

import pytest

from zeebe_celery.engine.feel import Range, evaluate, to_json


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("before(1, 10)", True),
        ("before(10, 1)", False),
        ("before(1, [2..5])", True),
        ("before(1, (1..5])", True),
        ("before(1, [1..5])", False),
        ("before([1..5], 10)", True),
        ("before([1..5), 5)", True),
        ("before([1..5], [6..8])", True),
        ("before([1..5), [5..8])", True),
        ("before([1..5], [5..8])", False),
        ("after(10, 1)", True),
        ("after(12, [2..5])", True),
        ("after([5..10], 4)", True),
        ("after((5..10], 5)", True),
        ("after([6..8], [1..5])", True),
        ("meets([1..5], [5..10])", True),
        ("meets([1..5), [5..10])", False),
        ("met by([5..10], [1..5])", True),
        ("overlaps([5..10], [1..6])", True),
        ("overlaps([1..5), [5..10])", False),
        ("overlaps before([1..5], [3..8])", True),
        ("overlaps after([3..8], [1..5])", True),
        ("finishes(10, [1..10])", True),
        ("finishes([3..10], [1..10])", True),
        ("finished by([1..10], 10)", True),
        ("includes([1..10], 5)", True),
        ("includes([1..10], [4..6])", True),
        ("during(5, [1..10])", True),
        ("during([4..6], [1..10])", True),
        ("starts(1, [1..10])", True),
        ("starts([1..5], [1..10])", True),
        ("started by([1..10], 1)", True),
        ("coincides(5, 5)", True),
        ("coincides([1..5], [1..5])", True),
        ("coincides([1..5], [1..5))", False),
        ('before(date("2024-01-01"), date("2024-02-01"))', True),
        ('before(1, "a")', None),
        ("meets(1, 2)", None),
    ],
)
def test_range_relations_follow_the_dmn_spec(text: str, expected: Any) -> None:
    assert evaluate(text, {}) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('range("[18..21)")', Range(18, 21, start_closed=True, end_closed=False)),
        ('range("]1..2[")', Range(1, 2, start_closed=False, end_closed=False)),
        ('range("<= 10")', Range(None, 10, start_closed=False, end_closed=True)),
        ('range(">5")', Range(5, None, start_closed=False, end_closed=False)),
        ('range("=3")', Range(3, 3, start_closed=True, end_closed=True)),
        ('range("[\\"a\\"..\\"z\\"]")', Range("a", "z", start_closed=True, end_closed=True)),
        ('range("[1..\\"z\\"]")', None),
        ('range("[x..y]")', None),
        ('range("1..2")', None),
    ],
)
def test_range_reads_a_range_from_its_text(text: str, expected: Any) -> None:
    assert evaluate(text, {}) == expected


def test_range_reads_temporal_endpoints() -> None:
    value = evaluate('range("[date(\\"2024-01-01\\")..@\\"2024-12-31\\"]")', {})
    assert isinstance(value, Range)
    assert to_json([value.start, value.end]) == ["2024-01-01", "2024-12-31"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('matches("abracadabra", "bra")', True),
        ('matches("abracadabra", "^a.*a$")', True),
        ('matches("abracadabra", "^bra")', False),
        ('matches("Hello", "hello", "i")', True),
        ('matches("a\nb", "a.b", "s")', True),
        ('matches("a\nb", "^b$", "m")', True),
        ('matches("abc", "a b c", "x")', True),
        ('matches("aaa", "a++a")', False),
        ('matches("abc", "(?<first>a)bc")', True),
        ('matches("Ünïcode", "^\\\\p{L}+$")', True),
        ('matches("abc", "[")', None),
        ('replace("abc", "b", "[$0]")', "a[b]c"),
        ('replace("John Doe", "(\\\\w+) (\\\\w+)", "$2, $1")', "Doe, John"),
        ('replace("abc", "(?<x>b)", "${x}${x}")', "abbc"),
        ('replace("a.b", "\\\\.", "\\\\$")', "a$b"),
        ('replace("abc", "B", "x", "i")', "axc"),
        ('replace("0123456789", "(\\\\d{3})(\\\\d{3})(\\\\d{4})", "($1) $2-$3")', "(012) 345-6789"),
        ('replace("abc", "b", "$")', None),
        ('split("John Doe", "\\\\s")', ["John", "Doe"]),
        ('split("a1b22c", "[0-9]+")', ["a", "b", "c"]),
        ('split("a,b,", ",")', ["a", "b", ""]),
        ('split("abc", "")', ["a", "b", "c", ""]),
        ('extract("a1b22", "[0-9]+")', ["1", "22"]),
        ('matches("a\rb", "a.b")', False),
        ('matches("a\rb", "a.b", "s")', True),
        ('matches("x", "[A-Z-[OI]]", "i")', True),
        ('matches("O", "[A-Z-[OI]]")', False),
        ('matches("hello world", "hello\\ sworld", "x")', True),
        ('matches("hello", "\\p{IsBasicLatin}+")', True),
        ('matches("abcd", "(asd)[asd\\1]")', None),
        ('matches("abc", "b", "p")', None),
    ],
)
def test_regular_expressions_read_as_java_reads_them(text: str, expected: Any) -> None:
    assert evaluate(text, {}) == expected
