"""Ad-hoc sub-processes, as the Camunda docs describe them: the active elements collection activates
elements when the sub-process starts; each activation runs in a scope of its own whose variables stay
there; the completion condition ends it (cancelling what runs unless told to wait); without one it ends when
what it activated is done; outputs are collected; a job worker can drive it through CompleteJob's result."""

from __future__ import annotations

import json

import pytest

from tests.unit.engine.bpmn_builders import (
    ad_hoc_sub_process,
    end_event,
    flow,
    flows,
    process,
    service_task,
    start_event,
)
from tests.unit.engine.harness import Harness
from zeebe_celery.engine.errors import InvalidArgument
from zeebe_celery.engine.processors.adhoc import AdHocDecision


def model(**options: object) -> bytes:
    body = (service_task("a", "a"), service_task("b", "b"), service_task("c", "c"), service_task("then", "then"))
    ad_hoc = ad_hoc_sub_process("tools", *body, flow("c", "then"), **options)  # type: ignore[arg-type]
    return process("p", start_event(), ad_hoc, end_event(), flows("start", "tools", "end"))


def test_the_active_elements_collection_activates_those_elements_each_in_its_own_scope(engine: Harness) -> None:
    engine.deploy(model(active="=chosen"))
    key = engine.start("p", {"chosen": ["a", "b"]})
    a, b = engine.one_job("a"), engine.one_job("b")
    assert not engine.activate("c")
    assert a.instance.parent is not None
    assert a.instance.parent.element.kind.value == "AD_HOC_SUB_PROCESS_INNER_INSTANCE"

    engine.complete(a, {"found": 1})
    # Variables written by an activation stay in its scope.
    assert not engine.records("VARIABLE", name="found", scopeKey=key)
    engine.complete(b)
    assert engine.completed(key)


def test_elements_joined_by_a_flow_run_in_sequence_within_one_activation(engine: Harness) -> None:
    engine.deploy(model(active='=["c"]'))
    key = engine.start("p")
    engine.complete(engine.one_job("c"))
    engine.complete(engine.one_job("then"))
    assert engine.completed(key)


def test_the_completion_condition_ends_it_and_cancels_what_still_runs(engine: Harness) -> None:
    engine.deploy(model(active='=["a", "b"]', completion="=done = true"))
    key = engine.start("p")
    engine.complete(engine.one_job("a"), {"done": True})
    assert engine.completed(key)
    assert not engine.runtime.jobs


def test_without_cancelling_it_waits_for_what_still_runs(engine: Harness) -> None:
    engine.deploy(model(active='=["a", "b"]', completion="=true", cancel_remaining=False))
    key = engine.start("p")
    engine.complete(engine.one_job("a"))
    assert engine.is_running(key)
    engine.complete(engine.one_job("b"))
    assert engine.completed(key)


def test_with_an_unfulfilled_condition_it_stays_active_when_nothing_runs(engine: Harness) -> None:
    engine.deploy(model(active='=["a"]', completion="=false"))
    key = engine.start("p")
    engine.complete(engine.one_job("a"))
    assert engine.is_running(key)


def test_an_active_element_that_is_not_activatable_is_an_incident(engine: Harness) -> None:
    engine.deploy(model(active='=["then"]'))
    key = engine.start("p")
    (incident,) = engine.incidents(key)
    assert incident.error_type == "EXTRACT_VALUE_ERROR"
    assert "'then'" in incident.error_message


def test_outputs_are_collected_and_go_up_when_it_completes(engine: Harness) -> None:
    engine.deploy(model(active='=["a", "b"]', output="results", output_element="=result"))
    key = engine.start("p")
    engine.complete(engine.one_job("a"), {"result": "A"})
    engine.complete(engine.one_job("b"), {"result": "B"})
    assert engine.completed(key)
    (results,) = engine.records("VARIABLE", name="results", scopeKey=key)
    assert json.loads(results["value"]["value"]) == ["A", "B"]


def test_a_job_worker_drives_it_with_its_answers(engine: Harness) -> None:
    engine.deploy(model(job_type="planner"))
    key = engine.start("p")
    plan = engine.one_job("planner")
    assert plan.kind == "AD_HOC_SUB_PROCESS"
    elements = engine.variables(plan.instance.key)["adHocSubProcessElements"]
    assert [e["elementId"] for e in elements] == ["a", "b", "c"]

    with engine.runtime.lock:
        engine.runtime.complete_job(plan.key, {}, AdHocDecision(activate=[("a", {"query": "q"})]))
    a = engine.one_job("a")
    assert engine.variables(a.instance.key)["query"] == "q"
    engine.complete(a)
    again = engine.one_job("planner")  # asked again after the activation completed
    with engine.runtime.lock:
        engine.runtime.complete_job(again.key, {"answer": 42}, AdHocDecision(completion_fulfilled=True))
    assert engine.completed(key)


def test_a_worker_answer_naming_an_element_it_cannot_activate_is_refused(engine: Harness) -> None:
    engine.deploy(model(job_type="planner"))
    engine.start("p")
    plan = engine.one_job("planner")
    with pytest.raises(InvalidArgument, match="'then'"), engine.runtime.lock:
        engine.runtime.complete_job(plan.key, {}, AdHocDecision(activate=[("then", {})]))
    assert plan.key in engine.runtime.jobs  # nothing changed


def test_an_ad_hoc_sub_process_must_not_have_start_or_end_events(engine: Harness) -> None:
    bad = ad_hoc_sub_process("tools", start_event("s"), service_task("a", "a"), flow("s", "a"))
    with pytest.raises(InvalidArgument, match="must not have start events or end events"):
        engine.deploy(process("p", start_event(), bad, end_event(), flows("start", "tools", "end")))
