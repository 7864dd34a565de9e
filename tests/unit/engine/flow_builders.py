"""BPMN fragments for the events and gateways of the 8.9 coverage work: timer and signal start events,
signal, message and link throw events, and inclusive and event-based gateways (the rest are in
:mod:`tests.unit.engine.bpmn_builders`, whose :func:`process` declares the signals and messages)."""

from __future__ import annotations

from collections.abc import Mapping

from tests.unit.engine.bpmn_xml import _attr, _extensions, definition, event, io_mapping, timer_definition

__all__ = [
    "event_gateway",
    "inclusive_gateway",
    "link_catch",
    "link_throw",
    "message_throw",
    "signal_start",
    "signal_throw",
    "timer_start",
]


def timer_start(
    element_id: str, *, duration: str | None = None, date: str | None = None, cycle: str | None = None
) -> str:
    return event("startEvent", element_id, timer_definition(duration=duration, date=date, cycle=cycle))


def signal_start(element_id: str, signal: str) -> str:
    return event("startEvent", element_id, definition("signal", signal))


def signal_throw(element_id: str, signal: str, *, end: bool = False, inputs: Mapping[str, str] | None = None) -> str:
    tag = "endEvent" if end else "intermediateThrowEvent"
    return event(tag, element_id, _extensions(io_mapping(inputs)), definition("signal", signal))


def message_throw(element_id: str, job_type: str | None, *, end: bool = False) -> str:
    tag = "endEvent" if end else "intermediateThrowEvent"
    task = f"<zeebe:taskDefinition type={_attr(job_type)}/>" if job_type is not None else ""
    return event(tag, element_id, _extensions(task), "<bpmn:messageEventDefinition/>")


def link_throw(element_id: str, name: str) -> str:
    return event("intermediateThrowEvent", element_id, f"<bpmn:linkEventDefinition name={_attr(name)}/>")


def link_catch(element_id: str, name: str) -> str:
    return event("intermediateCatchEvent", element_id, f"<bpmn:linkEventDefinition name={_attr(name)}/>")


def inclusive_gateway(element_id: str, *, default: str | None = None) -> str:
    default_attr = f" default={_attr(default)}" if default else ""
    return f"<bpmn:inclusiveGateway id={_attr(element_id)}{default_attr}/>"


def event_gateway(element_id: str) -> str:
    return f"<bpmn:eventBasedGateway id={_attr(element_id)}/>"
