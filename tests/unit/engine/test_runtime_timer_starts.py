"""Timer start events: a date, a duration or a cycle (ISO or cron) creates instances of the latest version
when due; a new version takes over the timers, and the timers survive a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.engine.bpmn_builders import boundary, end_event, flow, flows, process, service_task, start_event
from tests.unit.engine.flow_builders import timer_start
from tests.unit.engine.harness import START_MS, Harness
from tests.unit.engine.test_store import Restartable
from zeebe_celery.engine.errors import InvalidArgument

HOUR = 3_600_000


def _ticking(timer: str, job_type: str = "tick") -> bytes:
    return process("ticker", timer, service_task("work", job_type), end_event(), flows("tick", "work", "end"))


def _created(engine: Harness) -> list[int]:
    return [
        r["value"]["processInstanceKey"]
        for r in engine.records("PROCESS_INSTANCE", "ELEMENT_ACTIVATED", bpmnElementType="PROCESS")
    ]


def test_a_timer_start_event_with_a_date_creates_one_instance_when_due(engine: Harness) -> None:
    engine.deploy(_ticking(timer_start("tick", date="2023-11-14T23:00:00Z")))
    engine.advance(46 * 60_000)  # 22:59:20
    assert _created(engine) == []
    engine.advance(40_000)
    [key] = _created(engine)
    assert engine.active(key) == ["work"]
    assert engine.elements("ELEMENT_COMPLETED", key)[0] == "tick"
    engine.advance(10 * HOUR)
    assert len(_created(engine)) == 1
    assert engine.runtime.start_timers == {}


def test_a_timer_start_event_with_a_duration_fires_once_that_long_after_the_deployment(engine: Harness) -> None:
    engine.deploy(_ticking(timer_start("tick", duration="PT5M")))
    engine.advance(5 * 60_000 - 1)
    assert _created(engine) == []
    engine.advance(1)
    engine.advance(HOUR)
    assert len(_created(engine)) == 1


def test_an_iso_cycle_creates_an_instance_each_interval_as_many_times_as_it_repeats(engine: Harness) -> None:
    engine.deploy(_ticking(timer_start("tick", cycle="R3/PT10S")))
    for expected in (1, 2, 3, 3):
        engine.advance(10_000)
        assert len(_created(engine)) == expected
    assert [r["value"]["dueDate"] for r in engine.records("TIMER", "TRIGGERED")] == [
        START_MS + 10_000,
        START_MS + 20_000,
        START_MS + 30_000,
    ]


def test_a_cycle_with_a_start_date_first_fires_at_that_date_then_each_interval(engine: Harness) -> None:
    engine.deploy(_ticking(timer_start("tick", cycle="R/2023-11-15T00:00:00Z/P1D")))
    midnight = START_MS + 6_400_000  # 2023-11-15T00:00:00Z
    engine.advance(midnight - START_MS - 1)
    assert _created(engine) == []
    engine.advance(1)
    assert len(_created(engine)) == 1
    engine.advance(24 * HOUR)
    assert len(_created(engine)) == 2
    [timer] = engine.runtime.start_timers.values()
    assert timer.due == midnight + 2 * 24 * HOUR


def test_a_cron_cycle_fires_at_each_match_of_its_six_fields_seconds_first(engine: Harness) -> None:
    # Every 15 seconds; the clock starts at 22:13:20.
    engine.deploy(_ticking(timer_start("tick", cycle="*/15 * * * * *")))
    engine.advance(10_000)  # 22:13:30
    assert len(_created(engine)) == 1
    engine.advance(14_999)
    assert len(_created(engine)) == 1
    engine.advance(1)  # 22:13:45
    assert len(_created(engine)) == 2


def test_a_cron_cycle_reads_weekday_names_and_ands_day_of_month_with_day_of_week(engine: Harness) -> None:
    # 09:00 on a Friday the 17th: 2023-11-17 is one, so that is the first match after the 14th.
    engine.deploy(_ticking(timer_start("tick", cycle="0 0 9 17 * FRI")))
    [timer] = engine.runtime.start_timers.values()
    assert timer.due == 1_700_211_600_000  # 2023-11-17T09:00:00Z


def test_a_new_version_replaces_the_previous_versions_timer_start_events(engine: Harness) -> None:
    [first] = engine.deploy(_ticking(timer_start("tick", cycle="R/PT1M"), "old"))
    engine.advance(60_000)
    [second] = engine.deploy(_ticking(timer_start("tick", cycle="R/PT1M"), "new"))
    assert [r["value"]["processDefinitionKey"] for r in engine.records("TIMER", "CANCELED")] == [first.key]
    engine.advance(60_000)
    engine.advance(60_000)
    assert len(engine.activate("old")) == 1
    assert len(engine.activate("new")) == 2
    assert [t.definition for t in engine.runtime.start_timers.values()] == [second]


def test_a_version_without_timer_start_events_closes_the_old_ones(engine: Harness) -> None:
    engine.deploy(_ticking(timer_start("tick", cycle="R/PT1M")))
    engine.deploy(process("ticker", start_event(), end_event(), flows("start", "end")))
    engine.advance(10 * 60_000)
    assert _created(engine) == []
    assert engine.runtime.start_timers == {}


def test_deleting_the_latest_version_gives_the_timers_back_to_the_one_before(engine: Harness) -> None:
    engine.deploy(_ticking(timer_start("tick", cycle="R/PT1M"), "old"))
    [second] = engine.deploy(_ticking(timer_start("tick", cycle="R/PT1M"), "new"))
    with engine.runtime.lock:
        engine.runtime.delete_resource(second.key)
    engine.advance(60_000)
    assert len(engine.activate("old")) == 1


def test_a_timer_start_event_lives_alongside_a_none_start_event(engine: Harness) -> None:
    engine.deploy(
        process(
            "ticker",
            start_event(),
            timer_start("tick", duration="PT1S"),
            service_task("work", "tick"),
            end_event(),
            flows("tick", "work", "end"),
            flow("start", "work"),
        )
    )
    engine.start("ticker")
    engine.advance(1_000)
    assert len(engine.activate("tick")) == 2


def test_a_timer_start_event_the_engine_cannot_evaluate_refuses_the_deployment(engine: Harness) -> None:
    with pytest.raises(InvalidArgument, match="tick"):
        engine.deploy(_ticking(timer_start("tick", cycle='="R/" + "nonsense"')))
    assert engine.runtime.definitions == {}


def _cron_reminder() -> bytes:
    """A task whose non-interrupting boundary timer, on a cron cycle each minute, starts a reminder task."""
    return process(
        "p",
        start_event(),
        service_task("work", "w"),
        boundary("remind", "work", cycle="0 * * * * *", interrupting=False),
        service_task("reminder", "remind"),
        end_event(),
        end_event("r-end"),
        flows("start", "work", "end"),
        flows("remind", "reminder", "r-end"),
    )


def test_a_non_interrupting_boundary_event_takes_a_cron_cycle(engine: Harness) -> None:
    engine.deploy(_cron_reminder())
    engine.start("p")
    engine.advance(40_000)  # 22:14:00
    engine.advance(60_000)
    assert len(engine.activate("remind")) == 2


def test_timer_start_events_survive_a_restart(tmp_path: Path) -> None:
    engine = Restartable(tmp_path)
    engine.deploy(_ticking(timer_start("tick", cycle="R3/PT10S")))
    engine.advance(10_000)
    engine = engine.restart()
    engine.advance(10_000)
    engine.advance(10_000)
    engine.advance(10_000)
    assert len(engine.activate("tick")) == 3
    assert engine.runtime.start_timers == {}


def test_a_cron_boundary_timer_keeps_its_cycle_across_a_restart(tmp_path: Path) -> None:
    engine = Restartable(tmp_path)
    engine.deploy(_cron_reminder())
    engine.start("p")
    engine = engine.restart()
    engine.advance(40_000)  # 22:14:00
    engine = engine.restart()
    engine.advance(60_000)
    assert len(engine.activate("remind")) == 2


def test_an_interrupting_timer_boundary_event_with_a_cycle_is_refused_as_zeebe_refuses_it(engine: Harness) -> None:
    xml = process(
        "p",
        start_event(),
        service_task("work", "w"),
        boundary("late", "work", cycle="R/PT1M"),
        end_event(),
        end_event("late-end"),
        flows("start", "work", "end"),
        flow("late", "late-end"),
    )
    with pytest.raises(InvalidArgument, match=r"(?s)late.*Interrupting timer event with time cycle is not allowed\."):
        engine.deploy(xml)


@pytest.mark.parametrize("cycle", ["0 0 9 * *", "R/PT1M/2026-01-01T00:00:00Z", "@reboot", "0 0 25 * * *"])
def test_a_cycle_the_engine_cannot_read_is_refused_at_deploy(engine: Harness, cycle: str) -> None:
    with pytest.raises(InvalidArgument, match="Invalid time cycle format"):
        engine.deploy(_ticking(timer_start("tick", cycle=cycle)))


def test_a_cycle_whose_start_date_has_passed_fires_at_once_then_each_interval_from_then(engine: Harness) -> None:
    engine.deploy(_ticking(timer_start("tick", cycle="R/2020-01-01T00:00:00Z/PT1H")))
    [timer] = engine.runtime.start_timers.values()
    assert timer.due == START_MS
    engine.advance(0)
    assert len(_created(engine)) == 1
    assert timer.due == START_MS + HOUR


def test_a_cycle_that_missed_occurrences_fires_once_and_goes_on_from_now(engine: Harness) -> None:
    engine.deploy(_ticking(timer_start("tick", cycle="R/PT1M")))
    engine.advance(10 * 60_000)  # nothing fired while, say, the engine was down
    assert len(_created(engine)) == 1
    [timer] = engine.runtime.start_timers.values()
    assert timer.due == START_MS + 11 * 60_000
