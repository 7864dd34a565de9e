"""Timers on an injected clock: intermediate catch events with durations and dates, and timer boundary
events, interrupting, and non-interrupting with a cycle."""

from __future__ import annotations

from tests.unit.engine.bpmn_builders import (
    boundary,
    end_event,
    flow,
    flows,
    process,
    service_task,
    start_event,
    sub_process,
    timer_catch,
)
from tests.unit.engine.harness import START_MS, Harness


def _nap(process_id: str, *, duration: str | None = None, date: str | None = None) -> bytes:
    """A process that waits at the timer catch event "nap" and ends."""
    return process(
        process_id,
        start_event(),
        timer_catch("nap", duration=duration, date=date),
        end_event(),
        flows("start", "nap", "end"),
    )


def test_a_timer_catch_event_with_a_duration_fires_when_it_is_due(engine: Harness) -> None:
    engine.deploy(_nap("wait", duration="PT10S"))
    key = engine.start("wait")
    engine.advance(9_999)
    assert engine.active(key) == ["nap"]
    engine.advance(1)
    assert engine.completed(key)
    assert engine.records("TIMER", "TRIGGERED", elementId="nap")


def test_a_timer_duration_may_be_a_feel_expression(engine: Harness) -> None:
    engine.deploy(_nap("wait", duration="=delay"))
    key = engine.start("wait", {"delay": "PT1M"})
    engine.advance(59_000)
    assert engine.is_running(key)
    engine.advance(1_000)
    assert engine.completed(key)


def test_a_timer_catch_event_with_a_date_fires_at_that_date(engine: Harness) -> None:
    # START_MS is 2023-11-14T22:13:20Z.
    engine.deploy(_nap("until", date="2023-11-14T22:14:20Z"))
    key = engine.start("until")
    [timer] = engine.records("TIMER", "CREATED", elementId="nap")
    assert timer["value"]["dueDate"] == START_MS + 60_000
    engine.advance(59_999)
    assert engine.is_running(key)
    engine.advance(1)
    assert engine.completed(key)


def test_a_timer_date_in_the_past_fires_at_once(engine: Harness) -> None:
    engine.deploy(_nap("past", date="2020-01-01T00:00:00Z"))
    key = engine.start("past")
    engine.advance(0)
    assert engine.completed(key)


def test_an_interrupting_timer_boundary_event_ends_a_task_that_takes_too_long(engine: Harness) -> None:
    engine.deploy(
        process(
            "sla",
            start_event(),
            service_task("task", "work"),
            boundary("late", "task", duration="PT1H"),
            end_event(),
            end_event("escalated"),
            flows("start", "task", "end"),
            flow("late", "escalated"),
        )
    )
    key = engine.start("sla")
    job = engine.one_job("work")
    engine.advance(3_600_000)
    assert engine.completed(key)
    assert "escalated" in engine.elements("ELEMENT_COMPLETED", key)
    assert job.key not in engine.runtime.jobs


def test_a_timer_boundary_event_is_cancelled_when_the_task_completes_first(engine: Harness) -> None:
    engine.deploy(
        process(
            "sla",
            start_event(),
            service_task("task", "work"),
            boundary("late", "task", duration="PT1H"),
            end_event(),
            end_event("escalated"),
            flows("start", "task", "end"),
            flow("late", "escalated"),
        )
    )
    key = engine.start("sla")
    engine.complete(engine.one_job("work"))
    assert engine.records("TIMER", "CANCELED", elementId="late")
    engine.advance(3_600_000)
    assert engine.records("TIMER", "TRIGGERED") == []
    assert "escalated" not in engine.elements("ELEMENT_COMPLETED", key)


def test_a_non_interrupting_cycle_timer_reminds_a_set_number_of_times_while_the_task_runs(engine: Harness) -> None:
    engine.deploy(
        process(
            "remind",
            start_event(),
            service_task("task", "work"),
            boundary("nudge", "task", cycle="R2/PT10M", interrupting=False),
            service_task("remind", "remind"),
            end_event(),
            end_event("reminded"),
            flows("start", "task", "end"),
            flows("nudge", "remind", "reminded"),
        )
    )
    key = engine.start("remind")
    for _ in range(3):
        engine.advance(600_000)
    assert len(engine.records("TIMER", "TRIGGERED", elementId="nudge")) == 2
    assert engine.active(key) == ["remind", "remind", "task"]


def test_a_timer_boundary_on_a_sub_process_ends_the_work_inside_it(engine: Harness) -> None:
    engine.deploy(
        process(
            "box",
            start_event(),
            sub_process(
                "sub", start_event("s"), service_task("task", "work"), end_event("se"), flows("s", "task", "se")
            ),
            boundary("late", "sub", duration="PT1M"),
            end_event(),
            end_event("timed-out"),
            flows("start", "sub", "end"),
            flow("late", "timed-out"),
        )
    )
    key = engine.start("box")
    job = engine.one_job("work")
    engine.advance(60_000)
    assert engine.completed(key)
    assert {"sub", "task"} <= set(engine.elements("ELEMENT_TERMINATED", key))
    assert job.key not in engine.runtime.jobs
