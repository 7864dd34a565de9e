"""Time cycles as Zeebe reads them: ISO 8601 repeating intervals (with or without a start date) and Spring's
six-field cron expressions, and when each fires first and next."""

from __future__ import annotations

import pytest

from zeebe_celery.engine.timers import TimerSyntaxError, after, due_at, next_due, parse_cycle

NOW = due_at("2026-03-02T10:00:00Z")  # a Monday
MINUTE = 60_000


@pytest.mark.parametrize(
    ("text", "repetitions", "interval"),
    [("R5/PT10S", 5, 10_000), ("R/PT1M", -1, MINUTE), ("R1/P1D", 1, 86_400_000)],
)
def test_an_iso_cycle_gives_its_repetitions_and_interval(text: str, repetitions: int, interval: int) -> None:
    cycle = parse_cycle(text)
    assert (cycle.repetitions, cycle.interval_ms, cycle.start, cycle.cron) == (repetitions, interval, None, None)
    assert cycle.first_due(NOW) == NOW + interval


def test_an_iso_cycle_with_a_start_date_first_fires_then() -> None:
    cycle = parse_cycle("R/2026-03-03T00:00:00Z/PT12H")
    assert cycle.first_due(NOW) == due_at("2026-03-03T00:00:00Z")
    assert cycle.next_due(due_at("2026-03-03T00:00:00Z"), NOW) == due_at("2026-03-03T12:00:00Z")


@pytest.mark.parametrize(
    ("expression", "first"),
    [
        ("0 0 9-17 * * MON-FRI", "2026-03-02T11:00:00Z"),
        ("0 30 9 * * SAT", "2026-03-07T09:30:00Z"),
        ("@daily", "2026-03-03T00:00:00Z"),
        ("0 0 12 ? * MON#2", "2026-03-09T12:00:00Z"),
        ("0 0 0 L * *", "2026-03-31T00:00:00Z"),
    ],
)
def test_a_cron_cycle_fires_at_its_next_match_forever(expression: str, first: str) -> None:
    cycle = parse_cycle(expression)
    assert cycle.repetitions == -1
    assert cycle.first_due(NOW) == due_at(first)


def test_a_cron_cycle_after_missed_matches_goes_on_from_now() -> None:
    cycle = parse_cycle("0 * * * * *")
    assert cycle.next_due(NOW - 10 * MINUTE, NOW) == NOW + MINUTE


def test_the_last_repetition_and_one_off_timers_have_no_next_time() -> None:
    assert next_due(NOW, 1, "R3/PT1M", MINUTE, NOW) is None
    assert next_due(NOW, 0, "", 0, NOW) is None
    assert next_due(NOW, 2, "R3/PT1M", MINUTE, NOW) == NOW + MINUTE


@pytest.mark.parametrize(
    "text", ["0 0 9 * *", "* * * * * * *", "0 0 25 * * *", "@reboot", "R/PT1M/2026-01-01T00:00:00Z", "R3", "PT1M"]
)
def test_what_is_neither_an_iso_cycle_nor_springs_cron_is_refused(text: str) -> None:
    with pytest.raises(TimerSyntaxError, match="Invalid time cycle format"):
        parse_cycle(text)


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        ("2026-01-31T09:00:00Z", "P1M", "2026-02-28T09:00:00Z"),
        ("2024-02-29T00:00:00Z", "P1Y", "2025-02-28T00:00:00Z"),
        ("2026-01-31T09:00:00Z", "P1M1DT2H", "2026-03-01T11:00:00Z"),
        ("2026-03-02T10:00:00Z", "PT90M", "2026-03-02T11:30:00Z"),
        ("2026-03-02T10:00:00Z", "P2W", "2026-03-16T10:00:00Z"),
    ],
)
def test_years_and_months_are_calendar_months_as_zeebe_adds_a_period(start: str, duration: str, due: str) -> None:
    assert after(due_at(start), duration) == due_at(due)


def test_a_monthly_cycle_keeps_to_the_calendar() -> None:
    cycle = parse_cycle("R/2026-01-31T00:00:00Z/P1M")
    first = cycle.first_due(due_at("2026-01-01T00:00:00Z"))
    assert first == due_at("2026-01-31T00:00:00Z")
    assert cycle.next_due(first, first) == due_at("2026-02-28T00:00:00Z")
