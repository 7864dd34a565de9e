"""Regression tests for what a review of the engine found: each names the rule the engine broke."""

from __future__ import annotations

import pytest

from tests.unit.engine.bpmn_builders import (
    boundary,
    end_event,
    error_end,
    flow,
    flows,
    message_start,
    process,
    service_task,
    start_event,
    sub_process,
    timer_catch,
)
from tests.unit.engine.harness import Harness
from zeebe_celery.engine.errors import InvalidArgument
from zeebe_celery.engine.runtime import ActivateInstruction, Runtime
from zeebe_celery.engine.state import JobState


def test_resolving_an_activation_incident_opens_the_boundary_events_once(engine: Harness) -> None:
    engine.deploy(
        process(
            "p",
            start_event(),
            service_task("t", "=jobType"),
            boundary("b", "t", duration="PT10S", interrupting=False),
            end_event(),
            end_event("bend"),
            flows("start", "t", "end"),
            flow("b", "bend"),
        )
    )
    key = engine.start("p")
    [incident] = engine.incidents(key)
    assert engine.element_instance(key, "t").waits == []

    with engine.runtime.lock:
        engine.runtime.set_variables(key, {"jobType": "work"}, local=False)
    engine.resolve(incident)
    engine.advance(10_000)

    assert len(engine.element_instance(key, "t").waits) == 0  # a duration timer fires once
    assert engine.elements("ELEMENT_ACTIVATED", key).count("b") == 1


def test_an_uncaught_error_end_event_throws_again_when_its_incident_is_resolved(engine: Harness) -> None:
    engine.deploy(process("p", start_event(), error_end("boom", "NOPE"), flows("start", "boom"), errors=["NOPE"]))
    key = engine.start("p")
    [first] = engine.incidents(key)
    assert first.error_type == "UNHANDLED_ERROR_EVENT"

    engine.resolve(first)

    [again] = engine.incidents(key)
    assert again.key != first.key
    assert again.error_type == "UNHANDLED_ERROR_EVENT"


def test_a_caught_thrown_error_writes_no_job_canceled_record(engine: Harness) -> None:
    engine.deploy(
        process(
            "p",
            start_event(),
            service_task("t", "work"),
            boundary("caught", "t", error="E"),
            end_event(),
            end_event("handled"),
            flows("start", "t", "end"),
            flow("caught", "handled"),
            errors=["E"],
        )
    )
    key = engine.start("p")
    job = engine.one_job("work")

    engine.throw(job, "E")

    assert engine.completed(key)
    intents = [r["intent"] for r in engine.records("JOB", None, processInstanceKey=key)]
    assert intents == ["CREATED", "ERROR_THROWN"]


def test_one_failing_due_item_does_not_drop_the_others_of_its_batch(
    engine: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.deploy(
        process("t", start_event(), timer_catch("nap", duration="PT1M"), end_event(), flows("start", "nap", "end"))
    )
    engine.deploy(process("j", start_event(), service_task("w", "work"), end_event(), flows("start", "w", "end")))
    engine.start("t")
    engine.start("j")
    job = engine.one_job("work", timeout=60_000)

    def broken(key: int, due: int) -> None:
        raise RuntimeError("a handler that fails")

    monkeypatch.setattr(engine.runtime.event_subscriptions, "timer_due", broken)
    engine.advance(60_000)

    # The timer's failure stays with the timer: the job's timeout in the same batch still fired.
    assert engine.runtime.jobs[job.key].state is JobState.ACTIVATABLE
    assert engine.one_job("work").key == job.key


def nested() -> bytes:
    return process(
        "p",
        start_event(),
        service_task("a", "a"),
        sub_process(
            "sp", start_event("s2"), service_task("inner", "inner"), end_event("e2"), flows("s2", "inner", "e2")
        ),
        end_event(),
        flows("start", "a", "sp", "end"),
    )


def test_modify_sets_each_variable_instruction_on_the_scope_it_names(engine: Harness) -> None:
    engine.deploy(nested())
    key = engine.start("p")

    with engine.runtime.lock:
        engine.runtime.modify_instance(
            key,
            activate=[ActivateInstruction("inner", variables=[("sp", {"x": 1}), ("inner", {"y": 2}), ("", {"z": 3})])],
            terminate=[],
        )

    assert engine.instance(key).variables == {"z": 3}
    assert engine.element_instance(key, "sp").variables == {"x": 1}
    assert engine.element_instance(key, "inner").variables == {"y": 2}


@pytest.mark.parametrize(
    ("instruction", "reason"),
    [
        (ActivateInstruction("inner", variables=[("a", {"x": 1})]), "scope element id"),
        (ActivateInstruction("inner", ancestor_key=12345), "ancestor scope key"),
    ],
)
def test_modify_refuses_a_variable_scope_or_ancestor_that_does_not_hold_the_element(
    engine: Harness, instruction: ActivateInstruction, reason: str
) -> None:
    engine.deploy(nested())
    key = engine.start("p")

    with engine.runtime.lock, pytest.raises(InvalidArgument, match=reason):
        engine.runtime.modify_instance(key, activate=[instruction], terminate=[])


def test_a_refused_modification_leaves_the_instance_as_it_was(engine: Harness) -> None:
    engine.deploy(nested())
    key = engine.start("p")
    before = engine.active(key)

    with engine.runtime.lock, pytest.raises(InvalidArgument):
        engine.runtime.modify_instance(
            key, activate=[ActivateInstruction("inner", variables=[("nowhere", {"x": 1})])], terminate=[]
        )

    assert engine.active(key) == before == ["a"]


def test_a_message_start_runs_one_instance_per_correlation_key_at_a_time(engine: Harness) -> None:
    engine.deploy(
        process(
            "orders",
            message_start("start", "order-placed"),
            service_task("t", "fulfil"),
            end_event(),
            flows("start", "t", "end"),
            messages={"order-placed": ""},
        )
    )

    engine.publish("order-placed", "order-1", ttl=60_000, variables={"n": 1})
    engine.publish("order-placed", "order-1", ttl=60_000, variables={"n": 2})
    engine.publish("order-placed", "order-2", ttl=60_000, variables={"n": 3})

    first = engine.activate("fulfil")
    assert sorted(engine.variables(j.instance.key)["n"] for j in first) == [1, 3]
    # The second order-1 message waits in the buffer until the first order-1 instance ends.
    engine.complete(next(j for j in first if engine.variables(j.instance.key)["n"] == 1))
    [second] = engine.activate("fulfil")
    assert engine.variables(second.instance.key)["n"] == 2


def test_the_runtime_is_a_composition_of_parts_that_share_one_state() -> None:
    runtime = Runtime(clock=lambda: 0)
    parts = [
        runtime.interpreter,
        runtime.job_behavior,
        runtime.event_subscriptions,
        runtime.event_publication,
        runtime.deployments,
        runtime.instance_commands,
    ]
    # Objects, not mixins: no part is the runtime or another part.
    assert len({type(part) for part in parts}) == len(parts)
    assert not any(isinstance(part, Runtime) for part in parts)
    assert all(getattr(part, "state", runtime) is runtime for part in parts)
    # Each is wired to the others, through the protocols of engine/parts.py.
    assert runtime.interpreter.jobs is runtime.job_behavior
    assert runtime.interpreter.subscriptions is runtime.event_subscriptions
    assert runtime.interpreter.publication is runtime.event_publication
    assert runtime.interpreter.resources is runtime.deployments
    assert runtime.job_behavior.flow is runtime.interpreter
    assert runtime.event_publication.jobs is runtime.job_behavior
