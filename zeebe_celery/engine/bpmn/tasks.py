"""Parse rules of tasks: job definitions and headers, scripts, called decisions, and job-based user tasks."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from zeebe_celery.engine.bpmn.document import ZEEBE, Document, local
from zeebe_celery.engine.bpmn.usertasks import is_native, native_user_task
from zeebe_celery.engine.model import Element, EventType, Expr, Kind, TaskDefinition

__all__ = ["USER_TASK_JOB_TYPE", "task"]

USER_TASK_JOB_TYPE = "io.camunda.zeebe:userTask"


def task(doc: Document, node: ET.Element, element: Element, ext: list[ET.Element]) -> None:
    definition = next((e for e in ext if e.tag == f"{ZEEBE}taskDefinition"), None)
    headers = next((e for e in ext if e.tag == f"{ZEEBE}taskHeaders"), None)
    if headers is not None:
        element.headers = {h.get("key", ""): h.get("value", "") for h in headers}
    if definition is not None:
        element.task = TaskDefinition(
            type=doc.expr(node, definition.get("type", "")),
            retries=doc.expr(node, definition.get("retries", "3")),
        )
        if not definition.get("type"):
            doc.fail(node, "Must have a job type: zeebe:taskDefinition needs a 'type'")
    kind = element.kind
    if any(e.tag == f"{ZEEBE}taskListeners" for e in ext) and not (kind is Kind.USER_TASK and is_native(ext)):
        doc.fail(node, "Task listeners are only supported on native user tasks (zeebe:userTask)")
    if kind is Kind.USER_TASK and is_native(ext):
        native_user_task(doc, node, element, ext)
    elif kind is Kind.USER_TASK:
        _user_task(doc, node, element, ext)
    elif kind is Kind.SCRIPT_TASK and element.task is None:
        script = next((e for e in ext if e.tag == f"{ZEEBE}script"), None)
        if script is None:
            doc.fail(node, "Must have either one 'zeebe:script' or one 'zeebe:taskDefinition' extension element")
            return
        element.script = doc.expr(node, script.get("expression", ""), expression=True)
        element.result_variable = script.get("resultVariable") or None
        if element.result_variable is None:
            doc.fail(node, "zeebe:script needs a resultVariable")
    elif kind is Kind.BUSINESS_RULE_TASK and element.task is None:
        called = next((e for e in ext if e.tag == f"{ZEEBE}calledDecision"), None)
        if called is None:
            doc.fail(
                node, "Must have either one 'zeebe:calledDecision' or one 'zeebe:taskDefinition' extension element"
            )
            return
        element.decision_id = doc.expr(node, called.get("decisionId", ""))
        element.result_variable = called.get("resultVariable") or None
        if element.result_variable is None:
            doc.fail(node, "zeebe:calledDecision needs a resultVariable")
    elif kind in (Kind.SERVICE_TASK, Kind.SEND_TASK) and element.task is None:
        doc.fail(node, "Must have exactly one 'zeebe:taskDefinition' extension element")
    elif (
        kind in (Kind.INTERMEDIATE_THROW_EVENT, Kind.END_EVENT)
        and element.event_type is EventType.MESSAGE
        and element.task is None
    ):
        # Zeebe has a job worker send the message: the event is done as a service task is.
        doc.fail(node, "Must have exactly one 'zeebe:taskDefinition' extension element")


def _user_task(doc: Document, node: ET.Element, element: Element, ext: list[ET.Element]) -> None:
    # Job-based user tasks: a job of a fixed type whose headers carry the assignment and the form.
    element.task = TaskDefinition(type=Expr(USER_TASK_JOB_TYPE), retries=Expr("1"))
    headers = dict(element.headers)
    for e in ext:
        tag = local(e.tag)
        if tag == "assignmentDefinition":
            for attr, header in (
                ("assignee", "assignee"),
                ("candidateGroups", "candidateGroups"),
                ("candidateUsers", "candidateUsers"),
            ):
                if e.get(attr):
                    headers[f"io.camunda.zeebe:{header}"] = _list_header(e.get(attr, ""), header != "assignee")
        elif tag == "formDefinition":
            # A formKey is the user's own reference, passed on as it is; a formId links the latest
            # deployed form of that id, whose key the job's header gets when the job is created.
            if e.get("formKey"):
                headers["io.camunda.zeebe:formKey"] = e.get("formKey", "")
            elif e.get("formId"):
                element.form_id = doc.expr(node, e.get("formId", ""))
        elif tag == "taskSchedule":
            for attr in ("dueDate", "followUpDate"):
                if e.get(attr):
                    headers[f"io.camunda.zeebe:{attr}"] = e.get(attr, "")
    element.headers = headers


def _list_header(value: str, as_list: bool) -> str:
    if not as_list:
        return value
    items = [v.strip() for v in value.split(",") if v.strip()]
    return json.dumps(items)
