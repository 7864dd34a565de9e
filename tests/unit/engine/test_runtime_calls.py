"""Call activities, as the Camunda docs describe them: the called process starts with the caller's variables
(or only its input mappings), the call activity waits and completes with the child's variables (or only
its output mappings); cancelling the parent cancels the child; the child's incidents are the child's; a
BPMN error thrown in the child reaches the call activity's boundary event."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.engine.bpmn_builders import (
    boundary,
    call_activity,
    end_event,
    error_end,
    flow,
    flows,
    process,
    service_task,
    start_event,
)
from tests.unit.engine.harness import Harness
from tests.unit.engine.test_store import Restartable
from zeebe_celery.engine.errors import FailedPrecondition


def child(process_id: str = "child", job_type: str = "child-work") -> bytes:
    return process(
        process_id, start_event(), service_task("work", job_type), end_event(), flows("start", "work", "end")
    )


def parent(**options: object) -> bytes:
    return process(
        "parent",
        start_event(),
        call_activity("call", "child", **options),  # type: ignore[arg-type]
        end_event(),
        flows("start", "call", "end"),
    )


def _child_key(engine: Harness, parent_key: int) -> int:
    call = engine.element_instance(parent_key, "call")
    assert call.called is not None
    return call.called.process_instance_key


def test_the_child_starts_with_the_callers_variables_and_its_variables_come_back(engine: Harness) -> None:
    engine.deploy(child(), name="child.bpmn")
    engine.deploy(parent(), name="parent.bpmn")
    key = engine.start("parent", {"order": 7})

    job = engine.one_job("child-work")
    child_key = job.instance.process_instance_key
    assert child_key != key
    assert engine.variables(job.instance.key) == {"order": 7}
    engine.complete(job, {"shipped": True})

    assert engine.completed(child_key)
    assert engine.completed(key)
    root = engine.records("PROCESS_INSTANCE", "ELEMENT_COMPLETED", bpmnElementType="PROCESS", processInstanceKey=key)
    assert root
    variables = {r["value"]["name"] for r in engine.records("VARIABLE", processInstanceKey=key)}
    assert {"order", "shipped"} <= variables


def test_the_called_process_records_name_its_parent(engine: Harness) -> None:
    engine.deploy(child(), name="child.bpmn")
    engine.deploy(parent(), name="parent.bpmn")
    key = engine.start("parent")
    child_key = _child_key(engine, key)
    call = engine.element_instance(key, "call")

    (activating,) = engine.records(
        "PROCESS_INSTANCE", "ELEMENT_ACTIVATING", bpmnElementType="PROCESS", processInstanceKey=child_key
    )
    assert activating["value"]["parentProcessInstanceKey"] == key
    assert activating["value"]["parentElementInstanceKey"] == call.key
    (call_record,) = engine.records("PROCESS_INSTANCE", "ELEMENT_ACTIVATED", elementId="call")
    assert call_record["value"]["bpmnElementType"] == "CALL_ACTIVITY"


def test_without_parent_propagation_the_child_gets_only_the_input_mappings(engine: Harness) -> None:
    engine.deploy(child(), name="child.bpmn")
    engine.deploy(parent(propagate_parent=False, inputs={"id": "=order"}), name="parent.bpmn")
    engine.start("parent", {"order": 7, "secret": "s"})

    job = engine.one_job("child-work")
    assert engine.variables(job.instance.key) == {"id": 7}


def test_without_child_propagation_only_the_output_mappings_come_back(engine: Harness) -> None:
    engine.deploy(child(), name="child.bpmn")
    engine.deploy(parent(propagate_child=False, outputs={"result": "=shipped"}), name="parent.bpmn")
    key = engine.start("parent", {"order": 7})
    engine.complete(engine.one_job("child-work"), {"shipped": True, "noise": 1})

    assert engine.completed(key)
    names = {r["value"]["name"] for r in engine.records("VARIABLE", processInstanceKey=key, scopeKey=key)}
    assert "result" in names
    assert "noise" not in names


def test_without_child_propagation_or_output_mappings_nothing_comes_back(engine: Harness) -> None:
    engine.deploy(child(), name="child.bpmn")
    engine.deploy(parent(propagate_child=False), name="parent.bpmn")
    key = engine.start("parent")
    engine.complete(engine.one_job("child-work"), {"shipped": True})

    assert engine.completed(key)
    assert not engine.records("VARIABLE", processInstanceKey=key, name="shipped")


def test_the_called_process_id_can_be_an_expression(engine: Harness) -> None:
    engine.deploy(child("child-b", "b-work"), name="b.bpmn")
    engine.deploy(
        process("parent", start_event(), call_activity("call", "=which"), end_event(), flows("start", "call", "end")),
        name="parent.bpmn",
    )
    engine.start("parent", {"which": "child-b"})
    assert engine.one_job("b-work")


def test_a_process_that_is_not_deployed_is_an_incident_resolved_once_it_is(engine: Harness) -> None:
    engine.deploy(parent(), name="parent.bpmn")
    key = engine.start("parent")
    (incident,) = engine.incidents(key)
    assert incident.error_type == "CALLED_ELEMENT_ERROR"
    assert incident.error_message == "Expected process with BPMN process id 'child' to be deployed, but not found."

    engine.deploy(child(), name="child.bpmn")
    engine.resolve(incident)
    assert engine.one_job("child-work")


def test_cancelling_the_parent_cancels_the_child_and_its_job(engine: Harness) -> None:
    engine.deploy(child(), name="child.bpmn")
    engine.deploy(parent(), name="parent.bpmn")
    key = engine.start("parent")
    job = engine.one_job("child-work")
    child_key = job.instance.process_instance_key

    with engine.runtime.lock:
        engine.runtime.cancel_instance(key)
    assert not engine.is_running(child_key)
    assert not engine.runtime.jobs
    assert engine.records(
        "PROCESS_INSTANCE", "ELEMENT_TERMINATED", bpmnElementType="PROCESS", processInstanceKey=child_key
    )


def test_a_called_process_cannot_be_cancelled_on_its_own(engine: Harness) -> None:
    engine.deploy(child(), name="child.bpmn")
    engine.deploy(parent(), name="parent.bpmn")
    key = engine.start("parent")
    child_key = _child_key(engine, key)

    with pytest.raises(FailedPrecondition, match=f"Cancel the root process instance '{key}' instead"):
        engine.runtime.cancel_instance(child_key)
    assert engine.is_running(child_key)


def test_an_incident_in_the_child_is_the_childs(engine: Harness) -> None:
    engine.deploy(child(), name="child.bpmn")
    engine.deploy(parent(), name="parent.bpmn")
    key = engine.start("parent")
    engine.fail(engine.one_job("child-work"), retries=0, message="broken")

    (incident,) = engine.incidents()
    assert incident.instance.process_instance_key == _child_key(engine, key)
    assert incident.instance.element.id == "work"


def test_an_error_thrown_in_the_child_is_caught_by_the_call_activitys_boundary(engine: Harness) -> None:
    engine.deploy(
        process("child", start_event(), error_end("fail", "NOPE"), flows("start", "fail"), errors=["NOPE"]),
        name="child.bpmn",
    )
    engine.deploy(
        process(
            "parent",
            start_event(),
            call_activity("call", "child"),
            boundary("caught", "call", error="NOPE"),
            service_task("handle", "handle"),
            end_event(),
            end_event("after"),
            flows("start", "call", "end"),
            flow("caught", "handle"),
            flow("handle", "after"),
            errors=["NOPE"],
        ),
        name="parent.bpmn",
    )
    key = engine.start("parent")
    assert engine.one_job("handle").instance.process_instance_key == key
    assert not engine.incidents()
    child_keys = {
        r["value"]["processInstanceKey"]
        for r in engine.records("PROCESS_INSTANCE", "ELEMENT_TERMINATED", bpmnElementType="PROCESS")
    }
    assert len(child_keys) == 1


def test_an_interrupting_timer_on_the_call_activity_ends_the_child(engine: Harness) -> None:
    engine.deploy(child(), name="child.bpmn")
    engine.deploy(
        process(
            "parent",
            start_event(),
            call_activity("call", "child"),
            boundary("late", "call", duration="PT1M"),
            end_event(),
            end_event("timed-out"),
            flows("start", "call", "end"),
            flow("late", "timed-out"),
        ),
        name="parent.bpmn",
    )
    key = engine.start("parent")
    child_key = _child_key(engine, key)
    engine.advance(60_000)
    assert engine.completed(key)
    assert not engine.is_running(child_key)


def test_binding_by_deployment_calls_the_version_deployed_with_the_caller(engine: Harness) -> None:
    engine.deploy(child("child", "v1-work"), parent(binding="deployment"), name="both.bpmn")
    engine.deploy(child("child", "v2-work"), name="child.bpmn")
    engine.start("parent")
    assert engine.one_job("v1-work")
    assert not engine.activate("v2-work")


def test_binding_by_version_tag_calls_the_tagged_version(engine: Harness) -> None:
    tagged = process(
        "child",
        start_event(),
        service_task("work", "tagged"),
        end_event(),
        flows("start", "work", "end"),
        version_tag="stable",
    )
    engine.deploy(tagged, name="tagged.bpmn")
    engine.deploy(child("child", "newest"), name="child.bpmn")
    engine.deploy(parent(binding="versionTag", version_tag="stable"), name="parent.bpmn")
    engine.start("parent")
    assert engine.one_job("tagged")


def test_a_call_in_flight_survives_a_restart(tmp_path: Path) -> None:
    engine = Restartable(tmp_path)
    engine.deploy(child(), name="child.bpmn")
    engine.deploy(parent(), name="parent.bpmn")
    key = engine.start("parent", {"order": 1})

    engine = engine.restart()
    engine.complete(engine.one_job("child-work"), {"done": True})
    assert engine.completed(key)
