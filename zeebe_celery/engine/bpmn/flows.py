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
    """Each outgoing flow of an event-based gateway leads to a message, timer or signal catch event that
    only it leads to, and there are at least two."""
    scope = gateway.parent
    assert scope is not None
    where = f"{gateway.id} (eventBasedGateway)"
    if len(gateway.outgoing) < 2:
        doc.fail_id(where, "Event-based gateway must have at least 2 outgoing sequence flows.")
    for flow in gateway.outgoing:
        target = scope.children[flow.target]
        if target.kind is not Kind.INTERMEDIATE_CATCH_EVENT or target.event_type not in _GATEWAY_EVENTS:
            doc.fail_id(
                where,
                "Event-based gateway must not have an outgoing sequence flow to other elements than message, "
                "timer or signal intermediate catch events.",
            )
        elif len(target.incoming) > 1:
            doc.fail_id(target.id, "an event after an event-based gateway must have no other incoming flow")


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
