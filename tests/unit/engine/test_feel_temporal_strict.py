"""FEEL's temporal constructors and strict parsing as feel-scala and the DMN TCK read them, and dates
beyond Python's years."""

from __future__ import annotations

from typing import Any

import pytest

from zeebe_celery.engine.feel import evaluate, to_json


def feel(text: str) -> Any:
    return to_json(evaluate(text, {}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('date and time("2012-12-24")', "2012-12-24T00:00:00"),
        ('date and time(date("2017-01-01"), time("23:59:01+02:00"))', "2017-01-01T23:59:01+02:00"),
        ('date and time(date and time("2017-08-10T10:20:00+02:00"), time("23:59:01"))', "2017-08-10T23:59:01"),
        ('date and time(date and time("2017-08-10T10:20:00Z"), "Europe/Paris")', "2017-08-10T12:20:00@Europe/Paris"),
        ('time(11, 59, 45, duration("PT2H"))', "11:59:45+02:00"),
        ('time(11, 59, 45, duration("-PT2H45M55S"))', "11:59:45-02:45:55"),
        ('time(11, 59, 45, duration("PT0H"))', "11:59:45Z"),
        ("time(11, 59, 45, null)", "11:59:45"),
        ("time(12, 0, 1.5)", "12:00:01.5"),
        ('time(date("2017-08-10"))', "00:00:00Z"),
        ('time(date and time("2017-08-10T10:20:00-01:00"))', "10:20:00-01:00"),
        ('time("11:22:33-00:00")', "11:22:33Z"),
        ('string(time("00:01:00@Etc/UTC"))', "00:01:00@Etc/UTC"),
        ('@"23:00:50@Etc/GMT"', "23:00:50@Etc/GMT"),
        ('@"2021-01-01T24:00:00"', "2021-01-02T00:00:00"),
        ('@"2021-01-01T24:00:00" + @"PT1S"', "2021-01-02T00:00:01"),
        ('duration("PT0.S")', "PT0S"),
    ],
)
def test_temporal_constructors(text: str, expected: Any) -> None:
    assert feel(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "13:20:00+19:00",
        "13:20:00-19:00",
        "13:20:00+5:00",
        "13:20:00+05:0",
        "13:20:00@xyz/abc",
        "7:00:00",
        "07:1:00",
        "24:00:01",
        "25:00:00",
        "00:60:00",
        "23:59:60",
        "11:30:00T",
    ],
)
def test_invalid_time_text_is_null(text: str) -> None:
    assert evaluate(f'time("{text}")', {}) is None


@pytest.mark.parametrize(
    "text",
    [
        "2017-12-31T24:00:01",
        "2017-12-31T13:20:00+02:00@Europe/Paris",
        "2011-12-0310:15:30",
        "998-12-31T11:22:33",
        "01211-12-31T11:22:33",
        "+99999-12-01T11:22:33",
        "9999999999-12-27T11:22:33",
        "2017-13-10T11:22:33",
        "11:00:00",
        "",
    ],
)
def test_invalid_date_time_text_is_null(text: str) -> None:
    assert evaluate(f'date and time("{text}")', {}) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('date("-2017-12-31")', "-2017-12-31"),
        ("date(-2017, 12, 31)", "-2017-12-31"),
        ('string(date("999999999-12-31"))', "999999999-12-31"),
        ('date and time("-2017-12-31T11:22:33.456+01:35")', "-2017-12-31T11:22:33.456+01:35"),
        ('string(date and time("99999-12-31T11:22:33"))', "99999-12-31T11:22:33"),
        ('date("-2017-12-31") + duration("P1D")', "-2016-01-01"),
        ('date and time("-2021-01-01T10:10:10+11:00") + duration("P1Y1M")', "-2020-02-01T10:10:10+11:00"),
        ('date and time("-2021-01-01T10:10:10+11:00") - duration("PT1H")', "-2021-01-01T09:10:10+11:00"),
        ('date("-2017-12-31") - date("-2017-12-30")', "P1D"),
        ('date("2017-01-01") - date("-2017-01-01")', "P1473389D"),
        ('date("-2017-12-31").year', -2017),
        ('date("-2017-12-31") < date("2017-01-01")', True),
        ('date("-2017-12-31") = date("-2017-12-31")', True),
        ('date("-2017-12-31") instance of date', True),
        ('years and months duration(date("-2016-01-30"), date("-2017-02-28"))', "-P11M"),
        ('date("9999-12-31") + duration("P1D")', "10000-01-01"),
    ],
)
def test_dates_beyond_pythons_years(text: str, expected: Any) -> None:
    assert feel(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('@"2021-01-02T10:10:10@Europe/Paris" - @"2021-01-01"', "P1DT9H10M10S"),
        ('@"2021-01-02" - @"2021-01-02T00:00:00Z"', "PT0S"),
        ('@"2021-01-02T10:10:10" - @"2021-01-01"', None),
    ],
)
def test_a_date_against_a_date_time_counts_from_its_midnight_in_utc(text: str, expected: Any) -> None:
    assert feel(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('string(time("10:30:00.123456789"))', "10:30:00.123456789"),
        (
            'string(date and time("2011-12-31T10:15:30.123456789@Europe/Paris"))',
            "2011-12-31T10:15:30.123456789@Europe/Paris",
        ),
        (
            'string(date and time("-999999999-12-31T23:59:59.999999999+02:00"))',
            "-999999999-12-31T23:59:59.999999999+02:00",
        ),
        (
            'string(date and time(date("2017-01-01"), time("23:59:01.123456789@Europe/Paris")))',
            "2017-01-01T23:59:01.123456789@Europe/Paris",
        ),
        ('string(time(date and time("2017-01-01T23:59:01.000000001Z")))', "23:59:01.000000001Z"),
        ('time("10:30:00.000000001") > time("10:30:00")', True),
        ('time("10:30:00.000000001") = time("10:30:00.000000002")', False),
        ('time("10:30:00.1234560") = time("10:30:00.123456")', True),
        ('string(time("10:30:00.000000001") + duration("PT1S"))', "10:30:01.000000001"),
        ('time("10:30:00.000000001") instance of time', True),
        ('date and time("2017-01-01T00:00:00.000000001Z").second', 0),
    ],
)
def test_fractions_of_a_second_down_to_nanoseconds(text: str, expected: Any) -> None:
    assert feel(text) == expected
