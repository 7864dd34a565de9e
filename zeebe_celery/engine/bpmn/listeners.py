"""Parse rules of execution listeners (``zeebe:executionListeners``), with the limits the Camunda docs
set: no start listeners on start and boundary events, no end listeners on gateways and error end events,
and each event type and job type once."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from zeebe_celery.engine.bpmn.document import ZEEBE, Document
from zeebe_celery.engine.model import Element, EventType, Kind, Listener

__all__ = ["execution_listeners"]

_NO_START = {Kind.START_EVENT, Kind.BOUNDARY_EVENT}


def execution_listeners(doc: Document, node: ET.Element, element: Element, ext: list[ET.Element]) -> None:
    found: list[Listener] = []
    for group in (e for e in ext if e.tag == f"{ZEEBE}executionListeners"):
        for entry in group:
            event_type, job_type = entry.get("eventType", ""), entry.get("type", "")
            if event_type not in ("start", "end"):
                doc.fail(node, f"an execution listener's eventType must be 'start' or 'end', not '{event_type}'")
                continue
            if not job_type:
                doc.fail(node, "an execution listener must have a job type")
                continue
            if any(f.event_type == event_type and f.type.source == job_type for f in found):
                doc.fail(node, f"the execution listener of eventType '{event_type}' and type '{job_type}' is twice")
                continue
            found.append(Listener(event_type, doc.expr(node, job_type), doc.expr(node, entry.get("retries", "3"))))
    starts = tuple(f for f in found if f.event_type == "start")
    ends = tuple(f for f in found if f.event_type == "end")
    if starts and element.kind in _NO_START:
        doc.fail(node, f"start execution listeners are not supported on a {element.kind.value.lower()}")
    if ends and element.kind.value.endswith("_GATEWAY"):
        doc.fail(node, f"end execution listeners are not supported on a {element.kind.value.lower()}")
    if ends and element.kind is Kind.END_EVENT and element.event_type is EventType.ERROR:
        doc.fail(node, "end execution listeners are not supported on an error end event")
    element.start_listeners, element.end_listeners = starts, ends
