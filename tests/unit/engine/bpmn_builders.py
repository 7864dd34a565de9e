"""A tiny builder for the BPMN the engine tests deploy: each function returns an XML fragment, and
:func:`process` wraps fragments into a complete ``<definitions>`` document.

Messages, errors and signals are declared by :func:`process` from its keyword arguments; events refer to
them by name (``msg-<name>``, ``err-<code>``, ``sig-<name>``), so a test reads as the diagram it draws.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import pairwise

from tests.unit.engine.bpmn_xml import (
    _attr,
    _escape,
    _extensions,
    _optional_attrs,
    definition,
    event,
    io_mapping,
    timer_definition,
)

__all__ = [
    "ad_hoc_sub_process",
    "boundary",
    "call_activity",
    "definition",
    "end_event",
    "error_end",
    "escalation_end",
    "escalation_throw",
    "event",
    "event_start",
    "event_sub_process",
    "exclusive_gateway",
    "flow",
    "flows",
    "io_mapping",
    "listeners",
    "message_catch",
    "message_start",
    "multi_instance",
    "native_user_task",
    "parallel_gateway",
    "process",
    "receive_task",
    "script_task",
    "service_task",
    "signal_catch",
    "start_event",
    "sub_process",
    "terminate_end",
    "timer_catch",
    "timer_definition",
    "user_task",
]

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs" targetNamespace="http://example.com/tests">\n'
)


def process(
    process_id: str,
    *body: str,
    messages: Mapping[str, str] | None = None,
    errors: Iterable[str] = (),
    signals: Iterable[str] = (),
    executable: bool = True,
    version_tag: str | None = None,
    escalations: Iterable[str] = (),
) -> bytes:
    """A document with one process; ``messages`` maps each message name to its correlation key (or '')."""
    parts = [_HEAD]
    for name, key in (messages or {}).items():
        subscription = (
            f"<bpmn:extensionElements><zeebe:subscription correlationKey={_attr(key)}/></bpmn:extensionElements>"
            if key
            else ""
        )
        parts.append(f"<bpmn:message id={_attr('msg-' + name)} name={_attr(name)}>{subscription}</bpmn:message>\n")
    for code in errors:
        parts.append(f"<bpmn:error id={_attr('err-' + code)} name={_attr(code)} errorCode={_attr(code)}/>\n")
    for name in signals:
        parts.append(f"<bpmn:signal id={_attr('sig-' + name)} name={_attr(name)}/>\n")
    for code in escalations:
        parts.append(f"<bpmn:escalation id={_attr('esc-' + code)} name={_attr(code)} escalationCode={_attr(code)}/>\n")
    flag = "true" if executable else "false"
    parts.append(f'<bpmn:process id={_attr(process_id)} isExecutable="{flag}">\n')
    if version_tag is not None:
        parts.append(_extensions(f"<zeebe:versionTag value={_attr(version_tag)}/>") + "\n")
    parts.extend(f"{fragment}\n" for fragment in body)
    parts.append("</bpmn:process>\n</bpmn:definitions>\n")
    return "".join(parts).encode()


def flow(source: str, target: str, *, condition: str | None = None, flow_id: str | None = None) -> str:
    """A sequence flow; ``condition`` is a FEEL expression (with its leading ``=``)."""
    ident = flow_id or f"{source}-{target}"
    if condition is None:
        return f"<bpmn:sequenceFlow id={_attr(ident)} sourceRef={_attr(source)} targetRef={_attr(target)}/>"
    return (
        f"<bpmn:sequenceFlow id={_attr(ident)} sourceRef={_attr(source)} targetRef={_attr(target)}>"
        f"<bpmn:conditionExpression>{_escape(condition)}</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )


def flows(*ids: str) -> str:
    """Sequence flows chaining the elements in order: ``flows("a", "b", "c")`` is a→b and b→c."""
    return "\n".join(flow(a, b) for a, b in pairwise(ids))


def start_event(element_id: str = "start") -> str:
    return f"<bpmn:startEvent id={_attr(element_id)}/>"


def message_start(element_id: str, message: str) -> str:
    return event("startEvent", element_id, definition("message", message))


def end_event(element_id: str = "end") -> str:
    return f"<bpmn:endEvent id={_attr(element_id)}/>"


def terminate_end(element_id: str) -> str:
    return event("endEvent", element_id, "<bpmn:terminateEventDefinition/>")


def error_end(element_id: str, code: str) -> str:
    return event("endEvent", element_id, definition("error", code))


def service_task(
    element_id: str,
    job_type: str,
    *,
    retries: str = "3",
    headers: Mapping[str, str] | None = None,
    inputs: Mapping[str, str] | None = None,
    outputs: Mapping[str, str] | None = None,
    tag: str = "serviceTask",
) -> str:
    header_xml = ""
    if headers:
        items = "".join(f"<zeebe:header key={_attr(k)} value={_attr(v)}/>" for k, v in headers.items())
        header_xml = f"<zeebe:taskHeaders>{items}</zeebe:taskHeaders>"
    ext = _extensions(
        f"<zeebe:taskDefinition type={_attr(job_type)} retries={_attr(retries)}/>",
        header_xml,
        io_mapping(inputs, outputs),
    )
    return f"<bpmn:{tag} id={_attr(element_id)}>{ext}</bpmn:{tag}>"


def user_task(
    element_id: str,
    *,
    assignee: str | None = None,
    candidate_groups: str | None = None,
    form_key: str | None = None,
) -> str:
    attrs = _optional_attrs(("assignee", assignee), ("candidateGroups", candidate_groups))
    assignment = f"<zeebe:assignmentDefinition{attrs}/>" if attrs else ""
    form = f"<zeebe:formDefinition formKey={_attr(form_key)}/>" if form_key is not None else ""
    return f"<bpmn:userTask id={_attr(element_id)}>{_extensions(assignment, form)}</bpmn:userTask>"


def native_user_task(
    element_id: str,
    *,
    assignee: str | None = None,
    candidate_groups: str | None = None,
    candidate_users: str | None = None,
    due_date: str | None = None,
    follow_up_date: str | None = None,
    priority: str | None = None,
    external_reference: str | None = None,
    listeners: Iterable[tuple[str, str]] = (),
    outputs: Mapping[str, str] | None = None,
) -> str:
    """A ``zeebe:userTask``; ``listeners`` are (eventType, job type) pairs in order."""
    assignment = _optional_attrs(
        ("assignee", assignee), ("candidateGroups", candidate_groups), ("candidateUsers", candidate_users)
    )
    schedule = "".join(
        f" {name}={_attr(value)}" for name, value in (("dueDate", due_date), ("followUpDate", follow_up_date)) if value
    )
    listener_xml = "".join(
        f"<zeebe:taskListener eventType={_attr(event)} type={_attr(kind)}/>" for event, kind in listeners
    )
    ext = _extensions(
        "<zeebe:userTask/>",
        f"<zeebe:assignmentDefinition{assignment}/>" if assignment else "",
        f"<zeebe:taskSchedule{schedule}/>" if schedule else "",
        f"<zeebe:priorityDefinition priority={_attr(priority)}/>" if priority is not None else "",
        f"<zeebe:formDefinition externalReference={_attr(external_reference)}/>" if external_reference else "",
        f"<zeebe:taskListeners>{listener_xml}</zeebe:taskListeners>" if listener_xml else "",
        io_mapping(None, outputs),
    )
    return f"<bpmn:userTask id={_attr(element_id)}>{ext}</bpmn:userTask>"


def script_task(element_id: str, expression: str, result: str) -> str:
    ext = _extensions(f"<zeebe:script expression={_attr(expression)} resultVariable={_attr(result)}/>")
    return f"<bpmn:scriptTask id={_attr(element_id)}>{ext}</bpmn:scriptTask>"


def message_catch(element_id: str, message: str, *, outputs: Mapping[str, str] | None = None) -> str:
    return event(
        "intermediateCatchEvent", element_id, _extensions(io_mapping(None, outputs)), definition("message", message)
    )


def receive_task(element_id: str, message: str) -> str:
    return f"<bpmn:receiveTask id={_attr(element_id)} messageRef={_attr('msg-' + message)}/>"


def timer_catch(element_id: str, *, duration: str | None = None, date: str | None = None) -> str:
    return event("intermediateCatchEvent", element_id, timer_definition(duration=duration, date=date))


def signal_catch(element_id: str, signal: str) -> str:
    return event("intermediateCatchEvent", element_id, definition("signal", signal))


def _one_definition(
    *,
    message: str | None,
    error: str | None,
    catch_all_errors: bool,
    duration: str | None,
    cycle: str | None,
    signal: str | None,
    escalation: str | None,
    catch_all_escalations: bool,
) -> str:
    """The one event definition a boundary event or an event sub-process's start event is given."""
    given = (
        [kind for kind, name in (("message", message), ("signal", signal), ("error", error)) if name is not None]
        + ["escalation"] * (escalation is not None)
        + ["any error"] * catch_all_errors
        + ["any escalation"] * catch_all_escalations
        + ["timer"] * (duration is not None or cycle is not None)
    )
    if len(given) > 1:
        raise ValueError(f"one event definition, not {given}")
    if message is not None:
        return definition("message", message)
    if signal is not None:
        return definition("signal", signal)
    if error is not None or catch_all_errors:
        return definition("error", error)
    if escalation is not None or catch_all_escalations:
        return definition("escalation", escalation)
    return timer_definition(duration=duration, cycle=cycle)


def boundary(
    element_id: str,
    attached_to: str,
    *,
    message: str | None = None,
    error: str | None = None,
    catch_all_errors: bool = False,
    duration: str | None = None,
    cycle: str | None = None,
    signal: str | None = None,
    interrupting: bool = True,
    escalation: str | None = None,
    catch_all_escalations: bool = False,
) -> str:
    """A boundary event with one event definition: message, error (by code, or any), timer, signal or
    escalation (by code, or any)."""
    one = _one_definition(
        message=message,
        error=error,
        catch_all_errors=catch_all_errors,
        duration=duration,
        cycle=cycle,
        signal=signal,
        escalation=escalation,
        catch_all_escalations=catch_all_escalations,
    )
    cancel = "" if interrupting else ' cancelActivity="false"'
    return event("boundaryEvent", element_id, one, attrs=f" attachedToRef={_attr(attached_to)}{cancel}")


def exclusive_gateway(element_id: str, *, default: str | None = None) -> str:
    default_attr = f" default={_attr(default)}" if default else ""
    return f"<bpmn:exclusiveGateway id={_attr(element_id)}{default_attr}/>"


def parallel_gateway(element_id: str) -> str:
    return f"<bpmn:parallelGateway id={_attr(element_id)}/>"


def sub_process(
    element_id: str,
    *body: str,
    inputs: Mapping[str, str] | None = None,
    outputs: Mapping[str, str] | None = None,
) -> str:
    inner = "\n".join(body)
    return (
        f"<bpmn:subProcess id={_attr(element_id)}>{_extensions(io_mapping(inputs, outputs))}\n"
        f"{inner}\n</bpmn:subProcess>"
    )


def call_activity(
    element_id: str,
    process_id: str,
    *,
    inputs: Mapping[str, str] | None = None,
    outputs: Mapping[str, str] | None = None,
    propagate_child: bool | None = None,
    propagate_parent: bool | None = None,
    binding: str | None = None,
    version_tag: str | None = None,
) -> str:
    attrs = f"processId={_attr(process_id)}" + _optional_attrs(
        ("propagateAllChildVariables", None if propagate_child is None else str(propagate_child).lower()),
        ("propagateAllParentVariables", None if propagate_parent is None else str(propagate_parent).lower()),
        ("bindingType", binding),
        ("versionTag", version_tag),
    )
    ext = _extensions(f"<zeebe:calledElement {attrs}/>", io_mapping(inputs, outputs))
    return f"<bpmn:callActivity id={_attr(element_id)}>{ext}</bpmn:callActivity>"


def multi_instance(
    fragment: str,
    collection: str,
    *,
    element: str | None = None,
    output: str | None = None,
    output_element: str | None = None,
    sequential: bool = False,
    completion: str | None = None,
) -> str:
    """``fragment`` (an activity) made multi-instance over ``collection``."""
    attrs = f"inputCollection={_attr(collection)}" + _optional_attrs(
        ("inputElement", element), ("outputCollection", output), ("outputElement", output_element)
    )
    condition = f"<bpmn:completionCondition>{_escape(completion)}</bpmn:completionCondition>" if completion else ""
    marker = (
        f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}">'
        f"{_extensions(f'<zeebe:loopCharacteristics {attrs}/>')}{condition}"
        "</bpmn:multiInstanceLoopCharacteristics>"
    )
    closing = fragment.rindex("</")
    if fragment.endswith("/>") and closing < fragment.rindex("/>") - 1 and not fragment.rstrip().endswith(">"):
        raise ValueError("fragment must have a closing tag")
    return fragment[:closing] + marker + fragment[closing:]


def event_start(
    element_id: str,
    *,
    message: str | None = None,
    duration: str | None = None,
    cycle: str | None = None,
    signal: str | None = None,
    error: str | None = None,
    catch_all_errors: bool = False,
    escalation: str | None = None,
    catch_all_escalations: bool = False,
    interrupting: bool = True,
) -> str:
    """The start event of an event sub-process, with one event definition."""
    one = _one_definition(
        message=message,
        error=error,
        catch_all_errors=catch_all_errors,
        duration=duration,
        cycle=cycle,
        signal=signal,
        escalation=escalation,
        catch_all_escalations=catch_all_escalations,
    )
    return event("startEvent", element_id, one, attrs="" if interrupting else ' isInterrupting="false"')


def event_sub_process(element_id: str, *body: str) -> str:
    inner = "\n".join(body)
    return f'<bpmn:subProcess id={_attr(element_id)} triggeredByEvent="true">\n{inner}\n</bpmn:subProcess>'


def escalation_throw(element_id: str, code: str) -> str:
    return event("intermediateThrowEvent", element_id, definition("escalation", code))


def escalation_end(element_id: str, code: str) -> str:
    return event("endEvent", element_id, definition("escalation", code))


def listeners(fragment: str, *pairs: tuple[str, str], retries: str = "3") -> str:
    """``fragment`` with execution listeners: (event type, job type) pairs, in order."""
    entries = "".join(
        f"<zeebe:executionListener eventType={_attr(event)} type={_attr(job_type)} retries={_attr(retries)}/>"
        for event, job_type in pairs
    )
    block = f"<zeebe:executionListeners>{entries}</zeebe:executionListeners>"
    if "<bpmn:extensionElements>" in fragment:
        return fragment.replace("<bpmn:extensionElements>", f"<bpmn:extensionElements>{block}", 1)
    tag_end = fragment.index(">")
    if fragment[tag_end - 1] == "/":
        head = fragment[: tag_end - 1]
        name = head.split()[0][1:]
        return f"{head}><bpmn:extensionElements>{block}</bpmn:extensionElements></{name}>"
    return (
        fragment[: tag_end + 1] + f"<bpmn:extensionElements>{block}</bpmn:extensionElements>" + fragment[tag_end + 1 :]
    )


def ad_hoc_sub_process(
    element_id: str,
    *body: str,
    active: str | None = None,
    completion: str | None = None,
    cancel_remaining: bool | None = None,
    output: str | None = None,
    output_element: str | None = None,
    job_type: str | None = None,
) -> str:
    attrs = _optional_attrs(
        ("activeElementsCollection", active), ("outputCollection", output), ("outputElement", output_element)
    )
    task = f"<zeebe:taskDefinition type={_attr(job_type)}/>" if job_type else ""
    ext = _extensions(f"<zeebe:adHoc{attrs}/>" if attrs else "", task)
    cancel = "" if cancel_remaining is None else f' cancelRemainingInstances="{str(cancel_remaining).lower()}"'
    condition = f"<bpmn:completionCondition>{_escape(completion)}</bpmn:completionCondition>" if completion else ""
    inner = "\n".join(body)
    return f"<bpmn:adHocSubProcess id={_attr(element_id)}{cancel}>{ext}\n{inner}\n{condition}</bpmn:adHocSubProcess>"
