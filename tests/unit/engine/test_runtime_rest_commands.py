"""The runtime commands the REST API added: message correlation (at once or not at all), a job update
(retries and timeout, both or neither) and a decision evaluated on request."""

from __future__ import annotations

import pytest

from tests.unit.engine.bpmn_builders import (
    end_event,
    flows,
    message_catch,
    message_start,
    process,
    service_task,
    start_event,
)
from tests.unit.engine.dmn_builders import document, literal_decision
from tests.unit.engine.harness import Harness
from zeebe_celery.engine.errors import NotFound

TENANT = "<default>"


def test_correlation_reaches_a_waiting_instance_or_a_message_start_and_otherwise_changes_nothing() -> None:
    engine = Harness()
    engine.deploy(
        process(
            "waits",
            start_event(),
            message_catch("wait", "go"),
            end_event(),
            flows("start", "wait", "end"),
            messages={"go": "=key"},
        ),
        name="waits.bpmn",
    )
    engine.deploy(
        process("starts", message_start("begin", "kick"), end_event(), flows("begin", "end"), messages={"kick": ""}),
        name="starts.bpmn",
    )
    waiting = engine.start("waits", {"key": "k1"})
    message, reached = engine.runtime.correlate_message(
        "go", correlation_key="k1", variables={"m": 1}, tenant_id=TENANT
    )
    assert reached == waiting
    assert engine.completed(waiting)
    assert message.key > waiting

    _, started = engine.runtime.correlate_message("kick", correlation_key="", variables={}, tenant_id=TENANT)
    assert engine.completed(started)

    records, last_key = len(engine.runtime.records.all()), engine.runtime.keys.last
    with pytest.raises(NotFound, match="'nobody'"):
        engine.runtime.correlate_message("nobody", correlation_key="k", variables={}, tenant_id=TENANT)
    assert (len(engine.runtime.records.all()), engine.runtime.keys.last) == (records, last_key)
    assert engine.runtime.messages == {}


def test_a_job_update_changes_both_or_neither() -> None:
    engine = Harness()
    engine.deploy(process("p", start_event(), service_task("work", "w"), end_event(), flows("start", "work", "end")))
    engine.start("p")
    job = next(iter(engine.runtime.jobs.values()))
    with pytest.raises(NotFound, match="not active"):
        engine.runtime.update_job(job.key, retries=7, timeout=5_000)
    assert job.retries != 7
    engine.one_job("w")
    engine.runtime.update_job(job.key, retries=7, timeout=5_000)
    assert (job.retries, job.deadline) == (7, engine.runtime.now() + 5_000)


def test_a_decision_is_evaluated_with_its_result_or_its_failure() -> None:
    engine = Harness()
    engine.deploy(
        document(literal_decision("double", "x * 2"), literal_decision("broken", 'assert(x, x > 100, "too small")')),
        name="d.dmn",
    )
    evaluated = engine.runtime.evaluate_decision(decision_id="double", variables={"x": 4})
    assert evaluated.failure is None
    assert evaluated.result is not None
    assert evaluated.result.output == 8
    failed = engine.runtime.evaluate_decision(decision_id="broken", variables={"x": 4})
    assert failed.result is None
    assert failed.failure is not None
    assert failed.failure.decision_id == "broken"
    assert failed.key > evaluated.key
