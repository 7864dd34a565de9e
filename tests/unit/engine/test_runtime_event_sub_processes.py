"""Event sub-processes and escalations, as the Camunda docs describe them: message, timer, signal, error and
escalation starts; interrupting ones end everything else in their scope, non-interrupting ones run beside
it; in the process and inside embedded sub-processes. An escalation is caught by the nearest boundary event
or event sub-process with its code (or catching all); uncaught, the throwing event carries on."""

from __future__ import annotations

from tests.unit.engine.bpmn_builders import (
    boundary,
    call_activity,
    end_event,
    error_end,
    escalation_end,
    escalation_throw,
    event_start,
    event_sub_process,
    flow,
    flows,
    process,
    service_task,
    start_event,
    sub_process,
)
from tests.unit.engine.harness import Harness


def handler_sub_process(start: str, element_id: str = "handler") -> str:
    """An event sub-process started by ``start`` (the event "h-start") that runs a "handle" job and ends."""
    return event_sub_process(
        element_id, start, service_task("handle", "handle"), end_event("h-end"), flows("h-start", "handle", "h-end")
    )


def with_handler(start: str, **declared: object) -> bytes:
    """A process waiting in a job, with an event sub-process started by ``start`` running a handler job."""
    handler = handler_sub_process(start)
    return process(
        "p",
        start_event(),
        service_task("work", "work"),
        end_event(),
        flows("start", "work", "end"),
        handler,
        **declared,  # type: ignore[arg-type]
    )


def test_an_interrupting_message_start_ends_the_rest_and_the_process_ends_with_the_handler(engine: Harness) -> None:
    engine.deploy(with_handler(event_start("h-start", message="cancel"), messages={"cancel": "=id"}))
    key = engine.start("p", {"id": "o-1"})
    assert engine.activate("work")

    engine.publish("cancel", "o-1", variables={"reason": "customer"})
    assert not [j for j in engine.runtime.jobs.values() if j.type == "work"]
    handle = engine.one_job("handle")
    assert engine.variables(handle.instance.key)["reason"] == "customer"
    engine.complete(handle)
    assert engine.completed(key)
    (activated,) = engine.records("PROCESS_INSTANCE", "ELEMENT_ACTIVATED", bpmnElementType="EVENT_SUB_PROCESS")
    assert activated["value"]["elementId"] == "handler"


def test_a_non_interrupting_timer_start_runs_beside_the_process_on_each_cycle(engine: Harness) -> None:
    engine.deploy(with_handler(event_start("h-start", cycle="R2/PT1M", interrupting=False)))
    key = engine.start("p")
    engine.advance(60_000)
    engine.advance(60_000)
    engine.advance(60_000)
    handles = engine.activate("handle")
    assert len(handles) == 2
    work = engine.one_job("work")
    for job in [*handles, work]:
        engine.complete(job)
    assert engine.completed(key)


def test_a_signal_start_triggers_the_event_sub_process(engine: Harness) -> None:
    engine.deploy(with_handler(event_start("h-start", signal="alarm", interrupting=False), signals=["alarm"]))
    key = engine.start("p")
    engine.signal("alarm")
    assert engine.one_job("handle").instance.process_instance_key == key
    assert engine.activate("work")


def test_an_error_thrown_by_a_job_is_caught_by_an_error_event_sub_process(engine: Harness) -> None:
    engine.deploy(with_handler(event_start("h-start", error="BAD"), errors=["BAD"]))
    key = engine.start("p")
    engine.throw(engine.one_job("work"), "BAD", "it broke", {"detail": 1})

    handle = engine.one_job("handle")
    assert engine.variables(handle.instance.key)["detail"] == 1
    assert not engine.incidents()
    engine.complete(handle)
    assert engine.completed(key)


def test_a_boundary_event_on_the_task_catches_before_the_scopes_event_sub_process(engine: Harness) -> None:
    handler = handler_sub_process(event_start("h-start", error="BAD"))
    engine.deploy(
        process(
            "p",
            start_event(),
            service_task("work", "work"),
            boundary("near", "work", error="BAD"),
            end_event(),
            end_event("near-end"),
            flows("start", "work", "end"),
            flow("near", "near-end"),
            handler,
            errors=["BAD"],
        )
    )
    key = engine.start("p")
    engine.throw(engine.one_job("work"), "BAD")
    assert engine.completed(key)
    assert not engine.activate("handle")


def test_an_event_sub_process_inside_an_embedded_sub_process_is_scoped_to_it(engine: Harness) -> None:
    handler = handler_sub_process(event_start("h-start", error="BAD"), "inner-handler")
    inner = sub_process(
        "sub", start_event("s"), service_task("work", "work"), end_event("e"), flows("s", "work", "e"), handler
    )
    engine.deploy(
        process(
            "p",
            start_event(),
            inner,
            service_task("after", "after"),
            end_event(),
            flows("start", "sub", "after", "end"),
            errors=["BAD"],
        )
    )
    key = engine.start("p")
    engine.throw(engine.one_job("work"), "BAD")
    engine.complete(engine.one_job("handle"))
    # The sub-process completed through its handler, and the process goes on after it.
    engine.complete(engine.one_job("after"))
    assert engine.completed(key)


def test_an_escalation_is_caught_by_a_non_interrupting_boundary_and_the_thrower_goes_on(engine: Harness) -> None:
    inner = sub_process(
        "sub", start_event("s"), escalation_throw("raise", "LATE"), end_event("e"), flows("s", "raise", "e")
    )
    engine.deploy(
        process(
            "p",
            start_event(),
            inner,
            boundary("noticed", "sub", escalation="LATE", interrupting=False),
            service_task("notify", "notify"),
            end_event(),
            end_event("n-end"),
            flows("start", "sub", "end"),
            flows("noticed", "notify", "n-end"),
            escalations=["LATE"],
        )
    )
    key = engine.start("p")
    notify = engine.one_job("notify")
    assert engine.records("ESCALATION", "ESCALATED", escalationCode="LATE", catchElementId="noticed")
    # The sub-process went on past the throw event and completed.
    assert engine.records("PROCESS_INSTANCE", "ELEMENT_COMPLETED", elementId="sub")
    engine.complete(notify)
    assert engine.completed(key)


def test_an_interrupting_escalation_boundary_ends_the_sub_process(engine: Harness) -> None:
    inner = sub_process(
        "sub",
        start_event("s"),
        escalation_throw("raise", "LATE"),
        service_task("never", "never"),
        end_event("e"),
        flows("s", "raise", "never", "e"),
    )
    engine.deploy(
        process(
            "p",
            start_event(),
            inner,
            boundary("noticed", "sub", catch_all_escalations=True),
            end_event(),
            end_event("n-end"),
            flows("start", "sub", "end"),
            flow("noticed", "n-end"),
            escalations=["LATE"],
        )
    )
    key = engine.start("p")
    assert engine.completed(key)
    assert not engine.activate("never")


def test_an_escalation_end_event_starts_an_escalation_event_sub_process(engine: Harness) -> None:
    handler = handler_sub_process(event_start("h-start", escalation="UP", interrupting=False))
    inner = sub_process("sub", start_event("s"), escalation_end("up", "UP"), flows("s", "up"))
    engine.deploy(
        process("p", start_event(), inner, end_event(), flows("start", "sub", "end"), handler, escalations=["UP"])
    )
    key = engine.start("p")
    engine.complete(engine.one_job("handle"))
    assert engine.completed(key)


def test_an_uncaught_escalation_changes_nothing_and_is_recorded(engine: Harness) -> None:
    engine.deploy(
        process(
            "p",
            start_event(),
            escalation_throw("raise", "NOBODY"),
            end_event(),
            flows("start", "raise", "end"),
            escalations=["NOBODY"],
        )
    )
    key = engine.start("p")
    assert engine.completed(key)
    assert not engine.incidents()
    assert engine.records("ESCALATION", "NOT_ESCALATED", escalationCode="NOBODY")


def test_an_error_end_event_in_a_called_child_is_caught_by_the_parents_event_sub_process(engine: Harness) -> None:
    engine.deploy(
        process("child", start_event(), error_end("fail", "NOPE"), flows("start", "fail"), errors=["NOPE"]),
        name="child.bpmn",
    )
    handler = handler_sub_process(event_start("h-start", error="NOPE"))
    engine.deploy(
        process(
            "parent",
            start_event(),
            call_activity("call", "child"),
            end_event(),
            flows("start", "call", "end"),
            handler,
            errors=["NOPE"],
        ),
        name="parent.bpmn",
    )
    key = engine.start("parent")
    assert engine.one_job("handle").instance.process_instance_key == key
