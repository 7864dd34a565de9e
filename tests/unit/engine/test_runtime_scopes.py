"""Variable scopes as Zeebe has them: the instance scope, local scopes of sub-processes and input
mappings, outputs that go to the nearest scope that has the variable (else the root), and SetVariables
local or propagating."""

from __future__ import annotations

import pytest

from tests.unit.engine.bpmn_builders import end_event, flows, process, service_task, start_event, sub_process
from tests.unit.engine.harness import Harness
from zeebe_celery.engine.errors import NotFound


def _mapped_task() -> bytes:
    return process(
        "mapped",
        start_event(),
        service_task(
            "task",
            "work",
            inputs={"customer": "=order.customer", "limit": "=10"},
            outputs={"answer": "=reply.text"},
        ),
        service_task("after", "after"),
        end_event(),
        flows("start", "task", "after", "end"),
    )


def test_input_mappings_make_local_variables_that_the_job_sees(engine: Harness) -> None:
    engine.deploy(_mapped_task())
    engine.start("mapped", {"order": {"customer": "c-1"}})
    [(job, variables)] = engine.activate_with_variables("work")
    assert variables["customer"] == "c-1"
    assert variables["limit"] == 10
    assert job.instance.variables == {"customer": "c-1", "limit": 10}


def test_output_mappings_decide_what_reaches_the_process_and_local_inputs_do_not_leak(engine: Harness) -> None:
    engine.deploy(_mapped_task())
    key = engine.start("mapped", {"order": {"customer": "c-1"}})
    engine.complete(engine.one_job("work"), {"reply": {"text": "yes"}})
    root = engine.instance(key).variables
    assert root["answer"] == "yes"
    assert "reply" not in root
    assert "customer" not in root


def _nested() -> bytes:
    return process(
        "nested",
        start_event(),
        sub_process(
            "sub",
            start_event("s-start"),
            service_task("inner", "inner"),
            end_event("s-end"),
            flows("s-start", "inner", "s-end"),
            inputs={"counter": "=counter + 1"},
        ),
        service_task("after", "after"),
        end_event(),
        flows("start", "sub", "after", "end"),
    )


def test_a_job_result_goes_to_the_nearest_scope_that_has_the_variable_else_to_the_root(engine: Harness) -> None:
    engine.deploy(_nested())
    key = engine.start("nested", {"counter": 0})
    job = engine.one_job("inner")
    sub = engine.element_instance(key, "sub")
    assert sub.variables == {"counter": 1}
    engine.complete(job, {"counter": 10, "fresh": "x"})
    assert engine.instance(key).variables == {"counter": 0, "fresh": "x"}
    [(_, variables)] = engine.activate_with_variables("after")
    assert variables == {"counter": 0, "fresh": "x"}


def test_a_sub_process_scope_shadows_the_root_for_the_elements_inside_it(engine: Harness) -> None:
    engine.deploy(_nested())
    engine.start("nested", {"counter": 5})
    [(_, variables)] = engine.activate_with_variables("inner")
    assert variables["counter"] == 6


def test_sub_process_output_mappings_copy_its_local_variables_out(engine: Harness) -> None:
    engine.deploy(
        process(
            "out",
            start_event(),
            sub_process(
                "sub",
                start_event("s-start"),
                service_task("inner", "inner"),
                end_event("s-end"),
                flows("s-start", "inner", "s-end"),
                inputs={"local": "=1"},
                outputs={"exported": "=local + 1"},
            ),
            end_event(),
            flows("start", "sub", "end"),
        )
    )
    key = engine.start("out")
    engine.complete(engine.one_job("inner"), {"local": 41})
    assert engine.completed(key)
    assert engine.records("VARIABLE", name="exported", scopeKey=key, value="42")
    assert not engine.records("VARIABLE", name="local", scopeKey=key)


def test_set_variables_local_keeps_them_on_that_element_instance(engine: Harness) -> None:
    engine.deploy(_nested())
    key = engine.start("nested", {"counter": 0})
    sub = engine.element_instance(key, "sub")
    with engine.runtime.lock:
        engine.runtime.set_variables(sub.key, {"counter": 7, "note": "here"}, local=True)
    assert sub.variables == {"counter": 7, "note": "here"}
    assert engine.instance(key).variables == {"counter": 0}


def test_set_variables_without_local_propagates_like_an_output(engine: Harness) -> None:
    engine.deploy(_nested())
    key = engine.start("nested", {"counter": 0, "other": 1})
    job = engine.one_job("inner")
    with engine.runtime.lock:
        engine.runtime.set_variables(job.instance.key, {"counter": 7, "other": 2, "new": 3}, local=False)
    assert engine.element_instance(key, "sub").variables == {"counter": 7}
    assert engine.instance(key).variables == {"counter": 0, "other": 2, "new": 3}
    assert job.instance.variables == {}


def test_set_variables_on_an_unknown_element_instance_is_not_found(engine: Harness) -> None:
    with engine.runtime.lock, pytest.raises(NotFound):
        engine.runtime.set_variables(123, {"a": 1}, local=True)


def test_variables_given_when_a_job_fails_are_local_to_its_task(engine: Harness) -> None:
    engine.deploy(_mapped_task())
    key = engine.start("mapped", {"order": {"customer": "c"}})
    job = engine.one_job("work")
    with engine.runtime.lock:
        engine.runtime.fail_job(job.key, retries=1, error_message="", backoff=0, variables={"attempt": 1})
    assert job.instance.variables["attempt"] == 1
    assert "attempt" not in engine.instance(key).variables
