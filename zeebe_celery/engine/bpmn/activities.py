"""Parse rules of activities that start other things: call activities (``zeebe:calledElement``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from zeebe_celery.engine.bpmn.document import BPMN, ZEEBE, Document
from zeebe_celery.engine.model import AdHoc, CalledElement, Element, Kind, LoopCharacteristics

__all__ = ["activatable", "ad_hoc", "called_element", "check_ad_hoc", "multi_instance", "version_tag"]

# What Zeebe runs as multi-instance: tasks, sub-processes and call activities.
_MULTI_INSTANCE = {
    Kind.SERVICE_TASK,
    Kind.SEND_TASK,
    Kind.USER_TASK,
    Kind.SCRIPT_TASK,
    Kind.BUSINESS_RULE_TASK,
    Kind.RECEIVE_TASK,
    Kind.MANUAL_TASK,
    Kind.TASK,
    Kind.SUB_PROCESS,
    Kind.CALL_ACTIVITY,
    Kind.AD_HOC_SUB_PROCESS,
}

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


def multi_instance(doc: Document, node: ET.Element, element: Element) -> Element:
    """The element as it runs: itself, or a multi-instance body around it that takes its place (its id,
    flows and boundary events), as Zeebe models one."""
    if node.find(f"{BPMN}standardLoopCharacteristics") is not None:
        doc.fail(node, "a loop (standardLoopCharacteristics) is not supported: use multi-instance")
    marker = node.find(f"{BPMN}multiInstanceLoopCharacteristics")
    if marker is None:
        return element
    if element.kind not in _MULTI_INSTANCE:
        doc.fail(node, f"a {element.kind.value.lower()} cannot be multi-instance")
        return element
    loop = marker.find(f"{BPMN}extensionElements/{ZEEBE}loopCharacteristics")
    if marker.find(f"{BPMN}loopCardinality") is not None:
        doc.fail(node, "a loop cardinality is not supported: use zeebe:loopCharacteristics inputCollection")
    if loop is None or not loop.get("inputCollection"):
        doc.fail(node, "Must have an input collection expression (zeebe:loopCharacteristics inputCollection)")
        return element
    output_collection = loop.get("outputCollection") or None
    output_element = loop.get("outputElement") or None
    if output_collection and not output_element:
        doc.fail(node, "Must have an output element expression if the output collection is defined")
    condition = marker.find(f"{BPMN}completionCondition")
    body = Element(id=element.id, kind=Kind.MULTI_INSTANCE_BODY, name=element.name, parent=element.parent)
    body.inner = element
    element.parent = body
    body.loop = LoopCharacteristics(
        sequential=marker.get("isSequential", "false") == "true",
        input_collection=doc.expr(node, loop.get("inputCollection", "")),
        input_element=loop.get("inputElement") or None,
        output_collection=output_collection,
        output_element=doc.expr(node, output_element) if output_element else None,
        completion_condition=(
            doc.expr(node, condition.text or "", expression=True)
            if condition is not None and (condition.text or "").strip()
            else None
        ),
    )
    return body


def ad_hoc(doc: Document, node: ET.Element, element: Element, ext: list[ET.Element]) -> None:
    """An ad-hoc sub-process: its elements run when activated (by its active elements collection, or by
    its job worker), each activation in a scope of its own."""
    config = next((e for e in ext if e.tag == f"{ZEEBE}adHoc"), None)
    condition = node.find(f"{BPMN}completionCondition")
    active = config.get("activeElementsCollection") if config is not None else None
    output_collection = config.get("outputCollection") if config is not None else None
    output_element = config.get("outputElement") if config is not None else None
    if output_collection and not output_element:
        doc.fail(node, "Must have an output element expression if the output collection is defined")
    element.ad_hoc = AdHoc(
        active_elements=doc.expr(node, active) if active else None,
        completion_condition=(
            doc.expr(node, condition.text or "", expression=True)
            if condition is not None and (condition.text or "").strip()
            else None
        ),
        cancel_remaining=node.get("cancelRemainingInstances", "true") != "false",
        output_collection=output_collection or None,
        output_element=doc.expr(node, output_element) if output_element else None,
    )
    element.inner = Element(
        id=element.id, kind=Kind.AD_HOC_SUB_PROCESS_INNER_INSTANCE, name=element.name, parent=element
    )


def check_ad_hoc(doc: Document, node: ET.Element, element: Element) -> None:
    """What the Camunda docs require of an ad-hoc sub-process's content."""
    kinds = {child.kind for child in element.children.values()}
    if Kind.START_EVENT in kinds or Kind.END_EVENT in kinds:
        doc.fail(node, "an ad-hoc sub-process must not have start events or end events")
    if not activatable(element):
        doc.fail(node, "an ad-hoc sub-process must have at least one activity")


def activatable(element: Element) -> list[Element]:
    """The elements of an ad-hoc sub-process that can be activated: those no sequence flow leads to."""
    return [
        child
        for child in element.children.values()
        if not child.incoming and child.kind not in (Kind.BOUNDARY_EVENT, Kind.EVENT_SUB_PROCESS)
    ]
