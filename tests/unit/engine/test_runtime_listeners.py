"""Execution listeners, as the Camunda docs describe them: start listeners run as jobs, one after another,
after the input mappings and before the element does anything of its own, their variables local to it; end
listeners after the output mappings and before it leaves, their variables going up; a listener job with no
retries left is an incident; resolving goes on from the listener that failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.engine.bpmn_builders import (
    end_event,
    exclusive_gateway,
    flow,
    flows,
    listeners,
    process,
    service_task,
    start_event,
)
from tests.unit.engine.harness import Harness
from tests.unit.engine.test_store import Restartable
from zeebe_celery.engine.errors import FailedPrecondition, InvalidArgument


def model(*pairs: tuple[str, str], outputs: dict[str, str] | None = None) -> bytes:
    task = listeners(service_task("work", "work", inputs={"in": "=1"}, outputs=outputs), *pairs)
    return process("p", start_event(), task, end_event(), flows("start", "work", "end"))


def test_start_listeners_run_in_order_before_the_task_and_their_variables_are_its_own(engine: Harness) -> None:
    engine.deploy(model(("start", "first"), ("start", "second")))
    key = engine.start("p")

    assert not engine.activate("work")
    assert not engine.activate("second")
    first = engine.one_job("first")
    assert (first.kind, first.listener_event_type) == ("EXECUTION_LISTENER", "START")
    assert engine.variables(first.instance.key)["in"] == 1  # after the input mappings
    engine.complete(first, {"checked": True})
    second = engine.one_job("second")
    assert engine.variables(second.instance.key)["checked"] is True
    engine.complete(second)

    work = engine.one_job("work")
    assert work.kind == "BPMN_ELEMENT"
    assert engine.instance(work.instance.key).variables["checked"] is True  # local to the task
    engine.complete(work)
    assert engine.completed(key)
    assert not engine.records("VARIABLE", name="checked", scopeKey=key)


def test_end_listeners_run_after_the_output_mappings_and_their_variables_go_up(engine: Harness) -> None:
    engine.deploy(model(("end", "audit"), outputs={"out": "=result"}))
    key = engine.start("p")
    engine.complete(engine.one_job("work"), {"result": 5})
    audit = engine.one_job("audit")
    assert audit.listener_event_type == "END"
    assert engine.variables(audit.instance.key)["out"] == 5
    assert engine.is_running(key)
    engine.complete(audit, {"audited": True})

    assert engine.completed(key)
    assert engine.records("VARIABLE", name="audited", scopeKey=key)


def test_process_listeners_run_when_the_instance_starts_and_ends(engine: Harness) -> None:
    body = (start_event(), service_task("work", "work"), end_event(), flows("start", "work", "end"))
    xml = process("p", *body).decode()
    head = '<bpmn:process id="p" isExecutable="true">'
    block = (
        "<bpmn:extensionElements><zeebe:executionListeners>"
        '<zeebe:executionListener eventType="start" type="p-start"/>'
        '<zeebe:executionListener eventType="end" type="p-end"/>'
        "</zeebe:executionListeners></bpmn:extensionElements>"
    )
    engine.deploy(xml.replace(head, head + block).encode())
    key = engine.start("p")
    assert not engine.activate("work")
    engine.complete(engine.one_job("p-start"))
    engine.complete(engine.one_job("work"))
    assert engine.is_running(key)
    engine.complete(engine.one_job("p-end"))
    assert engine.completed(key)


def test_a_listener_job_out_of_retries_is_an_incident_and_resolving_goes_on_from_it(engine: Harness) -> None:
    engine.deploy(model(("start", "first"), ("start", "second")))
    key = engine.start("p")
    engine.complete(engine.one_job("first"))
    engine.fail(engine.one_job("second"), retries=0, message="down")
    (incident,) = engine.incidents(key)
    assert incident.error_type == "EXECUTION_LISTENER_NO_RETRIES"
    assert incident.error_message == "down"

    with engine.runtime.lock:
        engine.runtime.update_job_retries(incident.job.key, 1)  # type: ignore[union-attr]
    engine.resolve(incident)
    assert not engine.activate("first")  # the listener that succeeded is not run again
    engine.complete(engine.one_job("second"))
    engine.complete(engine.one_job("work"))
    assert engine.completed(key)


def test_a_listener_job_cannot_throw_a_bpmn_error(engine: Harness) -> None:
    engine.deploy(model(("start", "first")))
    engine.start("p")
    job = engine.one_job("first")
    with pytest.raises(FailedPrecondition, match="execution listener job"):
        engine.throw(job, "NOPE")


def test_cancelling_the_instance_cancels_a_waiting_listener_job(engine: Harness) -> None:
    engine.deploy(model(("start", "first")))
    key = engine.start("p")
    job = engine.one_job("first")
    with engine.runtime.lock:
        engine.runtime.cancel_instance(key)
    assert not engine.runtime.jobs
    assert engine.records("JOB", "CANCELED", jobKind="EXECUTION_LISTENER")
    assert job.key not in engine.runtime.jobs


def test_a_listener_whose_type_fails_to_evaluate_is_an_incident_and_all_start_listeners_run_again(
    engine: Harness,
) -> None:
    engine.deploy(model(("start", "first"), ("start", "=second")))
    key = engine.start("p")
    engine.complete(engine.one_job("first"))
    (incident,) = engine.incidents(key)
    assert incident.error_type == "EXTRACT_VALUE_ERROR"

    with engine.runtime.lock:
        engine.runtime.set_variables(key, {"second": "second-type"}, local=False)
    engine.resolve(incident)
    engine.complete(engine.one_job("first"))  # run again, as the docs say
    engine.complete(engine.one_job("second-type"))
    assert engine.one_job("work")


@pytest.mark.parametrize(
    ("fragment", "complaint"),
    [
        (listeners(start_event(), ("start", "x")), "start execution listeners are not supported on a start_event"),
        (
            listeners(exclusive_gateway("gw"), ("end", "x")),
            "end execution listeners are not supported on a exclusive_gateway",
        ),
        (listeners(service_task("work", "w"), ("start", "x"), ("start", "x")), "is twice"),
    ],
)
def test_listeners_the_docs_rule_out_are_refused_at_deploy(engine: Harness, fragment: str, complaint: str) -> None:
    if "gw" in fragment:
        xml = process("p", start_event(), fragment, end_event(), flows("start", "gw"), flow("gw", "end"))
    elif "startEvent" in fragment:
        xml = process("p", fragment, end_event(), flows("start", "end"))
    else:
        xml = process("p", start_event(), fragment, end_event(), flows("start", "work", "end"))
    with pytest.raises(InvalidArgument, match=complaint):
        engine.deploy(xml)


def test_a_listener_in_flight_survives_a_restart(tmp_path: Path) -> None:
    engine = Restartable(tmp_path)
    engine.deploy(model(("start", "first"), ("start", "second")))
    key = engine.start("p")
    engine.complete(engine.one_job("first"))

    engine = engine.restart()
    second = engine.one_job("second")
    assert (second.kind, second.listener_event_type) == ("EXECUTION_LISTENER", "START")
    engine.complete(second)
    engine.complete(engine.one_job("work"))
    assert engine.completed(key)
