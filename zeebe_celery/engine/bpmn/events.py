"""Parse rules of events: their event definitions (message, timer, error, signal, terminate), and which
definition each event kind runs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from zeebe_celery.engine import timers
from zeebe_celery.engine.bpmn.conditions import conditional
from zeebe_celery.engine.bpmn.document import BPMN, ZEEBE, Document, local
from zeebe_celery.engine.model import Element, EventType, Kind, MessageRef, TimerDef

__all__ = [
    "ALLOWED_EVENTS",
    "EVENT_DEFINITIONS",
    "EVENT_SUB_PROCESS_STARTS",
    "check_event_kind",
    "event_definitions",
    "message_ref",
]

EVENT_DEFINITIONS = {
    "messageEventDefinition": EventType.MESSAGE,
    "timerEventDefinition": EventType.TIMER,
    "errorEventDefinition": EventType.ERROR,
    "signalEventDefinition": EventType.SIGNAL,
    "terminateEventDefinition": EventType.TERMINATE,
    "conditionalEventDefinition": EventType.CONDITIONAL,
    "linkEventDefinition": EventType.LINK,
    "escalationEventDefinition": EventType.ESCALATION,
    "compensateEventDefinition": EventType.COMPENSATION,
}
_THROWING = {Kind.INTERMEDIATE_THROW_EVENT, Kind.END_EVENT}
# Which event definitions each event kind runs; anything else is refused.
ALLOWED_EVENTS = {
    Kind.START_EVENT: {EventType.NONE, EventType.MESSAGE, EventType.TIMER, EventType.SIGNAL, EventType.CONDITIONAL},
    Kind.END_EVENT: {
        EventType.NONE,
        EventType.ERROR,
        EventType.TERMINATE,
        EventType.MESSAGE,
        EventType.SIGNAL,
        EventType.ESCALATION,
        EventType.COMPENSATION,
    },
    Kind.INTERMEDIATE_CATCH_EVENT: {
        EventType.MESSAGE,
        EventType.TIMER,
        EventType.SIGNAL,
        EventType.LINK,
        EventType.CONDITIONAL,
    },
    Kind.INTERMEDIATE_THROW_EVENT: {
        EventType.NONE,
        EventType.MESSAGE,
        EventType.SIGNAL,
        EventType.LINK,
        EventType.ESCALATION,
        EventType.COMPENSATION,
    },
    Kind.BOUNDARY_EVENT: {
        EventType.MESSAGE,
        EventType.TIMER,
        EventType.ERROR,
        EventType.SIGNAL,
        EventType.ESCALATION,
        EventType.CONDITIONAL,
        EventType.COMPENSATION,
    },
}
# The start event of an event sub-process runs these instead.
EVENT_SUB_PROCESS_STARTS = {
    EventType.MESSAGE,
    EventType.TIMER,
    EventType.SIGNAL,
    EventType.ERROR,
    EventType.ESCALATION,
    EventType.CONDITIONAL,
}


def event_definitions(doc: Document, node: ET.Element, element: Element) -> None:
    """The element's one event definition, read into ``element`` (none: a none event)."""
    definitions = [c for c in node if local(c.tag) in EVENT_DEFINITIONS and c.tag.startswith(BPMN)]
    others = [c for c in node if local(c.tag).endswith("EventDefinition") and c not in definitions]
    for other in others:
        doc.fail(node, f"<{local(other.tag)}> is not supported by this engine")
    if len(definitions) > 1:
        doc.fail(node, "an event with several event definitions is not supported by this engine")
    if not definitions:
        return
    definition = definitions[0]
    element.event_type = kind = EVENT_DEFINITIONS[local(definition.tag)]
    if kind is EventType.MESSAGE:
        # A message throw or end event is a job worker's (zeebe:taskDefinition): it needs no message.
        if element.kind not in _THROWING:
            message_ref(doc, node, element, definition.get("messageRef"))
    elif kind is EventType.LINK:
        element.link = definition.get("name") or None
        if element.link is None:
            doc.fail(node, "Link name must be present and not empty.")
    elif kind is EventType.TIMER:
        _timer(doc, node, element, definition)
    elif kind is EventType.ERROR:
        _error(doc, node, element, definition)
    elif kind is EventType.CONDITIONAL:
        conditional(doc, node, element, definition)
    elif kind is EventType.ESCALATION:
        _escalation(doc, node, element, definition)
    elif kind is EventType.COMPENSATION:
        element.compensate_activity = definition.get("activityRef") or None
    elif kind is EventType.SIGNAL:
        signal = doc.signals.get(definition.get("signalRef") or "")
        if signal is None or not signal.get("name"):
            doc.fail(node, "a signal event must reference a signal with a name")
        else:
            element.signal = doc.expr(node, signal.get("name", ""))


def check_event_kind(doc: Document, node: ET.Element, element: Element) -> None:
    """Refuse an event definition the element's kind does not run here."""
    allowed = ALLOWED_EVENTS.get(element.kind)
    if in_event_sub_process(element):
        allowed = EVENT_SUB_PROCESS_STARTS
    if allowed is not None and element.event_type not in allowed:
        doc.fail(
            node,
            f"a {element.kind.value.lower()} with a {element.event_type.value.lower()} event definition "
            "is not supported by this engine",
        )
    if element.kind is Kind.BOUNDARY_EVENT and element.event_type is EventType.ERROR and not element.interrupting:
        doc.fail(node, "an error boundary event must be interrupting")
    if in_event_sub_process(element) and element.event_type is EventType.ERROR and not element.interrupting:
        doc.fail(node, "an error start event of an event sub-process must be interrupting")


def _timer(doc: Document, node: ET.Element, element: Element, definition: ET.Element) -> None:
    parts = {local(c.tag): (c.text or "").strip() for c in definition}
    timer = TimerDef(
        duration=doc.expr(node, parts["timeDuration"]) if "timeDuration" in parts else None,
        date=doc.expr(node, parts["timeDate"]) if "timeDate" in parts else None,
        cycle=doc.expr(node, parts["timeCycle"]) if "timeCycle" in parts else None,
    )
    if sum(p is not None for p in (timer.duration, timer.date, timer.cycle)) != 1:
        doc.fail(node, "a timer needs exactly one of timeDuration, timeDate and timeCycle")
    _check_static_timer(doc, node, timer)
    # As Zeebe validates it: a cycle repeats, so only what can fire again takes one (a start event, a
    # non-interrupting boundary event); an intermediate catch event or interrupting boundary fires once.
    if timer.cycle is not None and element.kind is Kind.INTERMEDIATE_CATCH_EVENT:
        doc.fail(node, "Intermediate timer catch event must have either a time duration or a time date.")
    if timer.cycle is not None and element.interrupting and element.kind is Kind.BOUNDARY_EVENT:
        doc.fail(node, "Interrupting timer event with time cycle is not allowed.")
    if timer.cycle is not None and in_event_sub_process(element) and element.interrupting:
        doc.fail(node, "Interrupting timer event with time cycle is not allowed.")
    element.timer = timer


def _check_static_timer(doc: Document, node: ET.Element, timer: TimerDef) -> None:
    """A literal timer value the engine cannot read is refused now, not at run time (FEEL ones can only
    be known then)."""
    checks = ((timer.duration, timers.duration_ms), (timer.date, timers.due_at), (timer.cycle, timers.parse_cycle))
    for expr, parse in checks:
        if expr is not None and expr.is_static:
            try:
                parse(expr.source)
            except timers.TimerSyntaxError as exc:
                doc.fail(node, str(exc))


def _error(doc: Document, node: ET.Element, element: Element, definition: ET.Element) -> None:
    ref = definition.get("errorRef")
    error = doc.errors.get(ref or "")
    if ref and error is None:
        doc.fail(node, f"the error '{ref}' is not defined")
    code = error.get("errorCode") if error is not None else None
    if element.kind is Kind.END_EVENT and not code:
        doc.fail(node, "an error end event must reference an error with an errorCode")
    element.error_code = code or None


def message_ref(doc: Document, node: ET.Element, element: Element, ref: str | None) -> None:
    message = doc.messages.get(ref or "")
    if message is None or not message.get("name"):
        doc.fail(node, "Must reference a message with a name")
        return
    subscription = message.find(f"{BPMN}extensionElements/{ZEEBE}subscription")
    key = subscription.get("correlationKey") if subscription is not None else None
    needs_key = element.kind is not Kind.START_EVENT
    if needs_key and not key:
        doc.fail(node, "Must have a correlation key: zeebe:subscription correlationKey on the message")
    element.message = MessageRef(
        name=doc.expr(node, message.get("name", "")),
        correlation_key=doc.expr(node, key) if key else None,
    )


def in_event_sub_process(element: Element) -> bool:
    """The element is the start event of an event sub-process."""
    return (
        element.kind is Kind.START_EVENT
        and element.parent is not None
        and (element.parent.kind is Kind.EVENT_SUB_PROCESS)
    )


def _escalation(doc: Document, node: ET.Element, element: Element, definition: ET.Element) -> None:
    ref = definition.get("escalationRef")
    escalation = doc.escalations.get(ref or "")
    if ref and escalation is None:
        doc.fail(node, f"the escalation '{ref}' is not defined")
    code = escalation.get("escalationCode") if escalation is not None else None
    throws = element.kind in (Kind.END_EVENT, Kind.INTERMEDIATE_THROW_EVENT)
    if throws and not code:
        doc.fail(node, "an escalation throw event must reference an escalation with an escalationCode")
    element.escalation_code = code or None
