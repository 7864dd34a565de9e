"""BPMN fragments for the events and gateways of the 8.9 coverage work: timer and signal start events,
signal, message and link throw events, and inclusive and event-based gateways (the rest are in
:mod:`tests.unit.engine.bpmn_builders`, whose :func:`process` declares the signals and messages)."""

from __future__ import annotations

from collections.abc import Mapping
from xml.sax.saxutils import quoteattr

from tests.unit.engine.bpmn_builders import io_mapping

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


def _timer(*, duration: str | None, date: str | None, cycle: str | None) -> str:
    if duration is not None:
        inner = f"<bpmn:timeDuration>{duration}</bpmn:timeDuration>"
    elif date is not None:
        inner = f"<bpmn:timeDate>{date}</bpmn:timeDate>"
    else:
        inner = f"<bpmn:timeCycle>{cycle}</bpmn:timeCycle>"
    return f"<bpmn:timerEventDefinition>{inner}</bpmn:timerEventDefinition>"


def timer_start(
    element_id: str, *, duration: str | None = None, date: str | None = None, cycle: str | None = None
) -> str:
    definition = _timer(duration=duration, date=date, cycle=cycle)
    return f"<bpmn:startEvent id={quoteattr(element_id)}>{definition}</bpmn:startEvent>"


def signal_start(element_id: str, signal: str) -> str:
    return (
        f"<bpmn:startEvent id={quoteattr(element_id)}>"
        f"<bpmn:signalEventDefinition signalRef={quoteattr('sig-' + signal)}/></bpmn:startEvent>"
    )


def signal_throw(element_id: str, signal: str, *, end: bool = False, inputs: Mapping[str, str] | None = None) -> str:
    tag = "endEvent" if end else "intermediateThrowEvent"
    mapping = io_mapping(inputs)
    ext = f"<bpmn:extensionElements>{mapping}</bpmn:extensionElements>" if mapping else ""
    return (
        f"<bpmn:{tag} id={quoteattr(element_id)}>{ext}"
        f"<bpmn:signalEventDefinition signalRef={quoteattr('sig-' + signal)}/></bpmn:{tag}>"
    )


def message_throw(element_id: str, job_type: str | None, *, end: bool = False) -> str:
    tag = "endEvent" if end else "intermediateThrowEvent"
    ext = (
        f'<bpmn:extensionElements><zeebe:taskDefinition type="{job_type}"/></bpmn:extensionElements>'
        if job_type is not None
        else ""
    )
    return f"<bpmn:{tag} id={quoteattr(element_id)}>{ext}<bpmn:messageEventDefinition/></bpmn:{tag}>"


def link_throw(element_id: str, name: str) -> str:
    return (
        f"<bpmn:intermediateThrowEvent id={quoteattr(element_id)}>"
        f"<bpmn:linkEventDefinition name={quoteattr(name)}/></bpmn:intermediateThrowEvent>"
    )


def link_catch(element_id: str, name: str) -> str:
    return (
        f"<bpmn:intermediateCatchEvent id={quoteattr(element_id)}>"
        f"<bpmn:linkEventDefinition name={quoteattr(name)}/></bpmn:intermediateCatchEvent>"
    )


def inclusive_gateway(element_id: str, *, default: str | None = None) -> str:
    default_attr = f" default={quoteattr(default)}" if default else ""
    return f"<bpmn:inclusiveGateway id={quoteattr(element_id)}{default_attr}/>"


def event_gateway(element_id: str) -> str:
    return f"<bpmn:eventBasedGateway id={quoteattr(element_id)}/>"
