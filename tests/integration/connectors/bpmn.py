"""BPMN for the connector tests, built the way the Modeler builds it from an element template's bindings."""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import quoteattr

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs" targetNamespace="http://zeebe-celery.test">\n'
)


def _source(prop: dict[str, Any], value: Any) -> str:
    """What the Modeler writes as the input mapping's source for a property of this type."""
    if prop["type"] in ("Number", "Boolean"):
        return "=" + json.dumps(value)
    if prop.get("feel") == "required" and not str(value).startswith("="):
        return "=" + json.dumps(value)
    return str(value)


def task_from_template(template: dict[str, Any], values: dict[str, Any], *, element_id: str = "task") -> str:
    """A service task with the template's bindings filled with ``values`` (by property id), as the Modeler does."""
    job_type = ""
    inputs: list[str] = []
    headers: list[str] = []
    for prop in template["properties"]:
        binding = prop["binding"]
        if binding["type"] == "zeebe:taskDefinition":
            job_type = prop["value"]
            continue
        value = values.get(prop.get("id", ""), prop.get("value"))
        if value is None:
            continue
        if binding["type"] == "zeebe:input":
            inputs.append(
                f"<zeebe:input source={quoteattr(_source(prop, value))} target={quoteattr(binding['name'])} />"
            )
        elif binding["type"] == "zeebe:taskHeader":
            headers.append(f"<zeebe:header key={quoteattr(binding['key'])} value={quoteattr(str(value))} />")
    return (
        f'<bpmn:serviceTask id="{element_id}" name={quoteattr(template["name"])}>'
        "<bpmn:extensionElements>"
        f'<zeebe:taskDefinition type={quoteattr(job_type)} retries="3" />'
        + (f"<zeebe:ioMapping>{''.join(inputs)}</zeebe:ioMapping>" if inputs else "")
        + (f"<zeebe:taskHeaders>{''.join(headers)}</zeebe:taskHeaders>" if headers else "")
        + "</bpmn:extensionElements>"
        + "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>"
    )


def one_task_process(process_id: str, task_xml: str) -> bytes:
    return (
        HEAD + f'<bpmn:process id="{process_id}" isExecutable="true">'
        '<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        + task_xml
        + '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task" />'
        '<bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" />'
        "</bpmn:process></bpmn:definitions>\n"
    ).encode()


def service_task(job_type: str, *, inputs: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> str:
    """A service task of ``job_type`` with input mappings (target -> FEEL source) and headers."""
    io = "".join(f"<zeebe:input source={quoteattr(s)} target={quoteattr(t)} />" for t, s in (inputs or {}).items())
    hs = "".join(f"<zeebe:header key={quoteattr(k)} value={quoteattr(v)} />" for k, v in (headers or {}).items())
    return (
        '<bpmn:serviceTask id="task"><bpmn:extensionElements>'
        f'<zeebe:taskDefinition type={quoteattr(job_type)} retries="3" />'
        + (f"<zeebe:ioMapping>{io}</zeebe:ioMapping>" if io else "")
        + (f"<zeebe:taskHeaders>{hs}</zeebe:taskHeaders>" if hs else "")
        + "</bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming>"
        + "<bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>"
    )


def inbound_process(process_id: str, *, connector: str, message_name: str) -> bytes:
    """Activate ``connector`` for ``=key``, then wait for ``message_name`` correlated on ``key``: the seed's shape."""
    return (
        HEAD + f'<bpmn:message id="msg" name={quoteattr(message_name)}><bpmn:extensionElements>'
        '<zeebe:subscription correlationKey="=key" /></bpmn:extensionElements></bpmn:message>'
        f'<bpmn:process id="{process_id}" isExecutable="true">'
        '<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:serviceTask id="activate"><bpmn:extensionElements>'
        '<zeebe:taskDefinition type="_activate_inbound_connector" retries="3" />'
        '<zeebe:ioMapping><zeebe:input source="=key" target="correlation_key" /></zeebe:ioMapping>'
        f'<zeebe:taskHeaders><zeebe:header key="name" value={quoteattr(connector)} />'
        f'<zeebe:header key="message_name" value={quoteattr(message_name)} /></zeebe:taskHeaders>'
        "</bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>"
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>'
        '<bpmn:messageEventDefinition messageRef="msg" /></bpmn:intermediateCatchEvent>'
        '<bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="activate" />'
        '<bpmn:sequenceFlow id="f2" sourceRef="activate" targetRef="wait" />'
        '<bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="end" />'
        "</bpmn:process></bpmn:definitions>\n"
    ).encode()
