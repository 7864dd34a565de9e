"""Parse rules of conditional events (Camunda 8.9): the FEEL condition of a ``conditionalEventDefinition``
and the ``zeebe:conditionalFilter`` of the event (which variable names and events re-evaluate it)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from zeebe_celery.engine.bpmn.document import BPMN, ZEEBE, Document
from zeebe_celery.engine.model import ConditionDef, Element

__all__ = ["conditional"]

_VARIABLE_EVENTS = {"create", "update"}


def conditional(doc: Document, node: ET.Element, element: Element, definition: ET.Element) -> None:
    condition = definition.find(f"{BPMN}condition")
    text = (condition.text or "").strip() if condition is not None else ""
    if not text:
        doc.fail(node, "a conditional event definition must have a condition expression")
        return
    found = node.find(f"{BPMN}extensionElements/{ZEEBE}conditionalFilter")
    names: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    if found is not None:
        names = _listed(found.get("variableNames", ""))
        events = _listed(found.get("variableEvents", ""))
        unknown = sorted(set(events) - _VARIABLE_EVENTS)
        if unknown:
            doc.fail(node, f"the variable events {unknown} of a conditional filter are not one of create, update")
    element.condition = ConditionDef(doc.expr(node, text, expression=True), names, events)


def _listed(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())
