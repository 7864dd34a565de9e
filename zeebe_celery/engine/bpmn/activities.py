"""Parse rules of activities that start other things: call activities (``zeebe:calledElement``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from zeebe_celery.engine.bpmn.document import BPMN, ZEEBE, Document
from zeebe_celery.engine.model import CalledElement, Element

__all__ = ["called_element", "version_tag"]

_BINDINGS = {"latest", "deployment", "versionTag"}


def called_element(doc: Document, node: ET.Element, element: Element, ext: list[ET.Element]) -> None:
    called = next((e for e in ext if e.tag == f"{ZEEBE}calledElement"), None)
    if called is None or not called.get("processId"):
        doc.fail(node, "Must have exactly one 'zeebe:calledElement' extension element with a 'processId'")
        return
    binding = called.get("bindingType", "latest")
    if binding not in _BINDINGS:
        doc.fail(node, f"the binding type '{binding}' is not one of {sorted(_BINDINGS)}")
    tag = called.get("versionTag")
    if binding == "versionTag" and not tag:
        doc.fail(node, "a call activity bound by version tag must name the 'versionTag'")
    element.called = CalledElement(
        process_id=doc.expr(node, called.get("processId", "")),
        binding=binding,
        version_tag=tag,
        propagate_child=called.get("propagateAllChildVariables", "true") != "false",
        propagate_parent=called.get("propagateAllParentVariables", "true") != "false",
    )


def version_tag(node: ET.Element) -> str | None:
    """The process's ``zeebe:versionTag``, if it has one."""
    tag = node.find(f"{BPMN}extensionElements/{ZEEBE}versionTag")
    return tag.get("value") if tag is not None else None
