"""The document walk: processes, their containers, sequence flows, and each element through the rules of
its kind (events, tasks, extension elements)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

from zeebe_celery.engine.bpmn.activities import ad_hoc, called_element, check_ad_hoc, multi_instance, version_tag
from zeebe_celery.engine.bpmn.compensation import link_compensation
from zeebe_celery.engine.bpmn.document import BPMN, BpmnError, Document, local
from zeebe_celery.engine.bpmn.events import check_event_kind, event_definitions, in_event_sub_process, message_ref
from zeebe_celery.engine.bpmn.extensions import check_extensions, io_mappings
from zeebe_celery.engine.bpmn.flows import check_event_gateway, check_links, signal_start_name
from zeebe_celery.engine.bpmn.listeners import execution_listeners
from zeebe_celery.engine.bpmn.tasks import task
from zeebe_celery.engine.model import Element, EventType, Kind, Process, SequenceFlow

__all__ = ["ELEMENT_KINDS", "NO_BEHAVIOUR", "parse_bpmn"]


_TASKS = {
    "serviceTask": Kind.SERVICE_TASK,
    "sendTask": Kind.SEND_TASK,
    "userTask": Kind.USER_TASK,
    "scriptTask": Kind.SCRIPT_TASK,
    "businessRuleTask": Kind.BUSINESS_RULE_TASK,
    "receiveTask": Kind.RECEIVE_TASK,
    "manualTask": Kind.MANUAL_TASK,
    "task": Kind.TASK,
}
_NODES = {
    **_TASKS,
    "startEvent": Kind.START_EVENT,
    "endEvent": Kind.END_EVENT,
    "intermediateCatchEvent": Kind.INTERMEDIATE_CATCH_EVENT,
    "intermediateThrowEvent": Kind.INTERMEDIATE_THROW_EVENT,
    "boundaryEvent": Kind.BOUNDARY_EVENT,
    "exclusiveGateway": Kind.EXCLUSIVE_GATEWAY,
    "parallelGateway": Kind.PARALLEL_GATEWAY,
    "inclusiveGateway": Kind.INCLUSIVE_GATEWAY,
    "eventBasedGateway": Kind.EVENT_BASED_GATEWAY,
    "subProcess": Kind.SUB_PROCESS,
    "callActivity": Kind.CALL_ACTIVITY,
    "adHocSubProcess": Kind.AD_HOC_SUB_PROCESS,
}
# Gateways that choose their outgoing flows by condition, with a default flow.
_CHOOSING = {Kind.EXCLUSIVE_GATEWAY, Kind.INCLUSIVE_GATEWAY}
# Elements that carry no behaviour of their own: documentation, data and diagram interchange.
_IGNORED = {
    "sequenceFlow",
    "documentation",
    "extensionElements",
    "incoming",
    "outgoing",
    "laneSet",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "textAnnotation",
    "association",
    "group",
    "ioSpecification",
    "property",
    "dataInputAssociation",
    "dataOutputAssociation",
    "completionCondition",
    "multiInstanceLoopCharacteristics",
}


def parse_bpmn(data: bytes, *, resource_name: str) -> list[Process]:
    """Every executable process of the resource, in document order. Raises BpmnError."""
    try:
        root = ET.fromstring(data)  # noqa: S314 -- resources come from the engine's own users, on loopback
    except ET.ParseError as exc:
        raise BpmnError(f"'{resource_name}': the resource is not well-formed XML: {exc}") from exc
    if root.tag != f"{BPMN}definitions":
        raise BpmnError(f"'{resource_name}': expected a BPMN 2.0 <definitions> element, found <{local(root.tag)}>")
    return _Parser(root, resource_name).processes()


class _Parser(Document):
    def processes(self) -> list[Process]:
        found = [p for p in self.root.findall(f"{BPMN}process") if p.get("isExecutable", "false") == "true"]
        if not found:
            raise BpmnError(f"'{self.resource}': Must contain at least one executable process")
        result = [self._process(node) for node in found]
        if self.problems:
            raise BpmnError(f"'{self.resource}':\n" + "\n".join(self.problems))
        return result

    def _process(self, node: ET.Element) -> Process:
        process_id = node.get("id", "")
        root = Element(id=process_id, kind=Kind.PROCESS, name=node.get("name", ""))
        extensions = node.find(f"{BPMN}extensionElements")
        ext = list(extensions) if extensions is not None else []
        check_extensions(self, node, ext)
        execution_listeners(self, node, root, ext)
        elements: dict[str, Element] = {}
        self._container(node, root, elements)
        process = Process(id=process_id, name=root.name, root=root, elements=elements, version_tag=version_tag(node))
        starts = [e for e in root.children.values() if e.kind is Kind.START_EVENT]
        process.message_starts = [e for e in starts if e.event_type is EventType.MESSAGE]
        process.timer_starts = [e for e in starts if e.event_type is EventType.TIMER]
        process.signal_starts = [e for e in starts if e.event_type is EventType.SIGNAL]
        process.conditional_starts = [e for e in starts if e.event_type is EventType.CONDITIONAL]
        for start in process.signal_starts:
            signal_start_name(self, start)
        for element in elements.values():
            if (
                element.event_type is EventType.CONDITIONAL
                and element.kind is Kind.START_EVENT
                and element.parent is not root
                and not in_event_sub_process(element)
            ):
                self.fail_id(
                    element.id,
                    "a conditional start event is only supported at the process level or in an event sub-process",
                )
        # A start event refused for its kind is named already; this is for a process with none at all.
        if not starts:
            self.fail(node, "Must have at least one start event")
        return process

    def _container(self, node: ET.Element, container: Element, elements: dict[str, Element]) -> None:
        flows: list[ET.Element] = []
        sub_processes: list[tuple[ET.Element, Element]] = []
        associations: list[ET.Element] = []
        for child in node:
            name = local(child.tag)
            if not child.tag.startswith(BPMN):
                continue
            if name == "sequenceFlow":
                flows.append(child)
                continue
            if name == "association":
                associations.append(child)
                continue
            if name in _IGNORED:
                continue
            kind = _NODES.get(name)
            if kind is Kind.SUB_PROCESS and child.get("triggeredByEvent") == "true":
                kind = Kind.EVENT_SUB_PROCESS
            if kind is None:
                self.fail(child, f"the element <{name}> is not supported by this engine")
                continue
            element = self._element(child, kind, container)
            if element.id in elements:
                self.fail(child, f"the id '{element.id}' is used twice")
            placed = multi_instance(self, child, element)
            elements[element.id] = placed
            container.children[element.id] = placed
            if kind is Kind.SUB_PROCESS:
                self._container(child, element, elements)
                typed = [
                    e
                    for e in element.children.values()
                    if e.kind is Kind.START_EVENT and e.event_type is not EventType.NONE
                ]
                for start in typed:
                    self.fail_id(start.id, "Start events in subprocesses must be of type none")
                if element.none_start is None and not typed:
                    self.fail(child, "an embedded sub-process must have exactly one none start event")
            elif kind is Kind.AD_HOC_SUB_PROCESS:
                self._container(child, element, elements)
                check_ad_hoc(self, child, element)
            elif kind is Kind.EVENT_SUB_PROCESS:
                self._container(child, element, elements)
                self._event_sub_process(child, element, container)
                sub_processes.append((child, element))
        for flow in flows:
            self._flow(flow, container)
        check_links(self, node, container)
        for child, element in sub_processes:
            if element.incoming or element.outgoing:
                self.fail(child, "an event sub-process must not have incoming or outgoing sequence flows")
        for element in container.children.values():
            if element.kind is Kind.BOUNDARY_EVENT:
                host = container.children.get(element.attached_to or "")
                if host is None:
                    self.fail_id(element.id, "boundary event is not attached")
                else:
                    host.boundaries.append(element)
            if element.kind is Kind.EVENT_BASED_GATEWAY:
                check_event_gateway(self, element)
            if element.kind in _CHOOSING and len(element.outgoing) > 1:
                for outgoing in element.outgoing:
                    if outgoing.condition is None and outgoing.id != element.default_flow:
                        self.fail_id(outgoing.id, "Must have a condition or be default flow")
        link_compensation(self, container, associations)

    def _event_sub_process(self, node: ET.Element, element: Element, container: Element) -> None:
        starts = [c for c in element.children.values() if c.kind is Kind.START_EVENT]
        if len(starts) != 1 or starts[0].event_type is EventType.NONE:
            self.fail(node, "an event sub-process must have exactly one start event, with an event definition")
        else:
            element.event_start = starts[0]
            container.event_subprocesses.append(element)

    def _flow(self, node: ET.Element, container: Element) -> None:
        source, target = node.get("sourceRef", ""), node.get("targetRef", "")
        if source not in container.children or target not in container.children:
            self.fail(node, "a sequence flow must connect two elements of the same scope")
            return
        condition_node = node.find(f"{BPMN}conditionExpression")
        condition = None
        if condition_node is not None and (condition_node.text or "").strip():
            condition = self.expr(node, condition_node.text or "", expression=True)
        flow = SequenceFlow(id=node.get("id", ""), source=source, target=target, condition=condition)
        container.children[source].outgoing.append(flow)
        container.children[target].incoming.append(flow)

    def _element(self, node: ET.Element, kind: Kind, container: Element) -> Element:
        element = Element(id=node.get("id", ""), kind=kind, name=node.get("name", ""), parent=container)
        element.for_compensation = node.get("isForCompensation") == "true"
        extensions = node.find(f"{BPMN}extensionElements")
        ext = list(extensions) if extensions is not None else []
        element.inputs, element.outputs = io_mappings(self, node, ext)
        check_extensions(self, node, ext)
        if kind is Kind.BOUNDARY_EVENT:
            # Before the event definition, whose checks depend on it (a cycle needs a non-interrupting one).
            element.attached_to = node.get("attachedToRef")
            element.interrupting = node.get("cancelActivity", "true") != "false"
        if kind is Kind.START_EVENT and container.kind is Kind.EVENT_SUB_PROCESS:
            element.interrupting = node.get("isInterrupting", "true") != "false"
        event_definitions(self, node, element)
        check_event_kind(self, node, element)
        if kind is Kind.START_EVENT and element.event_type is EventType.NONE:
            if container.none_start is not None:
                self.fail(node, "Multiple none start events are not allowed")
            container.none_start = element
        if kind is Kind.RECEIVE_TASK:
            message_ref(self, node, element, node.get("messageRef"))
            if node.get("instantiate") == "true":
                self.fail(node, "an instantiating receive task is not supported (Camunda has none either)")
        if kind in _CHOOSING:
            element.default_flow = node.get("default")
        if kind is Kind.CALL_ACTIVITY:
            called_element(self, node, element, ext)
        if kind is Kind.AD_HOC_SUB_PROCESS:
            ad_hoc(self, node, element, ext)
        documentation = node.find(f"{BPMN}documentation")
        element.documentation = (documentation.text or "").strip() if documentation is not None else ""
        task(self, node, element, ext)
        execution_listeners(self, node, element, ext)
        return element


# What the README's coverage table is generated from (scripts/bpmn_coverage.py): the BPMN elements the
# parser reads, by tag, and those it accepts as carrying no behaviour.
ELEMENT_KINDS: Mapping[str, Kind] = _NODES
NO_BEHAVIOUR: frozenset[str] = frozenset(_IGNORED)
