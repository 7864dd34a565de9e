"""What the engine cannot run is refused at deploy time with INVALID_ARGUMENT, naming the resource, the
element and its id, and nothing of the deployment is kept."""

from __future__ import annotations

import pytest

from tests.unit.engine.bpmn_builders import (
    boundary,
    end_event,
    exclusive_gateway,
    flow,
    flows,
    process,
    service_task,
    start_event,
    sub_process,
)
from tests.unit.engine.harness import Harness
from zeebe_celery.engine.bpmn import BpmnError, parse_bpmn
from zeebe_celery.engine.errors import InvalidArgument

WORK = '<bpmn:extensionElements><zeebe:taskDefinition type="work"/></bpmn:extensionElements>'


def _refusal(engine: Harness, resource: bytes, *, name: str = "refused.bpmn") -> str:
    with pytest.raises(InvalidArgument) as caught:
        engine.deploy(resource, name=name)
    assert engine.runtime.definitions == {}
    return str(caught.value)


def _around(element_id: str, fragment: str, *, messages: dict[str, str] | None = None) -> bytes:
    """``fragment`` (with id ``element_id``) between a start and an end event."""
    return process("p", start_event(), fragment, end_event(), flows("start", element_id, "end"), messages=messages)


@pytest.mark.parametrize(
    ("element_id", "fragment", "complaint"),
    [
        ("call", '<bpmn:callActivity id="call"/>', "'zeebe:calledElement'"),
        ("evgw", '<bpmn:eventBasedGateway id="evgw"/>', "at least 2 outgoing sequence flows"),
        (
            "many",
            f'<bpmn:serviceTask id="many">{WORK}<bpmn:multiInstanceLoopCharacteristics/></bpmn:serviceTask>',
            "Must have an input collection expression",
        ),
        ("bare", '<bpmn:serviceTask id="bare"/>', "zeebe:taskDefinition"),
        (
            "esc",
            '<bpmn:intermediateThrowEvent id="esc"><bpmn:escalationEventDefinition/></bpmn:intermediateThrowEvent>',
            "must reference an escalation with an escalationCode",
        ),
        (
            "throw-msg",
            '<bpmn:intermediateThrowEvent id="throw-msg"><bpmn:messageEventDefinition/></bpmn:intermediateThrowEvent>',
            "zeebe:taskDefinition",
        ),
        (
            "cycle",
            '<bpmn:intermediateCatchEvent id="cycle"><bpmn:timerEventDefinition><bpmn:timeCycle>R/PT1S'
            "</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
            "must have either a time duration or a time date",
        ),
        (
            "camunda-user",
            '<bpmn:userTask id="camunda-user"><bpmn:extensionElements><zeebe:userTask/><zeebe:taskListeners>'
            '<zeebe:taskListener eventType="canceling" type="l"/></zeebe:taskListeners></bpmn:extensionElements>'
            "</bpmn:userTask>",
            "canceling task listeners",
        ),
        (
            "script",
            '<bpmn:scriptTask id="script"><bpmn:extensionElements><zeebe:script expression="=1 +"'
            ' resultVariable="x"/></bpmn:extensionElements></bpmn:scriptTask>',
            "failed to parse expression",
        ),
    ],
)
def test_an_element_the_engine_cannot_run_is_refused_naming_it_and_its_id(
    engine: Harness, element_id: str, fragment: str, complaint: str
) -> None:
    reason = _refusal(engine, _around(element_id, fragment))
    assert "'refused.bpmn'" in reason
    assert f"Element: {element_id} " in reason
    assert complaint in reason


def test_a_message_catch_event_without_a_correlation_key_is_refused(engine: Harness) -> None:
    fragment = (
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="msg-ping"/>'
        "</bpmn:intermediateCatchEvent>"
    )
    reason = _refusal(engine, _around("wait", fragment, messages={"ping": ""}))
    assert "Element: wait" in reason
    assert "correlation key" in reason


def test_a_non_interrupting_error_boundary_event_is_refused(engine: Harness) -> None:
    reason = _refusal(
        engine,
        process(
            "p",
            start_event(),
            service_task("task", "work"),
            boundary("soft", "task", error="E", interrupting=False),
            end_event(),
            end_event("e2"),
            flows("start", "task", "end"),
            flow("soft", "e2"),
            errors=["E"],
        ),
    )
    assert "Element: soft" in reason
    assert "must be interrupting" in reason


def test_an_event_sub_process_without_a_triggering_start_event_is_refused(engine: Harness) -> None:
    inner = sub_process("events", start_event("s"), end_event("se"), flows("s", "se"))
    inner = inner.replace('<bpmn:subProcess id="events">', '<bpmn:subProcess id="events" triggeredByEvent="true">')
    reason = _refusal(engine, process("p", start_event(), end_event(), flows("start", "end"), inner))
    assert "Element: events" in reason
    assert "an event sub-process must have exactly one start event, with an event definition" in reason


def test_a_gateway_flow_without_a_condition_that_is_not_the_default_is_refused(engine: Harness) -> None:
    reason = _refusal(
        engine,
        process(
            "p",
            start_event(),
            exclusive_gateway("which"),
            end_event("a"),
            end_event("b"),
            flows("start", "which"),
            flow("which", "a", condition="=x"),
            flow("which", "b", flow_id="loose"),
        ),
    )
    assert "Element: loose" in reason


def test_a_document_without_an_executable_process_is_refused(engine: Harness) -> None:
    reason = _refusal(engine, process("p", start_event(), executable=False))
    assert "at least one executable process" in reason


def test_a_resource_that_is_not_xml_is_refused(engine: Harness) -> None:
    assert "not well-formed XML" in _refusal(engine, b"<bpmn:definitions")


def test_a_resource_that_is_neither_bpmn_nor_dmn_is_refused(engine: Harness) -> None:
    assert "'notes.txt'" in _refusal(engine, b"hello", name="notes.txt")


def test_each_bad_element_of_a_resource_is_named_in_one_refusal(engine: Harness) -> None:
    reason = _refusal(
        engine,
        process(
            "p",
            start_event(),
            '<bpmn:callActivity id="first"/>',
            '<bpmn:callActivity id="second"/>',
            end_event(),
            flows("start", "first", "second", "end"),
        ),
    )
    assert "Element: first" in reason
    assert "Element: second" in reason


def test_a_deployment_with_no_resources_is_refused(engine: Harness) -> None:
    with engine.runtime.lock, pytest.raises(InvalidArgument):
        engine.runtime.deploy([])


@pytest.mark.parametrize(
    ("definition", "value"),
    [
        ("timeDuration", "five minutes"),
        ("timeDate", "tomorrow"),
        ("timeCycle", "0 0 9-17 * * FUNDAY"),
        ("timeCycle", "R/PT"),
    ],
)
def test_a_literal_timer_value_the_engine_cannot_read_is_refused_at_deploy(definition: str, value: str) -> None:
    timer = f"<bpmn:timerEventDefinition><bpmn:{definition}>{value}</bpmn:{definition}></bpmn:timerEventDefinition>"
    attrs = ' cancelActivity="false"' if definition == "timeCycle" else ""
    xml = process(
        "p",
        start_event(),
        service_task("t", "work"),
        f'<bpmn:boundaryEvent id="late" attachedToRef="t"{attrs}>{timer}</bpmn:boundaryEvent>',
        end_event(),
        end_event("late-end"),
        flows("start", "t", "end"),
        flow("late", "late-end"),
    )

    with pytest.raises(BpmnError, match=r"(?s)late.*Invalid"):
        parse_bpmn(xml, resource_name="timers.bpmn")


@pytest.mark.parametrize(
    "extension",
    [
        '<zeebe:somethingNew value="1"/>',
    ],
)
def test_a_zeebe_extension_the_engine_does_not_run_is_refused_naming_it(extension: str) -> None:
    task = (
        '<bpmn:serviceTask id="work"><bpmn:extensionElements><zeebe:taskDefinition type="w"/>'
        f"{extension}</bpmn:extensionElements></bpmn:serviceTask>"
    )
    xml = process("p", start_event(), task, end_event(), flows("start", "work", "end"))
    with pytest.raises(BpmnError) as refused:
        parse_bpmn(xml, resource_name="listeners.bpmn")
    name = extension.split()[0].split(">")[0].lstrip("<")
    assert f"the extension element <{name}> is not supported by this engine" in str(refused.value)
    assert "- Element: work (serviceTask)" in str(refused.value)


def test_a_refused_start_event_is_the_only_complaint_about_starting(engine: Harness) -> None:
    start = '<bpmn:startEvent id="start"><bpmn:cancelEventDefinition/></bpmn:startEvent>'  # Zeebe lacks it too
    reason = _refusal(engine, process("p", start, end_event(), flows("start", "end")))
    assert "Element: start" in reason
    assert "Must have at least one start event" not in reason
