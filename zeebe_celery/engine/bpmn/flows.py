"""Parse rules that look at a scope's flow as a whole: link events pair up by name, and an event-based
gateway leads only to the events it waits for."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from zeebe_celery.engine import feel
from zeebe_celery.engine.bpmn.document import Document
from zeebe_celery.engine.model import Element, EventType, Expr, Kind

__all__ = ["check_event_gateway", "check_links", "signal_start_name"]

_GATEWAY_EVENTS = {EventType.MESSAGE, EventType.TIMER, EventType.SIGNAL}


def check_links(doc: Document, node: ET.Element, container: Element) -> None:
    """A throw link goes on at the catch link of the same name in its own scope; names of catch links are
    unique there. Zeebe reports both on the scope, as here."""
    catches: dict[str, Element] = {}
    throws: list[Element] = []
    for element in container.children.values():
        if element.event_type is not EventType.LINK or element.link is None:
            continue
        if element.kind is Kind.INTERMEDIATE_CATCH_EVENT:
            if element.link in catches:
                doc.fail(
                    node,
                    f"Multiple intermediate catch link event definitions with the same name '{element.link}' are "
                    "not allowed.",
                )
            catches.setdefault(element.link, element)
        else:
            throws.append(element)
    for name in sorted({t.link for t in throws if t.link is not None}):
        if name not in catches:
            doc.fail(node, f"Can't find an catch link event for the throw link event with the name '{name}'.")


def check_event_gateway(doc: Document, gateway: Element) -> None:
    """As Zeebe validates an event-based gateway: at least two outgoing flows, each to a message, timer or
    signal catch event that no other flow leads to, with no message or signal name twice."""
    scope = gateway.parent
    assert scope is not None
    where = f"{gateway.id} (eventBasedGateway)"
    if len(gateway.outgoing) < 2:
        doc.fail_id(where, "Event-based gateway must have at least 2 outgoing sequence flows.")
    targets = [scope.children[flow.target] for flow in gateway.outgoing]
    if any(t.kind is not Kind.INTERMEDIATE_CATCH_EVENT or t.event_type not in _GATEWAY_EVENTS for t in targets):
        doc.fail_id(
            where,
            "Event-based gateway must not have an outgoing sequence flow to other elements than "
            "message/timer/signal intermediate catch events.",
        )
    if any(len(t.incoming) > 1 for t in targets):
        doc.fail_id(
            where,
            "Target elements of an event gateway must not have any additional incoming sequence flows other than "
            "that from the event gateway.",
        )
    messages = [t.message.name.source for t in targets if t.message is not None]
    signals = [t.signal.source for t in targets if t.signal is not None]
    for kind, names in (("message", messages), ("signal", signals)):
        for name in sorted({n for n in names if names.count(n) > 1}):
            doc.fail_id(where, f"Multiple {kind} event definitions with the same name '{name}' are not allowed.")


def signal_start_name(doc: Document, start: Element) -> None:
    """A signal start event's name is evaluated when the process is deployed, as Zeebe does: an
    expression becomes the name it gives (with no variables), and one that gives no string is refused."""
    signal = start.signal
    if signal is None or signal.is_static:
        return
    try:
        name = signal.evaluate({})
    except feel.FeelError as exc:
        doc.fail_id(start.id, f"Expected the name of the signal start event to be evaluated, but failed: {exc}")
        return
    if not isinstance(name, str) or not name:
        doc.fail_id(start.id, f"Expected the name of the signal start event to be a string, but was '{name}'")
        return
    start.signal = Expr(name)
