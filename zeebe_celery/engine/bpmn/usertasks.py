"""Parse rules of native user tasks (``zeebe:userTask``): assignment, schedule, priority, the form link and
task listeners. Job-based user tasks (without ``zeebe:userTask``) are :mod:`.tasks`'."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET

from zeebe_celery.engine.bpmn.document import ZEEBE, Document, local
from zeebe_celery.engine.model import Element, Expr, TaskListener, UserTaskDef

__all__ = ["is_native", "native_user_task"]

# Zeebe's task listener event types, with the names 8.6 and 8.7 used before they were renamed.
_EVENT_TYPES = {
    "creating": "creating",
    "create": "creating",
    "assigning": "assigning",
    "assignment": "assigning",
    "updating": "updating",
    "update": "updating",
    "completing": "completing",
    "complete": "completing",
    "canceling": "canceling",
    "cancel": "canceling",
}


def is_native(ext: list[ET.Element]) -> bool:
    return any(e.tag == f"{ZEEBE}userTask" for e in ext)


def native_user_task(doc: Document, node: ET.Element, element: Element, ext: list[ET.Element]) -> None:
    fields: dict[str, Expr | None] = {}
    for e in ext:
        tag = local(e.tag)
        if tag == "assignmentDefinition":
            for attr, name in (
                ("assignee", "assignee"),
                ("candidateGroups", "candidate_groups"),
                ("candidateUsers", "candidate_users"),
            ):
                if e.get(attr):
                    fields[name] = doc.expr(node, e.get(attr, ""))
        elif tag == "taskSchedule":
            for attr, name in (("dueDate", "due_date"), ("followUpDate", "follow_up_date")):
                if e.get(attr):
                    fields[name] = _date(doc, node, attr, e.get(attr, ""))
        elif tag == "priorityDefinition" and e.get("priority"):
            fields["priority"] = _priority(doc, node, e.get("priority", ""))
        elif tag == "formDefinition":
            _form(doc, node, e, fields)
    element.user_task = UserTaskDef(
        assignee=fields.get("assignee"),
        candidate_groups=fields.get("candidate_groups"),
        candidate_users=fields.get("candidate_users"),
        due_date=fields.get("due_date"),
        follow_up_date=fields.get("follow_up_date"),
        priority=fields.get("priority"),
        external_reference=fields.get("external_reference"),
        form_id=fields.get("form_id"),
        listeners=_listeners(doc, node, ext),
    )


def _date(doc: Document, node: ET.Element, attr: str, text: str) -> Expr:
    expr = doc.expr(node, text)
    if expr.is_static:
        try:
            parsed = datetime.datetime.fromisoformat(text.strip())
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            doc.fail(node, f"Expected a valid date-time with an offset or zone for '{attr}', but found '{text}'")
    return expr


def _priority(doc: Document, node: ET.Element, text: str) -> Expr:
    expr = doc.expr(node, text)
    if expr.is_static and not (text.strip().isdigit() and 0 <= int(text.strip()) <= 100):
        doc.fail(node, f"Priority must be a number between 0 and 100, but was '{text}'")
    return expr


def _form(doc: Document, node: ET.Element, form: ET.Element, fields: dict[str, Expr | None]) -> None:
    if form.get("externalReference"):
        fields["external_reference"] = doc.expr(node, form.get("externalReference", ""))
    elif form.get("formId"):
        # The latest deployed form of that id, whose key the task gets when it is created.
        fields["form_id"] = doc.expr(node, form.get("formId", ""))
        if form.get("bindingType", "latest") != "latest":
            doc.fail(node, "a linked form is bound to its latest version by this engine ('bindingType' latest)")
    elif form.get("formKey"):
        doc.fail(node, "a native user task links its form by 'formId' or 'externalReference', not 'formKey'")


def _listeners(doc: Document, node: ET.Element, ext: list[ET.Element]) -> tuple[TaskListener, ...]:
    listeners: list[TaskListener] = []
    for group in (e for e in ext if e.tag == f"{ZEEBE}taskListeners"):
        for listener in group:
            event_type = _EVENT_TYPES.get(listener.get("eventType", ""))
            if event_type is None:
                doc.fail(node, f"a task listener needs an eventType of {sorted(set(_EVENT_TYPES.values()))}")
                continue
            if event_type == "canceling":
                # Zeebe holds the element's termination until they complete; this engine ends an element at
                # once, so it would run the model wrongly.
                doc.fail(node, "canceling task listeners are not supported by this engine")
                continue
            if not listener.get("type"):
                doc.fail(node, "a task listener needs a job 'type'")
                continue
            listeners.append(
                TaskListener(
                    event_type=event_type,
                    type=doc.expr(node, listener.get("type", "")),
                    retries=doc.expr(node, listener.get("retries", "3")),
                )
            )
    return tuple(listeners)
