"""Parses the Zeebe subset of BPMN 2.0 into the executable model, and refuses what the engine cannot run.

A refusal names the resource, the element and its id, as Zeebe's deployment rejections do, so a user can
find the element in the Modeler. Nothing is run wrongly: an element kind, event definition or extension the
engine does not implement is a deploy-time error.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from zeebe_celery.engine import feel, timers
from zeebe_celery.engine.model import (
    Element,
    EventType,
    Expr,
    Kind,
    Mapping_,
    MessageRef,
    Process,
    SequenceFlow,
    TaskDefinition,
    TimerDef,
)

__all__ = ["BpmnError", "parse_bpmn"]

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
ZEEBE = "{http://camunda.org/schema/zeebe/1.0}"
USER_TASK_JOB_TYPE = "io.camunda.zeebe:userTask"

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
    "subProcess": Kind.SUB_PROCESS,
}
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
    "multiInstanceLoopCharacteristics",
}
_EVENT_DEFINITIONS = {
    "messageEventDefinition": EventType.MESSAGE,
    "timerEventDefinition": EventType.TIMER,
    "errorEventDefinition": EventType.ERROR,
    "signalEventDefinition": EventType.SIGNAL,
    "terminateEventDefinition": EventType.TERMINATE,
}
# Which event definitions each event kind runs; anything else is refused.
_ALLOWED_EVENTS = {
    Kind.START_EVENT: {EventType.NONE, EventType.MESSAGE},
    Kind.END_EVENT: {EventType.NONE, EventType.ERROR, EventType.TERMINATE},
    Kind.INTERMEDIATE_CATCH_EVENT: {EventType.MESSAGE, EventType.TIMER, EventType.SIGNAL},
    Kind.INTERMEDIATE_THROW_EVENT: {EventType.NONE},
    Kind.BOUNDARY_EVENT: {EventType.MESSAGE, EventType.TIMER, EventType.ERROR, EventType.SIGNAL},
}


class BpmnError(ValueError):
    """The resource is not BPMN the engine can run; the message says where and why."""


def parse_bpmn(data: bytes, *, resource_name: str) -> list[Process]:
    """Every executable process of the resource, in document order. Raises BpmnError."""
    try:
        root = ET.fromstring(data)  # noqa: S314 -- resources come from the engine's own users, on loopback
    except ET.ParseError as exc:
        raise BpmnError(f"'{resource_name}': the resource is not well-formed XML: {exc}") from exc
    if root.tag != f"{BPMN}definitions":
        raise BpmnError(f"'{resource_name}': expected a BPMN 2.0 <definitions> element, found <{_local(root.tag)}>")
    return _Parser(root, resource_name).processes()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _Parser:
    def __init__(self, root: ET.Element, resource_name: str) -> None:
        self.root = root
        self.resource = resource_name
        self.messages = {m.get("id", ""): m for m in root.iter(f"{BPMN}message")}
        self.errors = {e.get("id", ""): e for e in root.iter(f"{BPMN}error")}
        self.signals = {s.get("id", ""): s for s in root.iter(f"{BPMN}signal")}
        self.problems: list[str] = []

    def processes(self) -> list[Process]:
        found = [p for p in self.root.findall(f"{BPMN}process") if p.get("isExecutable", "false") == "true"]
        if not found:
            raise BpmnError(f"'{self.resource}': Must contain at least one executable process")
        result = [self._process(node) for node in found]
        if self.problems:
            raise BpmnError(f"'{self.resource}':\n" + "\n".join(self.problems))
        return result

    def fail(self, node: ET.Element, message: str) -> None:
        self.problems.append(f"- Element: {node.get('id', '?')} ({_local(node.tag)})\n    - ERROR: {message}")

    def _process(self, node: ET.Element) -> Process:
        process_id = node.get("id", "")
        root = Element(id=process_id, kind=Kind.PROCESS, name=node.get("name", ""))
        elements: dict[str, Element] = {}
        self._container(node, root, elements)
        process = Process(id=process_id, name=root.name, root=root, elements=elements)
        process.message_starts = [
            e for e in root.children.values() if e.kind is Kind.START_EVENT and e.event_type is EventType.MESSAGE
        ]
        if root.none_start is None and not process.message_starts:
            self.fail(node, "Must have at least one start event")
        return process

    def _container(self, node: ET.Element, container: Element, elements: dict[str, Element]) -> None:
        flows: list[ET.Element] = []
        for child in node:
            name = _local(child.tag)
            if not child.tag.startswith(BPMN):
                continue
            if name == "sequenceFlow":
                flows.append(child)
                continue
            if name in _IGNORED:
                if name == "multiInstanceLoopCharacteristics":
                    self.fail(node, "multi-instance activities are not supported by this engine")
                continue
            kind = _NODES.get(name)
            if kind is None:
                self.fail(child, f"the element <{name}> is not supported by this engine")
                continue
            element = self._element(child, kind, container)
            if element.id in elements:
                self.fail(child, f"the id '{element.id}' is used twice")
            elements[element.id] = element
            container.children[element.id] = element
            if kind is Kind.SUB_PROCESS:
                if child.get("triggeredByEvent") == "true":
                    self.fail(child, "event sub-processes are not supported by this engine")
                self._container(child, element, elements)
                if element.none_start is None:
                    self.fail(child, "an embedded sub-process must have exactly one none start event")
        for flow in flows:
            self._flow(flow, container)
        for element in container.children.values():
            if element.kind is Kind.BOUNDARY_EVENT:
                host = container.children.get(element.attached_to or "")
                if host is None:
                    self.problems.append(f"- Element: {element.id}\n    - ERROR: boundary event is not attached")
                else:
                    host.boundaries.append(element)
            if element.kind is Kind.EXCLUSIVE_GATEWAY and len(element.outgoing) > 1:
                for outgoing in element.outgoing:
                    if outgoing.condition is None and outgoing.id != element.default_flow:
                        self.problems.append(
                            f"- Element: {outgoing.id}\n    - ERROR: Must have a condition or be default flow"
                        )

    def _flow(self, node: ET.Element, container: Element) -> None:
        source, target = node.get("sourceRef", ""), node.get("targetRef", "")
        if source not in container.children or target not in container.children:
            self.fail(node, "a sequence flow must connect two elements of the same scope")
            return
        condition_node = node.find(f"{BPMN}conditionExpression")
        condition = None
        if condition_node is not None and (condition_node.text or "").strip():
            condition = self._expr(node, condition_node.text or "", expression=True)
        flow = SequenceFlow(id=node.get("id", ""), source=source, target=target, condition=condition)
        container.children[source].outgoing.append(flow)
        container.children[target].incoming.append(flow)

    def _element(self, node: ET.Element, kind: Kind, container: Element) -> Element:
        element = Element(id=node.get("id", ""), kind=kind, name=node.get("name", ""), parent=container)
        extensions = node.find(f"{BPMN}extensionElements")
        ext = list(extensions) if extensions is not None else []
        element.inputs, element.outputs = self._io(node, ext)
        if kind is Kind.BOUNDARY_EVENT:
            # Before the event definition, whose checks depend on it (a cycle needs a non-interrupting one).
            element.attached_to = node.get("attachedToRef")
            element.interrupting = node.get("cancelActivity", "true") != "false"
        # A sub-process's own children are checked by _container; a task's are only seen here.
        if kind is not Kind.SUB_PROCESS and node.find(f"{BPMN}multiInstanceLoopCharacteristics") is not None:
            self.fail(node, "multi-instance activities are not supported by this engine")
        definitions = [c for c in node if _local(c.tag) in _EVENT_DEFINITIONS and c.tag.startswith(BPMN)]
        others = [c for c in node if _local(c.tag).endswith("EventDefinition") and c not in definitions]
        for other in others:
            self.fail(node, f"<{_local(other.tag)}> is not supported by this engine")
        if len(definitions) > 1:
            self.fail(node, "an event with several event definitions is not supported by this engine")
        if definitions:
            element.event_type = _EVENT_DEFINITIONS[_local(definitions[0].tag)]
            self._event_definition(node, element, definitions[0])
        allowed = _ALLOWED_EVENTS.get(kind)
        if allowed is not None and element.event_type not in allowed:
            self.fail(
                node,
                f"a {kind.value.lower()} with a {element.event_type.value.lower()} event definition "
                "is not supported by this engine",
            )
        if kind is Kind.START_EVENT and element.event_type is EventType.NONE:
            if container.none_start is not None:
                self.fail(node, "Multiple none start events are not allowed")
            container.none_start = element
        if kind is Kind.BOUNDARY_EVENT and element.event_type is EventType.ERROR and not element.interrupting:
            self.fail(node, "an error boundary event must be interrupting")
        if kind is Kind.RECEIVE_TASK:
            self._message(node, element, node.get("messageRef"))
        if kind is Kind.EXCLUSIVE_GATEWAY:
            element.default_flow = node.get("default")
        self._task(node, element, ext)
        return element

    def _io(self, node: ET.Element, ext: list[ET.Element]) -> tuple[tuple[Mapping_, ...], tuple[Mapping_, ...]]:
        inputs: list[Mapping_] = []
        outputs: list[Mapping_] = []
        for io in (e for e in ext if e.tag == f"{ZEEBE}ioMapping"):
            for entry in io:
                target, source = entry.get("target", ""), entry.get("source", "")
                if not target:
                    self.fail(node, "an io mapping needs a target")
                    continue
                expr = self._expr(node, source) if source else Expr("=null", feel.compile_expression("null"))
                (inputs if entry.tag == f"{ZEEBE}input" else outputs).append(Mapping_(expr, target))
        return tuple(inputs), tuple(outputs)

    def _task(self, node: ET.Element, element: Element, ext: list[ET.Element]) -> None:
        definition = next((e for e in ext if e.tag == f"{ZEEBE}taskDefinition"), None)
        headers = next((e for e in ext if e.tag == f"{ZEEBE}taskHeaders"), None)
        if headers is not None:
            element.headers = {h.get("key", ""): h.get("value", "") for h in headers}
        if definition is not None:
            element.task = TaskDefinition(
                type=self._expr(node, definition.get("type", "")),
                retries=self._expr(node, definition.get("retries", "3")),
            )
            if not definition.get("type"):
                self.fail(node, "Must have a job type: zeebe:taskDefinition needs a 'type'")
        kind = element.kind
        if kind is Kind.USER_TASK:
            self._user_task(node, element, ext)
        elif kind is Kind.SCRIPT_TASK and element.task is None:
            script = next((e for e in ext if e.tag == f"{ZEEBE}script"), None)
            if script is None:
                self.fail(node, "Must have either one 'zeebe:script' or one 'zeebe:taskDefinition' extension element")
                return
            element.script = self._expr(node, script.get("expression", ""), expression=True)
            element.result_variable = script.get("resultVariable") or None
            if element.result_variable is None:
                self.fail(node, "zeebe:script needs a resultVariable")
        elif kind is Kind.BUSINESS_RULE_TASK and element.task is None:
            called = next((e for e in ext if e.tag == f"{ZEEBE}calledDecision"), None)
            if called is None:
                self.fail(
                    node, "Must have either one 'zeebe:calledDecision' or one 'zeebe:taskDefinition' extension element"
                )
                return
            element.decision_id = self._expr(node, called.get("decisionId", ""))
            element.result_variable = called.get("resultVariable") or None
            if element.result_variable is None:
                self.fail(node, "zeebe:calledDecision needs a resultVariable")
        elif kind in (Kind.SERVICE_TASK, Kind.SEND_TASK) and element.task is None:
            self.fail(node, "Must have exactly one 'zeebe:taskDefinition' extension element")

    def _user_task(self, node: ET.Element, element: Element, ext: list[ET.Element]) -> None:
        # Job-based user tasks: a job of a fixed type whose headers carry the assignment and the form.
        element.task = TaskDefinition(type=Expr(USER_TASK_JOB_TYPE), retries=Expr("1"))
        headers = dict(element.headers)
        for e in ext:
            tag = _local(e.tag)
            if tag == "assignmentDefinition":
                for attr, header in (
                    ("assignee", "assignee"),
                    ("candidateGroups", "candidateGroups"),
                    ("candidateUsers", "candidateUsers"),
                ):
                    if e.get(attr):
                        headers[f"io.camunda.zeebe:{header}"] = _list_header(e.get(attr, ""), header != "assignee")
            elif tag == "formDefinition":
                key = e.get("formKey") or e.get("formId")
                if key:
                    headers["io.camunda.zeebe:formKey"] = key
            elif tag == "taskSchedule":
                for attr in ("dueDate", "followUpDate"):
                    if e.get(attr):
                        headers[f"io.camunda.zeebe:{attr}"] = e.get(attr, "")
            elif tag == "userTask":
                self.fail(node, "Camunda user tasks (zeebe:userTask) are not supported; use job-based user tasks")
        element.headers = headers

    def _event_definition(self, node: ET.Element, element: Element, definition: ET.Element) -> None:
        kind = element.event_type
        if kind is EventType.MESSAGE:
            self._message(node, element, definition.get("messageRef"))
        elif kind is EventType.TIMER:
            parts = {_local(c.tag): (c.text or "").strip() for c in definition}
            timer = TimerDef(
                duration=self._expr(node, parts["timeDuration"]) if "timeDuration" in parts else None,
                date=self._expr(node, parts["timeDate"]) if "timeDate" in parts else None,
                cycle=self._expr(node, parts["timeCycle"]) if "timeCycle" in parts else None,
            )
            if sum(p is not None for p in (timer.duration, timer.date, timer.cycle)) != 1:
                self.fail(node, "a timer needs exactly one of timeDuration, timeDate and timeCycle")
            self._check_static_timer(node, timer)
            if timer.cycle is not None and element.interrupting and element.kind is Kind.BOUNDARY_EVENT:
                self.fail(node, "an interrupting timer boundary event cannot have a time cycle")
            if timer.cycle is not None and element.kind is not Kind.BOUNDARY_EVENT:
                self.fail(node, "a time cycle is only supported on non-interrupting boundary events")
            element.timer = timer
        elif kind is EventType.ERROR:
            ref = definition.get("errorRef")
            error = self.errors.get(ref or "")
            if ref and error is None:
                self.fail(node, f"the error '{ref}' is not defined")
            code = error.get("errorCode") if error is not None else None
            if element.kind is Kind.END_EVENT and not code:
                self.fail(node, "an error end event must reference an error with an errorCode")
            element.error_code = code or None
        elif kind is EventType.SIGNAL:
            signal = self.signals.get(definition.get("signalRef") or "")
            if signal is None or not signal.get("name"):
                self.fail(node, "a signal event must reference a signal with a name")
            else:
                element.signal = self._expr(node, signal.get("name", ""))

    def _check_static_timer(self, node: ET.Element, timer: TimerDef) -> None:
        """A literal timer value the engine cannot read is refused now, not at run time (FEEL ones can only
        be known then)."""
        checks = ((timer.duration, timers.duration_ms), (timer.date, timers.due_at), (timer.cycle, timers.cycle))
        for expr, parse in checks:
            if expr is not None and expr.is_static:
                try:
                    parse(expr.source)
                except timers.TimerSyntaxError as exc:
                    self.fail(node, f"{exc} (cron expressions and R/start/duration cycles are not supported)")

    def _message(self, node: ET.Element, element: Element, ref: str | None) -> None:
        message = self.messages.get(ref or "")
        if message is None or not message.get("name"):
            self.fail(node, "Must reference a message with a name")
            return
        subscription = message.find(f"{BPMN}extensionElements/{ZEEBE}subscription")
        key = subscription.get("correlationKey") if subscription is not None else None
        needs_key = element.kind is not Kind.START_EVENT
        if needs_key and not key:
            self.fail(node, "Must have a correlation key: zeebe:subscription correlationKey on the message")
        element.message = MessageRef(
            name=self._expr(node, message.get("name", "")),
            correlation_key=self._expr(node, key) if key else None,
        )

    def _expr(self, node: ET.Element, text: str, *, expression: bool = False) -> Expr:
        """``expression``: the text is always FEEL (conditions, scripts), with or without the leading ``=``."""
        source = text.strip()
        if expression and not source.startswith("="):
            source = "=" + source
        try:
            return Expr.parse(source)
        except feel.FeelError as exc:
            self.fail(node, f"failed to parse expression '{source}': {exc}")
            return Expr(source)


def _list_header(value: str, as_list: bool) -> str:
    if not as_list:
        return value
    items = [v.strip() for v in value.split(",") if v.strip()]
    return json.dumps(items)
