"""FEEL dates, times, date-times and durations: literals, constructors, arithmetic and serialisation."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from zeebe_celery.engine.feel import YearsMonthsDuration, evaluate, to_json


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('@"2024-01-31"', date(2024, 1, 31)),
        ('date("2024-01-31")', date(2024, 1, 31)),
        ("date(2024, 1, 31)", date(2024, 1, 31)),
        ('date(date and time("2024-01-31T10:00:00"))', date(2024, 1, 31)),
        ('time("10:30:00")', time(10, 30)),
        ('@"10:30:00.5Z"', time(10, 30, 0, 500000, tzinfo=UTC)),
        ("time(10, 30, 0)", time(10, 30)),
        ('date and time("2024-01-31T10:30:00")', datetime(2024, 1, 31, 10, 30)),
        ('date and time(date("2024-01-31"), time("10:30:00"))', datetime(2024, 1, 31, 10, 30)),
        ('duration("P1DT2H")', timedelta(days=1, hours=2)),
        ('duration("PT5M")', timedelta(minutes=5)),
        ('duration("-PT1.5S")', -timedelta(seconds=1.5)),
        ('duration("P2W")', timedelta(days=14)),
        ('duration("P1Y2M")', YearsMonthsDuration(14)),
        ('years and months duration(date("2020-01-15"), date("2021-03-14"))', YearsMonthsDuration(13)),
        ('date("2024-13-01")', None),
        ('duration("one day")', None),
    ],
)
def test_temporal_literals_and_constructors(text: str, expected: Any) -> None:
    assert evaluate(text, {}) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('date("2024-01-31") + duration("P1D")', "2024-02-01"),
        ('date("2024-01-31") + duration("P1M")', "2024-02-29"),
        ('date("2024-03-01") - duration("P1Y")', "2023-03-01"),
        ('date("2024-03-01") - date("2024-02-01")', "P29D"),
        ('date and time("2024-01-01T23:00:00") + duration("PT2H")', "2024-01-02T01:00:00"),
        ('date and time("2024-01-02T00:00:00Z") - date and time("2024-01-01T12:00:00Z")', "PT12H"),
        ('time("23:30:00") + duration("PT1H")', "00:30:00"),
        ('time("10:00:00") - time("08:30:00")', "PT1H30M"),
        ('duration("PT1H") * 2', "PT2H"),
        ('duration("PT1H") / 4', "PT15M"),
        ('duration("P1D") / duration("PT1H")', 24),
        ('duration("P1Y") + duration("P2M")', "P1Y2M"),
        ('duration("P1Y") * 2', "P2Y"),
        ('-duration("PT1H")', "-PT1H"),
        ('date and time("2024-01-01T10:00:00") - date and time("2024-01-01T10:00:00Z")', None),
        ('date("2024-01-01") + 1', None),
    ],
)
def test_temporal_arithmetic(text: str, expected: Any) -> None:
    assert to_json(evaluate(text, {})) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('date("2024-01-01") < date("2024-01-02")', True),
        ('duration("PT1H") > duration("PT59M")', True),
        ('duration("P1Y") > duration("P11M")', True),
        ('time("10:00:00") = time("10:00:00")', True),
        ('date and time("2024-01-01T10:00:00+01:00") = date and time("2024-01-01T09:00:00Z")', True),
        ('date("2024-01-01") < date and time("2024-01-02T00:00:00")', None),
    ],
)
def test_temporal_comparisons(text: str, expected: Any) -> None:
    assert evaluate(text, {}) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('date("2024-02-29").year', 2024),
        ('date("2024-02-29").month', 2),
        ('date("2024-02-29").day', 29),
        ('date("2024-02-29").weekday', 4),
        ('time("10:20:30").minute', 20),
        ('duration("P1DT2H").hours', 2),
        ('duration("P1Y2M").months', 2),
        ('day of week(date("2024-02-29"))', "Thursday"),
        ('month of year(date("2024-02-29"))', "February"),
        ('day of year(date("2024-02-29"))', 60),
        ('week of year(date("2024-02-29"))', 9),
        ('last day of month(date("2024-02-10"))', 29),
    ],
)
def test_temporal_properties_and_functions(text: str, expected: Any) -> None:
    assert evaluate(text, {}) == expected


def test_now_is_an_aware_utc_date_time_and_today_its_date() -> None:
    now = evaluate("now()", {})
    assert now.tzinfo is not None
    assert abs(now - datetime.now(UTC)) < timedelta(minutes=1)
    assert evaluate("today()", {}) == now.date()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2024, 1, 2), "2024-01-02"),
        (time(8, 5, 0), "08:05:00"),
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "2024-01-02T03:04:05Z"),
        (datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05"),
        (timedelta(days=1, hours=2, minutes=3), "P1DT2H3M"),
        (timedelta(0), "PT0S"),
        (YearsMonthsDuration(14), "P1Y2M"),
        (YearsMonthsDuration(0), "P0M"),
    ],
)
def test_to_json_writes_temporal_values_as_iso_text(value: Any, expected: str) -> None:
    assert to_json(value) == expected


def test_a_date_time_with_a_zone_id_keeps_the_zone() -> None:
    value = evaluate('@"2024-06-01T10:00:00@Europe/Berlin"', {})
    assert value.utcoffset() == timedelta(hours=2)
    assert to_json(value) == "2024-06-01T10:00:00@Europe/Berlin"
