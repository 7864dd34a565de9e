"""The TCK's comparison rule and its value reader, as the runner applies them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

import pytest

from zeebe_celery.engine.feel import evaluate

from .tck_values import UNREADABLE, read_value, tck_equal


@pytest.mark.parametrize(
    ("expected", "actual", "equal"),
    [
        (Decimal("2878.69354943277"), Decimal("2878.693549432766768"), True),  # within 1e-8
        (Decimal("1.5"), Decimal("1.50000002"), False),
        (Decimal(1), 1, True),
        (True, 1, False),  # a boolean is not a number
        (None, None, True),
        (None, "", False),
        ([Decimal(1), "a"], [1, "a"], True),
        ([1], [1, 2], False),
        ({"a": 1}, {"a": Decimal("1.0")}, True),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ("abc", "abc", True),
        (UNREADABLE, None, False),
    ],
)
def test_the_tck_rule(expected: Any, actual: Any, equal: bool) -> None:
    assert tck_equal(expected, actual) is equal


def test_temporal_values_must_print_alike_so_an_offset_is_not_its_zone() -> None:
    offset = evaluate('date and time("2018-12-08T10:30:00+01:00")', {})
    zoned = evaluate('date and time("2018-12-08T10:30:00@Europe/Paris")', {})
    same = evaluate('date and time("2018-12-08T10:30:00+01:00")', {})
    assert tck_equal(offset, same)
    assert not tck_equal(offset, zoned)
    assert not tck_equal(evaluate('date("2018-12-08")', {}), "2018-12-08")


NS = 'xmlns="http://www.omg.org/spec/DMN/20160719/testcase" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def read(xml: str) -> Any:
    return read_value(ET.fromstring(f"<inputNode {NS}>{xml}</inputNode>"))  # noqa: S314 - the test's own text


def test_values_lists_and_components_are_read_with_their_types() -> None:
    assert read('<value xsi:type="xsd:decimal">1.25</value>') == Decimal("1.25")
    assert read('<value xsi:type="xsd:boolean">true</value>') is True
    assert read('<value xsi:nil="true"/>') is None
    assert read('<list><item><value xsi:type="xsd:string">a</value></item><item><value>2</value></item></list>') == [
        "a",
        2,
    ]
    assert read('<component name="x"><value xsi:type="xsd:string">y</value></component>') == {"x": "y"}
    assert tck_equal(read('<value xsi:type="xsd:date">2012-12-24</value>'), evaluate('date("2012-12-24")', {}))
