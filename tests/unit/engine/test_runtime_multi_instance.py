"""Multi-instance activities, as the Camunda docs describe them: one inner instance per item, in parallel
or in sequence, with ``loopCounter`` and the input element local to each; the output collection in item
order, propagated when the body completes; a completion condition ends the body early; an empty collection
completes at once; boundary events belong to the body."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.engine.bpmn_builders import (
    boundary,
    call_activity,
    end_event,
    flow,
    flows,
    multi_instance,
    process,
    service_task,
    start_event,
    sub_process,
)
from tests.unit.engine.harness import Harness
from tests.unit.engine.test_store import Restartable
from zeebe_celery.engine.errors import InvalidArgument


def model(sequential: bool = False, completion: str | None = None, **options: str) -> bytes:
    task = multi_instance(
        service_task("each", "each", inputs={"n": "=item * 10"}),
        "=items",
        element="item",
        sequential=sequential,
        completion=completion,
        **options,
    )
    return process("mi", start_event(), task, end_event(), flows("start", "each", "end"))


def test_a_parallel_body_runs_every_item_at_once_with_its_own_counter_and_element(engine: Harness) -> None:
    engine.deploy(model())
    key = engine.start("mi", {"items": [1, 2, 3]})

    jobs = engine.activate("each")
    seen = sorted(
        (
            engine.variables(j.instance.key)["loopCounter"],
            engine.variables(j.instance.key)["item"],
            engine.variables(j.instance.key)["n"],
        )
        for j in jobs
    )
    assert seen == [(1, 1, 10), (2, 2, 20), (3, 3, 30)]
    (body,) = [i for i in engine.runtime.instances.values() if i.element.kind.value == "MULTI_INSTANCE_BODY"]
    assert body.parent is not None
    assert body.parent.key == key
    assert body.variables["numberOfInstances"] == 3
    assert body.variables["numberOfActiveInstances"] == 3
    for job in jobs:
        engine.complete(job)
    assert engine.completed(key)
    (completed,) = engine.records("PROCESS_INSTANCE", "ELEMENT_COMPLETED", bpmnElementType="MULTI_INSTANCE_BODY")
    assert completed["value"]["elementId"] == "each"


def test_a_sequential_body_runs_one_item_after_another(engine: Harness) -> None:
    engine.deploy(model(sequential=True))
    key = engine.start("mi", {"items": ["a", "b"]})

    first = engine.activate("each")
    assert [engine.variables(j.instance.key)["item"] for j in first] == ["a"]
    engine.complete(first[0])
    second = engine.activate("each")
    assert [engine.variables(j.instance.key)["item"] for j in second] == ["b"]
    assert engine.variables(second[0].instance.key)["loopCounter"] == 2
    engine.complete(second[0])
    assert engine.completed(key)


def test_the_output_collection_keeps_item_order_and_goes_up_when_the_body_completes(engine: Harness) -> None:
    engine.deploy(model(output="results", output_element="=result"))
    key = engine.start("mi", {"items": [1, 2, 3]})
    jobs = sorted(engine.activate("each"), key=lambda j: engine.variables(j.instance.key)["loopCounter"])
    # Completed out of order: the collection still follows the items.
    for job in reversed(jobs):
        engine.complete(job, {"result": engine.variables(job.instance.key)["item"] * 2})

    assert engine.completed(key)
    results = [r for r in engine.records("VARIABLE", name="results") if r["value"]["scopeKey"] == key]
    assert json.loads(results[-1]["value"]["value"]) == [2, 4, 6]


def test_an_empty_collection_completes_the_body_at_once(engine: Harness) -> None:
    engine.deploy(model(output="results", output_element="=result"))
    key = engine.start("mi", {"items": []})
    assert engine.completed(key)
    assert not engine.activate("each")


def test_a_collection_that_is_not_a_list_is_an_incident(engine: Harness) -> None:
    engine.deploy(model())
    key = engine.start("mi", {"items": "nope"})
    (incident,) = engine.incidents(key)
    assert incident.error_type == "EXTRACT_VALUE_ERROR"
    assert incident.error_message == "Expected result of the expression 'items' to be 'ARRAY', but was 'STRING'."

    with engine.runtime.lock:
        engine.runtime.set_variables(key, {"items": [5]}, local=False)
    engine.resolve(incident)
    assert len(engine.activate("each")) == 1


def test_a_completion_condition_ends_the_body_and_terminates_the_rest(engine: Harness) -> None:
    engine.deploy(model(completion="=numberOfCompletedInstances >= 2"))
    key = engine.start("mi", {"items": [1, 2, 3, 4]})
    jobs = engine.activate("each")
    engine.complete(jobs[0])
    assert engine.is_running(key)
    engine.complete(jobs[1])

    assert engine.completed(key)
    assert not engine.runtime.jobs
    terminated = engine.records("PROCESS_INSTANCE", "ELEMENT_TERMINATED", elementId="each")
    assert len(terminated) == 2


def test_a_sequential_body_stops_at_its_completion_condition(engine: Harness) -> None:
    engine.deploy(model(sequential=True, completion="=item = 2"))
    key = engine.start("mi", {"items": [1, 2, 3]})
    engine.complete(engine.one_job("each"))
    engine.complete(engine.one_job("each"))
    assert engine.completed(key)
    assert not engine.activate("each")


def test_an_interrupting_boundary_event_ends_every_inner_instance(engine: Harness) -> None:
    task = multi_instance(service_task("each", "each"), "=items", element="item")
    engine.deploy(
        process(
            "mi",
            start_event(),
            task,
            boundary("late", "each", duration="PT1M"),
            end_event(),
            end_event("timed-out"),
            flows("start", "each", "end"),
            flow("late", "timed-out"),
        )
    )
    key = engine.start("mi", {"items": [1, 2]})
    assert len(engine.activate("each")) == 2
    engine.advance(60_000)
    assert engine.completed(key)
    assert not engine.runtime.jobs


def test_a_multi_instance_sub_process_and_call_activity_run_per_item(engine: Harness) -> None:
    child = process("child", start_event(), service_task("c", "child-work"), end_event(), flows("start", "c", "end"))
    inner = sub_process("sub", start_event("s"), service_task("w", "sub-work"), end_event("e"), flows("s", "w", "e"))
    engine.deploy(child, name="child.bpmn")
    engine.deploy(
        process(
            "mi",
            start_event(),
            multi_instance(inner, "=items", element="item"),
            multi_instance(call_activity("call", "child"), "=items", element="item", sequential=True),
            end_event(),
            flows("start", "sub", "call", "end"),
        ),
        name="mi.bpmn",
    )
    key = engine.start("mi", {"items": [1, 2]})
    for job in engine.activate("sub-work"):
        engine.complete(job)
    for _ in range(2):
        job = engine.one_job("child-work")
        engine.complete(job)
    assert engine.completed(key)


def test_an_input_collection_is_required_at_deploy(engine: Harness) -> None:
    bare = '<bpmn:serviceTask id="each"><bpmn:extensionElements><zeebe:taskDefinition type="t"/>'
    bare += "</bpmn:extensionElements><bpmn:multiInstanceLoopCharacteristics/></bpmn:serviceTask>"
    with pytest.raises(InvalidArgument, match="Must have an input collection expression"):
        engine.deploy(process("mi", start_event(), bare, end_event(), flows("start", "each", "end")))


def test_a_body_in_flight_survives_a_restart(tmp_path: Path) -> None:
    engine = Restartable(tmp_path)
    engine.deploy(model(sequential=True, output="results", output_element="=item"))
    key = engine.start("mi", {"items": [1, 2]})
    engine.complete(engine.one_job("each"))

    engine = engine.restart()
    job = engine.one_job("each")
    assert engine.variables(job.instance.key)["loopCounter"] == 2
    engine.complete(job)
    assert engine.completed(key)
