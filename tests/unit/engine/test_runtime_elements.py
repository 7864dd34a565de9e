"""What each BPMN element does when the engine runs it: gateways, sub-processes, end events, user and
script tasks, signal catch events, and pass-through elements."""

from __future__ import annotations

import json
import time

import pytest

from tests.unit.engine.bpmn_builders import (
    boundary,
    end_event,
    error_end,
    exclusive_gateway,
    flow,
    flows,
    parallel_gateway,
    process,
    script_task,
    service_task,
    signal_catch,
    start_event,
    sub_process,
    terminate_end,
    user_task,
)
from tests.unit.engine.harness import Harness
from zeebe_celery.engine import feel

ROUTE = process(
    "route",
    start_event(),
    exclusive_gateway("which", default="to-small"),
    service_task("big", "big"),
    service_task("small", "small"),
    end_event("end-big"),
    end_event("end-small"),
    flows("start", "which"),
    flow("which", "big", condition="=amount > 100", flow_id="to-big"),
    flow("which", "small", flow_id="to-small"),
    flow("big", "end-big"),
    flow("small", "end-small"),
)


@pytest.mark.parametrize(("amount", "taken"), [(500, "big"), (5, "small")])
def test_an_exclusive_gateway_takes_the_flow_whose_condition_holds_else_the_default(
    engine: Harness, amount: int, taken: str
) -> None:
    engine.deploy(ROUTE)
    key = engine.start("route", {"amount": amount})
    assert engine.active(key) == [taken]


def test_an_exclusive_gateway_without_a_matching_condition_or_default_raises_an_incident(engine: Harness) -> None:
    engine.deploy(
        process(
            "strict",
            start_event(),
            exclusive_gateway("which"),
            end_event("a"),
            end_event("b"),
            flows("start", "which"),
            flow("which", "a", condition="=x = 1"),
            flow("which", "b", condition="=x = 2"),
        )
    )
    key = engine.start("strict", {"x": 3})
    [incident] = engine.incidents(key)
    assert incident.error_type == "CONDITION_ERROR"
    assert incident.instance.element.id == "which"
    assert "Expected at least one condition to evaluate to true" in incident.error_message
    with engine.runtime.lock:
        engine.runtime.set_variables(key, {"x": 2}, local=False)
    engine.resolve(incident)
    assert engine.completed(key)
    assert "b" in engine.elements("ELEMENT_COMPLETED", key)


def test_a_parallel_gateway_forks_and_the_join_waits_for_every_branch(engine: Harness) -> None:
    engine.deploy(
        process(
            "both",
            start_event(),
            parallel_gateway("fork"),
            service_task("a", "a"),
            service_task("b", "b"),
            parallel_gateway("join"),
            service_task("after", "after"),
            end_event(),
            flows("start", "fork"),
            flows("fork", "a", "join"),
            flows("fork", "b", "join"),
            flows("join", "after", "end"),
        )
    )
    key = engine.start("both")
    assert engine.active(key) == ["a", "b"]
    engine.complete(engine.one_job("a"))
    assert engine.active(key) == ["b"]
    assert engine.activate("after") == []
    engine.complete(engine.one_job("b"))
    engine.complete(engine.one_job("after"))
    assert engine.completed(key)
    assert engine.elements("ELEMENT_COMPLETED", key).count("join") == 1


def test_an_embedded_sub_process_runs_its_own_flow_and_then_continues_outside(engine: Harness) -> None:
    engine.deploy(
        process(
            "outer",
            start_event(),
            sub_process(
                "sub",
                start_event("s-start"),
                service_task("inner", "inner"),
                end_event("s-end"),
                flows("s-start", "inner", "s-end"),
            ),
            service_task("after", "after"),
            end_event(),
            flows("start", "sub", "after", "end"),
        )
    )
    key = engine.start("outer")
    assert engine.active(key) == ["inner", "sub"]
    job = engine.one_job("inner")
    assert job.instance.parent is not None
    assert job.instance.parent.element.id == "sub"
    engine.complete(job)
    assert engine.active(key) == ["after"]


def test_a_terminate_end_event_ends_every_other_branch_of_its_scope(engine: Harness) -> None:
    engine.deploy(
        process(
            "stop",
            start_event(),
            parallel_gateway("fork"),
            service_task("slow", "slow"),
            service_task("fast", "fast"),
            end_event("end-slow"),
            terminate_end("kill"),
            flows("start", "fork"),
            flows("fork", "slow", "end-slow"),
            flows("fork", "fast", "kill"),
        )
    )
    key = engine.start("stop")
    slow = engine.one_job("slow")
    engine.complete(engine.one_job("fast"))
    assert not engine.is_running(key)
    assert "slow" in engine.elements("ELEMENT_TERMINATED", key)
    assert slow.key not in engine.runtime.jobs


def test_an_error_end_event_is_caught_by_a_boundary_on_the_enclosing_sub_process(engine: Harness) -> None:
    engine.deploy(
        process(
            "raise",
            start_event(),
            sub_process("sub", start_event("s-start"), error_end("fail", "BAD"), flows("s-start", "fail")),
            boundary("on-bad", "sub", error="BAD"),
            end_event(),
            service_task("handle", "handle"),
            flows("start", "sub", "end"),
            flow("on-bad", "handle"),
            errors=["BAD"],
        )
    )
    key = engine.start("raise")
    assert engine.active(key) == ["handle"]
    assert "sub" in engine.elements("ELEMENT_TERMINATED", key)


def test_an_error_end_event_that_nothing_catches_raises_an_incident(engine: Harness) -> None:
    engine.deploy(process("raise", start_event(), error_end("fail", "BAD"), flows("start", "fail"), errors=["BAD"]))
    key = engine.start("raise")
    [incident] = engine.incidents(key)
    assert incident.error_type == "UNHANDLED_ERROR_EVENT"
    assert "'BAD'" in incident.error_message


def test_a_user_task_is_a_job_of_the_user_task_type_with_assignment_and_form_headers(engine: Harness) -> None:
    engine.deploy(
        process(
            "approve",
            start_event(),
            user_task("review", assignee="alice", candidate_groups="finance, audit", form_key="camunda-forms:bpmn:f1"),
            end_event(),
            flows("start", "review", "end"),
        )
    )
    key = engine.start("approve")
    job = engine.one_job("io.camunda.zeebe:userTask")
    headers = json.loads(job.custom_headers)
    assert headers["io.camunda.zeebe:assignee"] == "alice"
    assert json.loads(headers["io.camunda.zeebe:candidateGroups"]) == ["finance", "audit"]
    assert headers["io.camunda.zeebe:formKey"] == "camunda-forms:bpmn:f1"
    engine.complete(job, {"approved": True})
    assert engine.completed(key)


def test_a_script_task_sets_its_result_variable_from_a_feel_expression(engine: Harness) -> None:
    engine.deploy(
        process(
            "calc",
            start_event(),
            script_task("sum", "=sum(items) * 2", "total"),
            service_task("after", "after"),
            end_event(),
            flows("start", "sum", "after", "end"),
        )
    )
    engine.start("calc", {"items": [1, 2, 3]})
    [(_, variables)] = engine.activate_with_variables("after")
    assert variables["total"] == 12


# Waits at a signal catch event for "go-now", then ends.
LISTEN = process(
    "listen", start_event(), signal_catch("go", "go-now"), end_event(), flows("start", "go", "end"), signals=["go-now"]
)


def test_a_signal_catch_event_continues_when_its_signal_is_broadcast(engine: Harness) -> None:
    engine.deploy(LISTEN)
    a = engine.start("listen")
    b = engine.start("listen")
    engine.signal("other")
    assert engine.active(a) == ["go"]
    engine.signal("go-now", {"when": "now"})
    assert engine.completed(a)
    assert engine.completed(b)
    assert engine.records("VARIABLE", name="when", scopeKey=a)


def test_a_signal_of_another_tenant_does_not_reach_the_catch_event(engine: Harness) -> None:
    engine.deploy(LISTEN, tenant_id="acme")
    key = engine.start("listen", tenant_id="acme")
    engine.signal("go-now")
    assert engine.active(key) == ["go"]
    engine.signal("go-now", tenant_id="acme")
    assert engine.completed(key)


def test_a_finished_instance_is_dropped_with_all_its_element_instances(engine: Harness) -> None:
    engine.deploy(ROUTE)
    keys = [engine.start("route", {"amount": 1}) for _ in range(5)]
    for job in engine.activate("small"):
        engine.complete(job)
    assert all(engine.completed(k) for k in keys)
    assert engine.runtime.instances == {}
    assert engine.runtime.jobs == {}
    assert engine.runtime.waits == {}
    [definition] = engine.runtime.definitions.values()
    assert definition.running == 0


def test_a_signal_boundary_event_interrupts_its_task(engine: Harness) -> None:
    engine.deploy(
        process(
            "stoppable",
            start_event(),
            service_task("task", "work"),
            boundary("stopped", "task", signal="stop"),
            end_event(),
            end_event("after-stop"),
            flows("start", "task", "end"),
            flow("stopped", "after-stop"),
            signals=["stop"],
        )
    )
    key = engine.start("stoppable")
    engine.signal("stop")
    assert engine.completed(key)
    assert "after-stop" in engine.elements("ELEMENT_COMPLETED", key)
    assert engine.activate("work") == []


def test_feel_now_and_today_read_the_engines_clock(engine: Harness) -> None:
    engine.deploy(
        process(
            "clock",
            start_event(),
            script_task("stamp", '=string(now()) + " " + string(today())', "stamp"),
            end_event(),
            flows("start", "stamp", "end"),
        )
    )
    engine.advance(86_400_000)  # a day after the harness's fixed start, 2023-11-14T22:13:20Z

    key = engine.start("clock")

    [record] = engine.records("VARIABLE", "CREATED", name="stamp", processInstanceKey=key)
    assert json.loads(record["value"]["value"]).startswith("2023-11-15T22:13:20")
    assert json.loads(record["value"]["value"]).endswith(" 2023-11-15")


def test_after_a_command_feel_now_in_the_same_thread_reads_the_wall_clock_again(engine: Harness) -> None:
    engine.deploy(
        process(
            "clock", start_event(), script_task("stamp", "=now()", "stamp"), end_event(), flows("start", "stamp", "end")
        )
    )
    engine.start("clock")

    assert abs(feel.evaluate("now()", {}).timestamp() - time.time()) < 60
