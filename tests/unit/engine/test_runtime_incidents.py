"""Where incidents come from besides jobs (FEEL failures, mappings, a missing correlation key) and how
resolving one makes the element try again."""

from __future__ import annotations

from tests.unit.engine.bpmn_builders import (
    end_event,
    flows,
    message_catch,
    process,
    script_task,
    service_task,
    start_event,
)
from tests.unit.engine.harness import Harness


def test_a_missing_correlation_key_variable_raises_an_incident_until_it_is_set(engine: Harness) -> None:
    engine.deploy(
        process(
            "catch",
            start_event(),
            message_catch("wait", "ping"),
            end_event(),
            flows("start", "wait", "end"),
            messages={"ping": "=orderId"},
        )
    )
    key = engine.start("catch")
    [incident] = engine.incidents(key)
    assert incident.error_type == "EXTRACT_VALUE_ERROR"
    assert incident.instance.element.id == "wait"
    assert "Failed to extract the correlation key for 'orderId'" in incident.error_message
    assert "'NULL'" in incident.error_message
    assert engine.records("PROCESS_MESSAGE_SUBSCRIPTION", "CREATED") == []
    with engine.runtime.lock:
        engine.runtime.set_variables(key, {"orderId": "o-9"}, local=False)
    engine.resolve(incident)
    assert engine.incidents(key) == []
    engine.publish("ping", "o-9")
    assert engine.completed(key)


def test_a_script_that_fails_to_evaluate_raises_an_incident_and_runs_again_when_resolved(engine: Harness) -> None:
    engine.deploy(
        process(
            "calc",
            start_event(),
            script_task("len", "=string length(assert(name, name != null))", "size"),
            end_event(),
            flows("start", "len", "end"),
        )
    )
    key = engine.start("calc")
    [incident] = engine.incidents(key)
    assert incident.error_type == "EXTRACT_VALUE_ERROR"
    assert incident.instance.element.id == "len"
    with engine.runtime.lock:
        engine.runtime.set_variables(key, {"name": "abc"}, local=False)
    engine.resolve(incident)
    assert engine.completed(key)
    assert engine.records("VARIABLE", name="size", scopeKey=key, value="3")


def test_an_input_mapping_that_fails_raises_an_io_mapping_incident_on_the_task(engine: Harness) -> None:
    engine.deploy(
        process(
            "mapped",
            start_event(),
            service_task("task", "work", inputs={"x": "=assert(value, value != null)"}),
            end_event(),
            flows("start", "task", "end"),
        )
    )
    key = engine.start("mapped")
    [incident] = engine.incidents(key)
    assert incident.error_type == "IO_MAPPING_ERROR"
    assert incident.instance.element.id == "task"
    assert engine.activate("work") == []
    with engine.runtime.lock:
        engine.runtime.set_variables(key, {"value": 1}, local=False)
    engine.resolve(incident)
    assert len(engine.activate("work")) == 1


def test_an_output_mapping_that_fails_raises_an_incident_and_completes_when_resolved(engine: Harness) -> None:
    engine.deploy(
        process(
            "mapped",
            start_event(),
            service_task("task", "work", outputs={"y": "=assert(out, out != null)"}),
            end_event(),
            flows("start", "task", "end"),
        )
    )
    key = engine.start("mapped")
    engine.complete(engine.one_job("work"), {"other": 1})
    [incident] = engine.incidents(key)
    assert incident.error_type == "IO_MAPPING_ERROR"
    with engine.runtime.lock:
        engine.runtime.set_variables(incident.instance.key, {"out": 2}, local=True)
    engine.resolve(incident)
    assert engine.completed(key)
    assert engine.records("VARIABLE", name="y", scopeKey=key, value="2")


def test_cancelling_an_instance_resolves_its_incidents(engine: Harness) -> None:
    engine.deploy(
        process("one", start_event(), service_task("task", "work"), end_event(), flows("start", "task", "end"))
    )
    key = engine.start("one")
    engine.fail(engine.one_job("work"), retries=0, message="x")
    assert len(engine.incidents(key)) == 1
    with engine.runtime.lock:
        engine.runtime.cancel_instance(key)
    assert engine.incidents() == []
    assert not engine.is_running(key)
