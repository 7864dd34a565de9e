"""Parse rules of compensation: handlers (``isForCompensation``) linked to the compensation boundary event
of the activity they undo by an association, and compensation throw events (with an optional
``activityRef`` in their scope)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from zeebe_celery.engine.bpmn.document import Document
from zeebe_celery.engine.model import Element, EventType, Kind

__all__ = ["link_compensation"]

_THROWS = (Kind.INTERMEDIATE_THROW_EVENT, Kind.END_EVENT)


def link_compensation(doc: Document, container: Element, associations: list[ET.Element]) -> None:
    """Link each compensation boundary event's handler to its activity, and check the scope's throws."""
    children = container.children
    for association in associations:
        source = children.get(association.get("sourceRef", ""))
        target = children.get(association.get("targetRef", ""))
        if source is None or source.kind is not Kind.BOUNDARY_EVENT or source.event_type is not EventType.COMPENSATION:
            continue
        host = children.get(source.attached_to or "")
        if target is None or not target.for_compensation:
            doc.fail_id(source.id, "a compensation boundary event must be associated with a compensation handler")
        elif host is not None:
            host.compensation_handler = target
    for child in children.values():
        if child.kind is Kind.BOUNDARY_EVENT and child.event_type is EventType.COMPENSATION:
            host = children.get(child.attached_to or "")
            if host is not None and host.compensation_handler is None:
                doc.fail_id(child.id, "a compensation boundary event must be associated with a compensation handler")
            if child.outgoing:
                doc.fail_id(child.id, "a compensation boundary event must not have outgoing sequence flows")
        if child.for_compensation and (child.incoming or child.outgoing):
            doc.fail_id(child.id, "a compensation handler must not have incoming or outgoing sequence flows")
    # A throw compensates its scope; one in an event sub-process, the scope around the event sub-process
    # (checked with that scope, once its activities are linked).
    if container.kind is Kind.EVENT_SUB_PROCESS:
        return
    throws = [*children.values(), *(c for e in container.event_subprocesses for c in e.children.values())]
    for child in throws:
        if child.kind in _THROWS and child.event_type is EventType.COMPENSATION:
            _check_throw(doc, child, container)


def _check_throw(doc: Document, throw: Element, scope: Element) -> None:
    ref = throw.compensate_activity
    if ref is not None:
        target = scope.children.get(ref)
        if target is None or target.compensation_handler is None:
            doc.fail_id(
                throw.id,
                f"the activityRef '{ref}' must be an activity with a compensation boundary event in the same scope",
            )
