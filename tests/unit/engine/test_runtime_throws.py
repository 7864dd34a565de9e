"""Signal start, throw and end events; message throw and end events, script and business rule tasks done by
job workers; link events; and a terminate end event inside a sub-process."""

from __future__ import annotations

import pytest

from tests.unit.engine.bpmn_builders import (
    end_event,
    flow,
    flows,
    process,
    service_task,
    signal_catch,
    start_event,
    sub_process,
    terminate_end,
)
from tests.unit.engine.flow_builders import link_catch, link_throw, message_throw, signal_start, signal_throw
from tests.unit.engine.harness import Harness
from zeebe_celery.engine.errors import InvalidArgument


def _signal_started(process_id: str = "on-signal", job_type: str = "handle") -> bytes:
    return process(
        process_id,
        signal_start("go", "alarm"),
        service_task("work", job_type),
        end_event(),
        flows("go", "work", "end"),
        signals=["alarm"],
    )


def test_a_signal_broadcast_starts_an_instance_of_each_process_with_a_signal_start_event(engine: Harness) -> None:
    engine.deploy(_signal_started("first", "one"))
    engine.deploy(_signal_started("second", "two"))
    engine.signal("alarm", {"level": 3})
    [(_, variables)] = engine.activate_with_variables("one")
    assert variables == {"level": 3}
    assert len(engine.activate("two")) == 1
    engine.signal("other")
    assert engine.activate("one") == []


def test_a_signal_start_event_starts_the_latest_version_only(engine: Harness) -> None:
    engine.deploy(_signal_started(job_type="old"))
    engine.deploy(_signal_started(job_type="new"))
    engine.signal("alarm")
    assert engine.activate("old") == []
    assert len(engine.activate("new")) == 1


def test_a_signal_start_event_is_per_tenant(engine: Harness) -> None:
    engine.deploy(_signal_started(), tenant_id="t1")
    engine.signal("alarm", tenant_id="t2")
    assert engine.activate("handle", tenant_ids=["t1", "t2"]) == []
    engine.signal("alarm", tenant_id="t1")
    assert len(engine.activate("handle", tenant_ids=["t1"])) == 1


def test_a_signal_throw_event_broadcasts_its_input_mappings_as_the_signals_variables(engine: Harness) -> None:
    engine.deploy(
        process(
            "waiter",
            start_event(),
            signal_catch("wait", "ping"),
            service_task("after", "woken"),
            end_event(),
            flows("start", "wait", "after", "end"),
            signals=["ping"],
        )
    )
    engine.deploy(
        process(
            "thrower",
            start_event(),
            signal_throw("throw", "ping", inputs={"sent": "=n * 2"}),
            service_task("next", "thrown"),
            end_event(),
            flows("start", "throw", "next", "end"),
            signals=["ping"],
        )
    )
    waiting = engine.start("waiter")
    thrower = engine.start("thrower", {"n": 21})
    [(job, variables)] = engine.activate_with_variables("woken")
    assert job.instance.process_instance_key == waiting
    assert variables == {"sent": 42}
    assert len(engine.activate("thrown")) == 1
    assert engine.records("SIGNAL", "BROADCASTED", signalName="ping")
    assert "throw" in engine.elements("ELEMENT_COMPLETED", thrower)


def test_a_signal_end_event_broadcasts_and_ends_its_instance(engine: Harness) -> None:
    engine.deploy(_signal_started())
    engine.deploy(
        process(
            "ender", start_event(), signal_throw("bye", "alarm", end=True), flows("start", "bye"), signals=["alarm"]
        )
    )
    key = engine.start("ender")
    assert engine.completed(key)
    assert len(engine.activate("handle")) == 1


def test_a_signal_start_events_name_expression_is_evaluated_when_the_process_is_deployed(engine: Harness) -> None:
    xml = process(
        "p",
        signal_start("go", "alarm"),
        service_task("work", "handle"),
        end_event(),
        flows("go", "work", "end"),
        signals=["alarm"],
    ).replace(b'name="alarm"', b'name="=&quot;al&quot; + &quot;arm&quot;"')
    engine.deploy(xml)
    engine.signal("alarm")
    assert len(engine.activate("handle")) == 1


def test_a_signal_start_event_whose_name_is_no_string_is_refused(engine: Harness) -> None:
    xml = process("p", signal_start("go", "alarm"), end_event(), flows("go", "end"), signals=["alarm"]).replace(
        b'name="alarm"', b'name="=1 + 1"'
    )
    with pytest.raises(InvalidArgument, match=r"(?s)go.*to be a string"):
        engine.deploy(xml)


def test_a_signal_throw_event_name_may_be_an_expression_and_must_give_a_string(engine: Harness) -> None:
    engine.deploy(_signal_started())
    engine.deploy(
        process(
            "thrower",
            start_event(),
            signal_throw("throw", "dyn"),
            end_event(),
            flows("start", "throw", "end"),
            signals=["dyn"],
        ).replace(b'name="dyn"', b'name="=which"')
    )
    engine.start("thrower", {"which": "alarm"})
    assert len(engine.activate("handle")) == 1
    key = engine.start("thrower", {"which": 7})
    [incident] = engine.incidents(key)
    assert incident.error_type == "EXTRACT_VALUE_ERROR"
    assert incident.instance.element.id == "throw"


@pytest.mark.parametrize("end", [False, True])
def test_a_message_throw_or_end_event_is_a_job_for_a_worker(engine: Harness, end: bool) -> None:
    body = (
        [message_throw("send", "send-message", end=True), flows("start", "send")]
        if end
        else [message_throw("send", "send-message"), end_event(), flows("start", "send", "end")]
    )
    engine.deploy(process("p", start_event(), *body))
    key = engine.start("p", {"order": 1})
    job = engine.one_job("send-message")
    assert job.instance.element.id == "send"
    engine.complete(job, {"sent": True})
    assert engine.completed(key)
    assert engine.records("VARIABLE", "CREATED", name="sent", processInstanceKey=key)


def test_a_message_throw_event_without_a_job_definition_is_refused(engine: Harness) -> None:
    with pytest.raises(InvalidArgument, match=r"(?s)send.*zeebe:taskDefinition"):
        engine.deploy(
            process("p", start_event(), message_throw("send", None), end_event(), flows("start", "send", "end"))
        )


@pytest.mark.parametrize(("tag", "kind"), [("scriptTask", "SCRIPT_TASK"), ("businessRuleTask", "BUSINESS_RULE_TASK")])
def test_script_and_business_rule_tasks_with_a_job_definition_are_jobs(engine: Harness, tag: str, kind: str) -> None:
    engine.deploy(
        process("p", start_event(), service_task("t", "external", tag=tag), end_event(), flows("start", "t", "end"))
    )
    key = engine.start("p")
    job = engine.one_job("external")
    engine.complete(job, {"result": 1})
    assert engine.completed(key)
    assert engine.records("PROCESS_INSTANCE", "ELEMENT_COMPLETED", elementId="t")[0]["value"]["bpmnElementType"] == kind


def _linked(*extra: str) -> bytes:
    return process(
        "p",
        start_event(),
        service_task("before", "a"),
        link_throw("jump", "L"),
        link_catch("land", "L"),
        service_task("after", "b"),
        end_event(),
        flows("start", "before", "jump"),
        flows("land", "after", "end"),
        *extra,
    )


def test_a_link_throw_event_goes_on_at_the_catch_link_event_of_its_name(engine: Harness) -> None:
    engine.deploy(_linked())
    key = engine.start("p")
    engine.complete(engine.one_job("a"))
    assert engine.active(key) == ["after"]
    completed = engine.elements("ELEMENT_COMPLETED", key)
    assert completed[-2:] == ["jump", "land"]
    engine.complete(engine.one_job("b"))
    assert engine.completed(key)


def test_a_throw_link_without_its_catch_link_is_refused_on_the_scope(engine: Harness) -> None:
    xml = process("p", start_event(), link_throw("jump", "nowhere"), flows("start", "jump"))
    with pytest.raises(InvalidArgument, match=r"(?s)Element: p .*Can't find an catch link event .* name 'nowhere'"):
        engine.deploy(xml)


def test_two_catch_links_of_one_name_are_refused(engine: Harness) -> None:
    xml = _linked(link_catch("again", "L"), end_event("e2"), flow("again", "e2"))
    with pytest.raises(
        InvalidArgument, match="Multiple intermediate catch link event definitions with the same name 'L'"
    ):
        engine.deploy(xml)


def test_a_catch_link_in_another_scope_does_not_pair(engine: Harness) -> None:
    xml = process(
        "p",
        start_event(),
        link_throw("jump", "L"),
        sub_process("sub", start_event("s"), link_catch("land", "L"), end_event("se"), flows("s", "se")),
        flows("start", "jump"),
    )
    with pytest.raises(InvalidArgument, match="Can't find an catch link event"):
        engine.deploy(xml)


def test_a_terminate_end_event_in_a_sub_process_ends_only_that_sub_process(engine: Harness) -> None:
    engine.deploy(
        process(
            "p",
            start_event(),
            service_task("outside", "outside"),
            sub_process(
                "sub",
                start_event("s"),
                service_task("inner", "inner"),
                service_task("quick", "quick"),
                terminate_end("stop"),
                end_event("inner-end"),
                flow("s", "inner"),
                flow("s", "quick"),
                flow("quick", "stop"),
                flow("inner", "inner-end"),
            ),
            service_task("after", "after"),
            end_event(),
            end_event("outside-end"),
            flow("start", "outside"),
            flow("start", "sub"),
            flows("sub", "after", "end"),
            flow("outside", "outside-end"),
        )
    )
    key = engine.start("p")
    inner = engine.one_job("inner")
    engine.complete(engine.one_job("quick"))
    assert "inner" in engine.elements("ELEMENT_TERMINATED", key)
    assert "sub" in engine.elements("ELEMENT_COMPLETED", key)
    assert inner.key not in engine.runtime.jobs
    assert engine.active(key) == ["after", "outside"]
    engine.complete(engine.one_job("after"))
    engine.complete(engine.one_job("outside"))
    assert engine.completed(key)


def test_links_pair_up_inside_a_sub_process_too(engine: Harness) -> None:
    engine.deploy(
        process(
            "p",
            start_event(),
            sub_process(
                "sub",
                start_event("s"),
                link_throw("jump", "L"),
                link_catch("land", "L"),
                service_task("inner", "inner"),
                end_event("se"),
                flows("s", "jump"),
                flows("land", "inner", "se"),
            ),
            end_event(),
            flows("start", "sub", "end"),
        )
    )
    key = engine.start("p")
    assert engine.active(key) == ["inner", "sub"]
    engine.complete(engine.one_job("inner"))
    assert engine.completed(key)


def test_a_typed_start_event_in_an_embedded_sub_process_is_refused_once(engine: Harness) -> None:
    xml = process(
        "p",
        start_event(),
        sub_process("sub", signal_start("s", "alarm"), end_event("se"), flows("s", "se")),
        end_event(),
        flows("start", "sub", "end"),
        signals=["alarm"],
    )
    with pytest.raises(InvalidArgument) as refused:
        engine.deploy(xml)
    assert "Start events in subprocesses must be of type none" in str(refused.value)
    assert "none start event" not in str(refused.value)
