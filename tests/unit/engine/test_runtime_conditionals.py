"""Conditional events as Camunda 8.9 runs them: catch and boundary events evaluated when their scope is
activated and whenever a variable they see changes (narrowed by zeebe:conditionalFilter), and root-level
conditional start events started by EvaluateConditional."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest

from tests.unit.engine.bpmn_builders import (
    end_event,
    event_sub_process,
    flow,
    flows,
    process,
    service_task,
    start_event,
)
from tests.unit.engine.harness import Harness
from tests.unit.engine.test_store import Restartable
from zeebe_celery.engine.errors import InvalidArgument, NotFound


def _definition(condition: str, names: str = "", events: str = "") -> tuple[str, str]:
    attrs = "".join(f" {k}={quoteattr(v)}" for k, v in (("variableNames", names), ("variableEvents", events)) if v)
    ext = f"<bpmn:extensionElements><zeebe:conditionalFilter{attrs}/></bpmn:extensionElements>" if attrs else ""
    return ext, (
        '<bpmn:conditionalEventDefinition><bpmn:condition xsi:type="bpmn:tFormalExpression" '
        f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{escape(condition)}</bpmn:condition>'
        "</bpmn:conditionalEventDefinition>"
    )


def conditional_catch(element_id: str, condition: str, names: str = "", events: str = "") -> str:
    ext, definition = _definition(condition, names, events)
    return f"<bpmn:intermediateCatchEvent id={quoteattr(element_id)}>{ext}{definition}</bpmn:intermediateCatchEvent>"


def conditional_boundary(element_id: str, attached_to: str, condition: str, *, interrupting: bool = True) -> str:
    ext, definition = _definition(condition)
    cancel = "" if interrupting else ' cancelActivity="false"'
    return (
        f"<bpmn:boundaryEvent id={quoteattr(element_id)} attachedToRef={quoteattr(attached_to)}{cancel}>"
        f"{ext}{definition}</bpmn:boundaryEvent>"
    )


def conditional_start(element_id: str, condition: str, names: str = "", *, interrupting: bool = True) -> str:
    ext, definition = _definition(condition, names)
    interrupt = "" if interrupting else ' isInterrupting="false"'
    return f"<bpmn:startEvent id={quoteattr(element_id)}{interrupt}>{ext}{definition}</bpmn:startEvent>"


def waiting(engine: Harness, condition: str = "=x > 10", **filters: str) -> int:
    engine.deploy(
        process(
            "p",
            start_event(),
            conditional_catch("until", condition, **filters),
            end_event(),
            flows("start", "until", "end"),
        )
    )
    return engine.start("p", {"x": 1})


def test_a_catch_event_waits_until_its_condition_is_true() -> None:
    engine = Harness()
    key = waiting(engine)
    assert engine.active(key) == ["until"]
    assert engine.records("CONDITIONAL_SUBSCRIPTION", "CREATED")
    engine.runtime.set_variables(key, {"x": 5}, local=False)
    assert engine.is_running(key)
    engine.runtime.set_variables(key, {"x": 11}, local=False)
    assert engine.completed(key)
    assert engine.records("CONDITIONAL_SUBSCRIPTION", "TRIGGERED")


def test_a_condition_true_when_the_event_is_entered_triggers_at_once() -> None:
    engine = Harness()
    engine.deploy(
        process("p", start_event(), conditional_catch("until", "=x > 10"), end_event(), flows("start", "until", "end"))
    )
    assert engine.completed(engine.start("p", {"x": 11}))


def test_a_condition_that_fails_to_evaluate_does_not_trigger_and_raises_no_incident() -> None:
    engine = Harness()
    key = waiting(engine, "=x.y > 1")
    engine.runtime.set_variables(key, {"x": 20}, local=False)
    assert engine.is_running(key)
    assert engine.incidents(key) == []
    engine.runtime.set_variables(key, {"x": {"y": 2}}, local=False)
    assert engine.completed(key)


def test_the_filter_names_the_variables_and_events_that_re_evaluate_it() -> None:
    engine = Harness()
    key = waiting(engine, "=x > 10 or go = true", names="go", events="create")
    engine.runtime.set_variables(key, {"x": 50}, local=False)  # not a filtered name
    assert engine.is_running(key)
    engine.runtime.set_variables(key, {"go": False}, local=False)  # created: evaluated, and x > 10 now
    assert engine.completed(key)


def test_an_update_does_not_re_evaluate_a_create_only_filter() -> None:
    engine = Harness()
    engine.deploy(
        process(
            "p",
            start_event(),
            conditional_catch("until", "=go", names="go", events="create"),
            end_event(),
            flows("start", "until", "end"),
        )
    )
    key = engine.start("p", {"go": False})
    engine.runtime.set_variables(key, {"go": True}, local=False)  # an update
    assert engine.is_running(key)


def boundary_model(*, interrupting: bool) -> bytes:
    return process(
        "b",
        start_event(),
        service_task("work", "w"),
        conditional_boundary("changed", "work", "=address != null", interrupting=interrupting),
        service_task("apply", "apply"),
        end_event(),
        end_event("applied"),
        flows("start", "work", "end"),
        flow("changed", "apply"),
        flow("apply", "applied"),
    )


def test_an_interrupting_boundary_event_ends_the_task_when_its_condition_becomes_true() -> None:
    engine = Harness()
    engine.deploy(boundary_model(interrupting=True))
    key = engine.start("b")
    job = engine.one_job("w")
    engine.runtime.set_variables(key, {"address": "Main St"}, local=False)
    assert job.key not in engine.runtime.jobs
    assert engine.active(key) == ["apply"]


def test_a_non_interrupting_boundary_event_fires_on_each_change_that_keeps_it_true() -> None:
    engine = Harness()
    engine.deploy(boundary_model(interrupting=False))
    key = engine.start("b")
    engine.runtime.set_variables(key, {"address": "a"}, local=False)
    engine.runtime.set_variables(key, {"address": "b"}, local=False)
    assert sorted(engine.active(key)) == ["apply", "apply", "work"]


def test_a_boundary_event_true_when_the_task_is_entered_triggers_at_once() -> None:
    engine = Harness()
    engine.deploy(boundary_model(interrupting=True))
    key = engine.start("b", {"address": "known"})
    assert engine.active(key) == ["apply"]
    assert engine.activate("w") == []


def test_a_job_completion_that_makes_the_condition_true_triggers_the_boundary_of_another_branch() -> None:
    engine = Harness()
    engine.deploy(
        process(
            "p",
            start_event(),
            service_task("a", "a"),
            end_event("end-a"),
            conditional_catch("until", "=done = true"),
            end_event("end-b"),
            '<bpmn:parallelGateway id="fork"/>',
            flow("start", "fork"),
            flow("fork", "a"),
            flow("fork", "until"),
            flow("a", "end-a"),
            flow("until", "end-b"),
        )
    )
    key = engine.start("p", {"done": False})
    engine.complete(engine.one_job("a"), {"done": True})
    assert engine.completed(key)


def starts() -> bytes:
    return process(
        "orders",
        conditional_start("received", "=orderReceived = true"),
        conditional_start("rush", "=priority > 5", names="priority"),
        service_task("handle", "handle"),
        end_event(),
        flows("received", "handle", "end"),
        flow("rush", "handle"),
    )


def test_evaluate_conditional_starts_an_instance_per_true_start_event() -> None:
    engine = Harness()
    (definition,) = engine.deploy(starts())
    key, started = engine.runtime.evaluate_conditional({"orderReceived": True, "priority": 9})
    assert key > 0
    assert [d for d, _ in started] == [definition.key, definition.key]
    assert len(engine.activate("handle")) == 2
    _, none = engine.runtime.evaluate_conditional({"orderReceived": False})
    assert none == []
    _, filtered = engine.runtime.evaluate_conditional({"orderReceived": False, "other": 1})
    assert filtered == []
    assert engine.records("CONDITIONAL_EVALUATION", "EVALUATED")


def test_evaluate_conditional_of_one_definition_and_of_a_missing_one() -> None:
    engine = Harness()
    (definition,) = engine.deploy(starts())
    _, started = engine.runtime.evaluate_conditional({"orderReceived": True}, definition_key=definition.key)
    assert len(started) == 1
    with pytest.raises(NotFound):
        engine.runtime.evaluate_conditional({}, definition_key=12345)


@pytest.mark.parametrize("interrupting", [True, False])
def test_a_conditional_event_sub_process_starts_when_its_condition_becomes_true(interrupting: bool) -> None:
    engine = Harness()
    engine.deploy(
        process(
            "e",
            start_event(),
            service_task("work", "w"),
            end_event(),
            flows("start", "work", "end"),
            event_sub_process(
                "on-cancel",
                conditional_start("cancelled", "=cancelled = true", interrupting=interrupting),
                service_task("undo", "undo"),
                end_event("undone"),
                flows("cancelled", "undo", "undone"),
            ),
        )
    )
    key = engine.start("e", {"cancelled": False})
    job = engine.one_job("w")
    engine.runtime.set_variables(key, {"cancelled": True}, local=False)
    assert engine.one_job("undo").instance.process_instance_key == key
    assert (job.key in engine.runtime.jobs) is not interrupting


def test_a_conditional_start_inside_a_sub_process_is_refused() -> None:
    sub = (
        '<bpmn:subProcess id="sub">'
        + start_event("s")
        + conditional_start("c", "=true")
        + end_event("e")
        + flow("s", "e")
        + "</bpmn:subProcess>"
    )
    with pytest.raises(InvalidArgument, match="only supported at the process level"):
        Harness().deploy(process("p", start_event(), sub, end_event(), flows("start", "sub", "end")))


def test_a_conditional_subscription_survives_a_restart(tmp_path: Path) -> None:
    engine = Restartable(tmp_path)
    key = waiting(engine)
    engine = engine.restart()
    engine.runtime.set_variables(key, {"x": 99}, local=False)
    assert engine.completed(key)
    engine.store.close()
