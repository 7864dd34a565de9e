"""Compensation, as the Camunda docs describe it: a compensation throw event runs the handlers of the
completed activities of its scope (not of active or terminated ones) and waits for them; activityRef
compensates one activity; a throw in an event sub-process compensates the scope around it; a multi-instance
activity's handler runs once."""

from __future__ import annotations

import pytest

from tests.unit.engine.bpmn_builders import (
    end_event,
    event_start,
    event_sub_process,
    flows,
    multi_instance,
    process,
    service_task,
    start_event,
    sub_process,
)
from tests.unit.engine.harness import Harness
from zeebe_celery.engine.errors import InvalidArgument


def undoable(activity_id: str, job_type: str, *, many: bool = False) -> str:
    """A service task with a compensation boundary event associated with its handler ``undo-<id>``."""
    task = service_task(activity_id, job_type)
    if many:
        task = multi_instance(task, "=items", element="item")
    handler = service_task(f"undo-{activity_id}", f"undo-{job_type}").replace(
        "<bpmn:serviceTask ", '<bpmn:serviceTask isForCompensation="true" ', 1
    )
    return (
        f"{task}"
        f'<bpmn:boundaryEvent id="comp-{activity_id}" attachedToRef="{activity_id}">'
        "<bpmn:compensateEventDefinition/></bpmn:boundaryEvent>"
        f"{handler}"
        f'<bpmn:association id="assoc-{activity_id}" sourceRef="comp-{activity_id}" targetRef="undo-{activity_id}"/>'
    )


def compensate(element_id: str, *, activity: str | None = None, end: bool = False) -> str:
    ref = f' activityRef="{activity}"' if activity else ""
    tag = "endEvent" if end else "intermediateThrowEvent"
    return f'<bpmn:{tag} id="{element_id}"><bpmn:compensateEventDefinition{ref}/></bpmn:{tag}>'


def test_a_compensation_throw_runs_the_handlers_of_completed_activities_and_waits_for_them(engine: Harness) -> None:
    engine.deploy(
        process(
            "p",
            start_event(),
            undoable("book", "book"),
            undoable("charge", "charge"),
            compensate("undo"),
            service_task("after", "after"),
            end_event(),
            flows("start", "book", "charge", "undo", "after", "end"),
        )
    )
    key = engine.start("p")
    engine.complete(engine.one_job("book"))
    engine.complete(engine.one_job("charge"))

    undo_book, undo_charge = engine.one_job("undo-book"), engine.one_job("undo-charge")
    engine.complete(undo_book)
    assert not engine.activate("after")  # the throw waits for every handler
    engine.complete(undo_charge)
    engine.complete(engine.one_job("after"))
    assert engine.completed(key)
    assert len(engine.records("COMPENSATION_SUBSCRIPTION", "TRIGGERED", processInstanceKey=key)) == 2


def test_activity_ref_compensates_only_that_activity(engine: Harness) -> None:
    engine.deploy(
        process(
            "p",
            start_event(),
            undoable("book", "book"),
            undoable("charge", "charge"),
            compensate("undo", activity="charge", end=True),
            flows("start", "book", "charge", "undo"),
        )
    )
    key = engine.start("p")
    engine.complete(engine.one_job("book"))
    engine.complete(engine.one_job("charge"))
    engine.complete(engine.one_job("undo-charge"))
    assert engine.completed(key)
    assert not engine.activate("undo-book")


def test_a_throw_with_nothing_completed_to_compensate_goes_on_at_once(engine: Harness) -> None:
    engine.deploy(
        process(
            "p",
            start_event(),
            compensate("undo"),
            undoable("book", "book"),
            end_event(),
            flows("start", "undo", "book", "end"),
        )
    )
    engine.start("p")
    assert engine.one_job("book")
    assert not engine.activate("undo-book")


def test_a_throw_in_an_error_event_sub_process_compensates_the_scope_around_it(engine: Harness) -> None:
    handler = event_sub_process(
        "on-error",
        event_start("err-start", error="FAILED"),
        compensate("undo-all", end=True),
        flows("err-start", "undo-all"),
    )
    engine.deploy(
        process(
            "p",
            start_event(),
            undoable("book", "book"),
            service_task("ship", "ship"),
            end_event(),
            flows("start", "book", "ship", "end"),
            handler,
            errors=["FAILED"],
        )
    )
    key = engine.start("p")
    engine.complete(engine.one_job("book"))
    engine.throw(engine.one_job("ship"), "FAILED")
    engine.complete(engine.one_job("undo-book"))
    assert engine.completed(key)


def test_a_multi_instance_activitys_handler_runs_once(engine: Harness) -> None:
    engine.deploy(
        process(
            "p",
            start_event(),
            undoable("book", "book", many=True),
            compensate("undo"),
            end_event(),
            flows("start", "book", "undo", "end"),
        )
    )
    key = engine.start("p", {"items": [1, 2, 3]})
    for job in engine.activate("book"):
        engine.complete(job)
    engine.complete(engine.one_job("undo-book"))
    assert engine.completed(key)


def test_a_compensation_boundary_without_a_handler_is_refused(engine: Harness) -> None:
    bare = (
        service_task("book", "book")
        + '<bpmn:boundaryEvent id="comp" attachedToRef="book"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>'
    )
    with pytest.raises(InvalidArgument, match="must be associated with a compensation handler"):
        engine.deploy(process("p", start_event(), bare, end_event(), flows("start", "book", "end")))


def test_a_throw_outside_a_completed_sub_process_runs_the_handlers_inside_it(engine: Harness) -> None:
    inner = sub_process("sub", start_event("s"), undoable("book", "book"), end_event("e"), flows("s", "book", "e"))
    xml = process(
        "p",
        start_event(),
        inner,
        undoable("charge", "charge"),
        compensate("undo"),
        service_task("after", "after"),
        end_event(),
        flows("start", "sub", "charge", "undo", "after", "end"),
    )
    engine.deploy(xml)
    key = engine.start("p")
    engine.complete(engine.one_job("book"))
    engine.complete(engine.one_job("charge"))

    undo_book = engine.one_job("undo-book")
    assert undo_book.instance.parent is not None
    assert undo_book.instance.parent.key == key
    engine.complete(engine.one_job("undo-charge"))
    assert not engine.activate("after")  # the throw waits for the handler inside the sub-process too
    engine.complete(undo_book)
    engine.complete(engine.one_job("after"))
    assert engine.completed(key)
    created = engine.records("COMPENSATION_SUBSCRIPTION", "CREATED", processInstanceKey=key)
    assert [r["value"]["compensableActivityId"] for r in created] == ["book", "sub", "charge"]


def test_sub_processes_nested_two_deep_hand_their_compensable_activities_up(engine: Harness) -> None:
    deepest = sub_process(
        "inner", start_event("s2"), undoable("book", "book"), end_event("e2"), flows("s2", "book", "e2")
    )
    outer = sub_process("outer", start_event("s1"), deepest, end_event("e1"), flows("s1", "inner", "e1"))
    engine.deploy(process("p", start_event(), outer, compensate("undo", end=True), flows("start", "outer", "undo")))
    key = engine.start("p")
    engine.complete(engine.one_job("book"))
    engine.complete(engine.one_job("undo-book"))
    assert engine.completed(key)


def test_what_a_throw_inside_the_sub_process_compensated_is_not_compensated_again(engine: Harness) -> None:
    inner = sub_process(
        "sub",
        start_event("s"),
        undoable("book", "book"),
        compensate("undo-inside"),
        end_event("e"),
        flows("s", "book", "undo-inside", "e"),
    )
    xml = process(
        "p",
        start_event(),
        inner,
        compensate("undo"),
        service_task("after", "after"),
        end_event(),
        flows("start", "sub", "undo", "after", "end"),
    )
    engine.deploy(xml)
    key = engine.start("p")
    engine.complete(engine.one_job("book"))
    engine.complete(engine.one_job("undo-book"))  # the throw inside the sub-process
    engine.complete(engine.one_job("after"))  # the throw outside found nothing left to compensate
    assert not engine.activate("undo-book")
    assert engine.completed(key)


def test_a_multi_instance_sub_process_compensates_each_completed_iteration(engine: Harness) -> None:
    inner = multi_instance(
        sub_process("sub", start_event("s"), undoable("book", "book"), end_event("e"), flows("s", "book", "e")),
        "=items",
        element="item",
    )
    engine.deploy(process("p", start_event(), inner, compensate("undo", end=True), flows("start", "sub", "undo")))
    key = engine.start("p", {"items": [1, 2]})
    for job in engine.activate("book"):
        engine.complete(job)
    undos = engine.activate("undo-book")
    assert len(undos) == 2  # "completed more than once, the handler is invoked for the same amount"
    for job in undos:
        engine.complete(job)
    assert engine.completed(key)


def test_an_unknown_activity_ref_is_refused(engine: Harness) -> None:
    xml = process(
        "p",
        start_event(),
        undoable("book", "book"),
        compensate("undo", activity="nope"),
        end_event(),
        flows("start", "book", "undo", "end"),
    )
    with pytest.raises(InvalidArgument, match="activityRef 'nope'"):
        engine.deploy(xml)
