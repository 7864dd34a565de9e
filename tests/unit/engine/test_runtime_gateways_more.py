"""Inclusive gateways (fork on conditions with a default, and Zeebe's join) and event-based gateways
(message, timer and signal: the first event wins and the others' subscriptions close)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.engine.bpmn_builders import (
    boundary,
    end_event,
    flow,
    flows,
    message_catch,
    parallel_gateway,
    process,
    service_task,
    signal_catch,
    start_event,
    timer_catch,
)
from tests.unit.engine.flow_builders import event_gateway, inclusive_gateway, link_catch, link_throw
from tests.unit.engine.harness import Harness
from tests.unit.engine.test_store import Restartable
from zeebe_celery.engine.errors import InvalidArgument
from zeebe_celery.engine.instances import ActivateInstruction

COURSES = ("pasta", "steak", "salad")


def _lunch(*, default: bool = True, join: bool = True) -> bytes:
    """Fork into a task per course chosen (salad the default), then join and clear the table."""
    body = [
        start_event(),
        inclusive_gateway("fork", default="fork-salad" if default else None),
        *(service_task(course, course) for course in COURSES),
        flow("start", "fork"),
        flow("fork", "pasta", condition='=list contains(courses, "pasta")', flow_id="fork-pasta"),
        flow("fork", "steak", condition='=list contains(courses, "steak")', flow_id="fork-steak"),
        flow("fork", "salad", flow_id="fork-salad")
        if default
        else flow("fork", "salad", condition='=list contains(courses, "salad")', flow_id="fork-salad"),
    ]
    if join:
        body += [
            inclusive_gateway("join"),
            service_task("clear", "clear"),
            end_event(),
            *(flow(course, "join") for course in COURSES),
            flows("join", "clear", "end"),
        ]
    else:
        body += [end_event(f"{c}-end") for c in COURSES] + [flow(c, f"{c}-end") for c in COURSES]
    return process("lunch", *body)


def _two_branches(second: str, *elements: str, **declarations: Any) -> bytes:
    """Process "p": an inclusive fork into task "a" and ``second`` (both flows true), joined by an inclusive
    join before task "after"; ``elements`` are the rest of the second branch, with their flows (and those
    of anything that leaves it for elsewhere)."""
    return process(
        "p",
        start_event(),
        inclusive_gateway("fork"),
        service_task("a", "a"),
        *elements,
        inclusive_gateway("join"),
        service_task("after", "after"),
        end_event(),
        flow("start", "fork"),
        flow("fork", "a", condition="=true"),
        flow("fork", second, condition="=true"),
        flow("a", "join"),
        flows("join", "after", "end"),
        **declarations,
    )


def _jobs(engine: Harness) -> list[str]:
    return sorted(course for course in COURSES if engine.activate(course))


def test_an_inclusive_gateway_takes_every_flow_whose_condition_is_true(engine: Harness) -> None:
    engine.deploy(_lunch(join=False))
    engine.start("lunch", {"courses": ["pasta", "steak"]})
    assert _jobs(engine) == ["pasta", "steak"]


def test_an_inclusive_gateway_takes_the_default_flow_when_no_condition_is_true(engine: Harness) -> None:
    engine.deploy(_lunch(join=False))
    engine.start("lunch", {"courses": []})
    assert _jobs(engine) == ["salad"]


def test_the_default_flow_is_not_taken_when_a_condition_is_true(engine: Harness) -> None:
    engine.deploy(_lunch(join=False))
    engine.start("lunch", {"courses": ["steak", "salad"]})
    assert _jobs(engine) == ["steak"]


def test_no_true_condition_and_no_default_is_an_incident_resolved_by_fixing_the_variables(engine: Harness) -> None:
    engine.deploy(_lunch(default=False, join=False))
    key = engine.start("lunch", {"courses": []})
    [incident] = engine.incidents(key)
    assert incident.error_type == "CONDITION_ERROR"
    assert incident.error_message == "Expected at least one condition to evaluate to true, or to have a default flow"
    assert incident.instance.element.id == "fork"
    with engine.runtime.lock:
        engine.runtime.set_variables(key, {"courses": ["salad"]}, local=False)
    engine.resolve(incident)
    assert _jobs(engine) == ["salad"]


def test_a_condition_that_is_not_boolean_is_an_incident(engine: Harness) -> None:
    engine.deploy(_lunch(join=False))
    key = engine.start("lunch", {"courses": None})
    [incident] = engine.incidents(key)
    assert incident.error_type == "CONDITION_ERROR"


def test_an_inclusive_join_waits_for_every_branch_the_fork_took(engine: Harness) -> None:
    engine.deploy(_lunch())
    key = engine.start("lunch", {"courses": ["pasta", "steak"]})
    engine.complete(engine.one_job("pasta"))
    assert engine.activate("clear") == []
    assert engine.active(key) == ["steak"]
    engine.complete(engine.one_job("steak"))
    engine.complete(engine.one_job("clear"))
    assert engine.completed(key)
    assert engine.elements("ELEMENT_ACTIVATED", key).count("join") == 1


def test_an_inclusive_join_of_one_branch_goes_on_at_once(engine: Harness) -> None:
    engine.deploy(_lunch())
    engine.start("lunch", {"courses": ["steak"]})
    engine.complete(engine.one_job("steak"))
    assert len(engine.activate("clear")) == 1


def test_an_inclusive_join_goes_on_once_a_branch_can_no_longer_reach_it(engine: Harness) -> None:
    # The pasta branch is cut short by an interrupting boundary event that leads elsewhere.
    engine.deploy(
        _two_branches(
            "b",
            service_task("b", "b"),
            boundary("give-up", "b", message="stop"),
            end_event("gave-up"),
            flow("b", "join"),
            flow("give-up", "gave-up"),
            messages={"stop": "=id"},
        )
    )
    key = engine.start("p", {"id": "x"})
    engine.complete(engine.one_job("a"))
    assert engine.activate("after") == []
    engine.publish("stop", "x")
    assert engine.activate("after") != []
    assert engine.active(key) == ["after"]


def test_an_inclusive_join_waits_for_a_token_still_upstream_of_it(engine: Harness) -> None:
    engine.deploy(_two_branches("b1", service_task("b1", "b1"), service_task("b2", "b2"), flows("b1", "b2", "join")))
    engine.start("p")
    engine.complete(engine.one_job("a"))
    engine.complete(engine.one_job("b1"))
    assert engine.activate("after") == []
    engine.complete(engine.one_job("b2"))
    assert len(engine.activate("after")) == 1


def _racing() -> bytes:
    return process(
        "race",
        start_event(),
        event_gateway("which"),
        message_catch("paid", "payment"),
        timer_catch("late", duration="PT1H"),
        signal_catch("stopped", "halt"),
        service_task("ship", "ship"),
        service_task("remind", "remind"),
        service_task("cancel", "cancel"),
        end_event("e1"),
        end_event("e2"),
        end_event("e3"),
        flow("start", "which"),
        flow("which", "paid"),
        flow("which", "late"),
        flow("which", "stopped"),
        flows("paid", "ship", "e1"),
        flows("late", "remind", "e2"),
        flows("stopped", "cancel", "e3"),
        messages={"payment": "=order"},
        signals=["halt"],
    )


def test_an_event_based_gateway_waits_for_all_its_events_at_once(engine: Harness) -> None:
    engine.deploy(_racing())
    key = engine.start("race", {"order": "o-1"})
    assert engine.active(key) == ["which"]
    assert len(engine.records("PROCESS_MESSAGE_SUBSCRIPTION", "CREATED", elementId="paid")) == 1
    assert len(engine.records("TIMER", "CREATED", elementId="late")) == 1
    assert len(engine.records("SIGNAL_SUBSCRIPTION", "CREATED", elementId="stopped")) == 1


def test_a_message_wins_and_the_other_subscriptions_close(engine: Harness) -> None:
    engine.deploy(_racing())
    key = engine.start("race", {"order": "o-1"})
    engine.publish("payment", "o-1", variables={"amount": 5})
    [(_, variables)] = engine.activate_with_variables("ship")
    assert variables == {"order": "o-1", "amount": 5}
    assert engine.records("TIMER", "CANCELED", elementId="late")
    assert engine.records("SIGNAL_SUBSCRIPTION", "DELETED", elementId="stopped")
    engine.advance(2 * 3_600_000)
    engine.signal("halt")
    assert engine.activate("remind") == engine.activate("cancel") == []
    assert engine.elements("ELEMENT_COMPLETED", key)[:3] == ["start", "which", "paid"]


def test_a_timer_wins_when_nothing_else_occurs_first(engine: Harness) -> None:
    engine.deploy(_racing())
    engine.start("race", {"order": "o-1"})
    engine.advance(3_600_000)
    assert len(engine.activate("remind")) == 1
    engine.publish("payment", "o-1")
    assert engine.activate("ship") == []


def test_a_signal_wins_and_its_variables_arrive(engine: Harness) -> None:
    engine.deploy(_racing())
    engine.start("race", {"order": "o-1"})
    engine.signal("halt", {"why": "stock"})
    [(_, variables)] = engine.activate_with_variables("cancel")
    assert variables["why"] == "stock"


def test_a_buffered_message_wins_at_once(engine: Harness) -> None:
    engine.deploy(_racing())
    engine.publish("payment", "o-1", ttl=60_000)
    engine.start("race", {"order": "o-1"})
    assert len(engine.activate("ship")) == 1


@pytest.mark.parametrize(
    ("extra", "complaint"),
    [
        ((), "at least 2 outgoing sequence flows"),
        ((service_task("t", "t"), flow("which", "t")), "other elements than message/timer/signal"),
    ],
)
def test_an_event_based_gateway_must_lead_to_two_catch_events_or_more(
    engine: Harness, extra: tuple[str, ...], complaint: str
) -> None:
    xml = process(
        "p",
        start_event(),
        event_gateway("which"),
        timer_catch("late", duration="PT1H"),
        end_event(),
        flow("start", "which"),
        flows("which", "late", "end"),
        *extra,
    )
    with pytest.raises(InvalidArgument, match=complaint):
        engine.deploy(xml)


def test_an_event_after_an_event_based_gateway_cannot_be_activated_by_a_modification(engine: Harness) -> None:
    engine.deploy(_racing())
    key = engine.start("race", {"order": "o-1"})
    with engine.runtime.lock, pytest.raises(InvalidArgument, match="belonging to an event-based gateway"):
        engine.runtime.modify_instance(key, activate=[ActivateInstruction("paid")], terminate=[])
    assert engine.active(key) == ["which"]


def test_an_event_after_an_event_based_gateway_cannot_be_a_start_instruction(engine: Harness) -> None:
    [definition] = engine.deploy(_racing())
    with engine.runtime.lock, pytest.raises(InvalidArgument, match="belongs to an event-based gateway"):
        engine.runtime.create_instance(definition, {}, start_at=["late"])


def test_an_event_based_gateway_and_an_inclusive_join_survive_a_restart(tmp_path: Path) -> None:
    engine = Restartable(tmp_path)
    engine.deploy(_racing())
    engine.deploy(_lunch(), name="lunch.bpmn")
    racing = engine.start("race", {"order": "o-1"})
    lunch = engine.start("lunch", {"courses": ["pasta", "steak"]})
    engine.complete(engine.one_job("pasta"))
    engine = engine.restart()
    engine.advance(3_600_000)
    assert len(engine.activate("remind")) == 1
    assert engine.records("TIMER", "TRIGGERED", elementId="late")
    assert engine.active(racing) == ["remind"]
    assert engine.activate("clear") == []
    engine.complete(engine.one_job("steak"))
    assert len(engine.activate("clear")) == 1
    assert engine.is_running(lunch)


def test_an_inclusive_join_waits_for_a_token_held_at_a_parallel_join_upstream(engine: Harness) -> None:
    # fork -> a -> join; fork -> split(b1, b2) -> and-join -> join: b1 done, b2 running.
    engine.deploy(
        _two_branches(
            "split",
            parallel_gateway("split"),
            service_task("b1", "b1"),
            service_task("b2", "b2"),
            parallel_gateway("and-join"),
            flow("split", "b1"),
            flow("split", "b2"),
            flow("b1", "and-join"),
            flow("b2", "and-join"),
            flow("and-join", "join"),
        )
    )
    engine.start("p")
    engine.complete(engine.one_job("b1"))
    engine.complete(engine.one_job("a"))
    assert engine.activate("after") == []
    engine.complete(engine.one_job("b2"))
    assert len(engine.activate("after")) == 1


def test_an_inclusive_join_follows_links_on_the_way_to_it(engine: Harness) -> None:
    engine.deploy(
        _two_branches(
            "b",
            service_task("b", "b"),
            link_throw("jump", "L"),
            link_catch("land", "L"),
            flows("b", "jump"),
            flow("land", "join"),
        )
    )
    engine.start("p")
    engine.complete(engine.one_job("a"))
    assert engine.activate("after") == []
    engine.complete(engine.one_job("b"))
    assert len(engine.activate("after")) == 1


def test_an_event_based_gateway_refuses_two_events_of_one_message_name(engine: Harness) -> None:
    xml = process(
        "p",
        start_event(),
        event_gateway("which"),
        message_catch("one", "m"),
        message_catch("two", "m"),
        end_event("e1"),
        end_event("e2"),
        flow("start", "which"),
        flow("which", "one"),
        flow("which", "two"),
        flow("one", "e1"),
        flow("two", "e2"),
        messages={"m": "=k"},
    )
    with pytest.raises(InvalidArgument, match="Multiple message event definitions with the same name 'm'"):
        engine.deploy(xml)


def test_an_event_after_an_event_based_gateway_has_no_other_incoming_flow(engine: Harness) -> None:
    xml = process(
        "p",
        start_event(),
        parallel_gateway("split"),
        event_gateway("which"),
        timer_catch("late", duration="PT1H"),
        signal_catch("stop", "s"),
        end_event("e1"),
        end_event("e2"),
        flow("start", "split"),
        flow("split", "which"),
        flow("split", "late"),
        flow("which", "late"),
        flow("which", "stop"),
        flow("late", "e1"),
        flow("stop", "e2"),
        signals=["s"],
    )
    with pytest.raises(InvalidArgument, match="must not have any additional incoming sequence flows"):
        engine.deploy(xml)
