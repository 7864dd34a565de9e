"""The values of the records the engine exports, shaped as Zeebe's exporters write them."""

from __future__ import annotations

import json
from typing import Any

from zeebe_celery.engine.model import Element, SequenceFlow
from zeebe_celery.engine.state import Definition, ElementInstance, Incident, Job, UserTask, Wait

__all__ = [
    "element_value",
    "incident_value",
    "job_value",
    "sequence_flow_value",
    "user_task_value",
    "variable_value",
    "wait_value",
]


def element_value(instance: ElementInstance, element: Element, definition: Definition) -> dict[str, Any]:
    """An element instance record's value, deferred as ``(element_value, instance, instance.element,
    instance.definition)``: the element and definition are taken when written, since a migration changes
    them; nothing else it reads ever changes."""
    parent = instance.parent
    root = instance.root()
    caller = root.caller
    return {
        # The enum members are strings already: no .value on the hot path.
        "bpmnElementType": element.kind,
        "elementId": element.id,
        "bpmnProcessId": definition.bpmn_process_id,
        "version": definition.version,
        "processDefinitionKey": definition.key,
        "processInstanceKey": instance.process_instance_key,
        "flowScopeKey": parent.key if parent is not None else -1,
        "bpmnEventType": element.event_type,
        "parentProcessInstanceKey": caller.process_instance_key if caller is not None else -1,
        "parentElementInstanceKey": caller.key if caller is not None else -1,
        "tenantId": definition.tenant_id,
        "tags": list(root.tags),
        "businessId": root.business_id,
    }


def sequence_flow_value(flow: SequenceFlow, scope: ElementInstance, definition: Definition) -> dict[str, Any]:
    return {
        "bpmnElementType": "SEQUENCE_FLOW",
        "elementId": flow.id,
        "bpmnProcessId": definition.bpmn_process_id,
        "processInstanceKey": scope.process_instance_key,
        "flowScopeKey": scope.key,
        "tenantId": definition.tenant_id,
    }


def variable_value(origin: ElementInstance, scope: ElementInstance, name: str, value: Any) -> dict[str, Any]:
    return {
        "name": name,
        "value": json.dumps(value),
        "scopeKey": scope.key,
        "processInstanceKey": origin.process_instance_key,
        "processDefinitionKey": origin.definition.key,
        "bpmnProcessId": origin.definition.bpmn_process_id,
        "tenantId": origin.tenant_id,
    }


def job_value(job: Job) -> tuple[Any, ...]:
    """A job record's value, made when read from what it is now (its worker, retries, deadline and errors
    change later; a migration changes its element and definition)."""
    instance = job.instance
    return (
        _job_value,
        job,
        job.worker,
        job.retries,
        job.deadline,
        job.error_message,
        job.error_code,
        job.retry_backoff,
        instance.element,
        instance.definition,
    )


def _job_value(
    job: Job,
    worker: str,
    retries: int,
    deadline: int,
    error_message: str,
    error_code: str,
    retry_backoff: int,
    element: Element,
    definition: Definition,
) -> dict[str, Any]:
    instance = job.instance
    return {
        "type": job.type,
        "worker": worker,
        "retries": retries,
        "deadline": deadline,
        "errorMessage": error_message,
        "errorCode": error_code,
        "retryBackoff": retry_backoff,
        "jobKind": job.kind,
        "jobListenerEventType": job.listener_event_type,
        "customHeaders": json.loads(job.custom_headers),
        **_task_place(instance, element, definition),
    }


def _task_place(instance: ElementInstance, element: Element, definition: Definition) -> dict[str, Any]:
    """The fields a job's and a user task's values end with: the element, its instance and process, the tags."""
    return {
        "elementId": element.id,
        "elementInstanceKey": instance.key,
        "processInstanceKey": instance.process_instance_key,
        "bpmnProcessId": definition.bpmn_process_id,
        "processDefinitionVersion": definition.version,
        "processDefinitionKey": definition.key,
        "tenantId": definition.tenant_id,
        "tags": list(instance.root().tags),
    }


def user_task_value(
    task: UserTask,
    *,
    values: dict[str, Any] | None = None,
    changed: tuple[str, ...] = (),
    action: str = "",
    variables: dict[str, Any] | None = None,
    denied_reason: str = "",
) -> dict[str, Any]:
    """A USER_TASK record's value: the task with ``values`` (default: its own) as they stand in this record."""
    instance = task.instance
    definition = instance.definition
    shown = task.values if values is None else values
    return {
        "userTaskKey": task.key,
        "assignee": shown.get("assignee", ""),
        "candidateGroupsList": list(shown.get("candidateGroupsList", [])),
        "candidateUsersList": list(shown.get("candidateUsersList", [])),
        "dueDate": shown.get("dueDate", ""),
        "followUpDate": shown.get("followUpDate", ""),
        "priority": shown.get("priority", 50),
        "formKey": task.form_key,
        "externalFormReference": task.external_form_reference,
        "changedAttributes": sorted(changed),
        "action": action,
        "variables": dict(variables or {}),
        "deniedReason": denied_reason,
        "customHeaders": dict(instance.element.headers),
        "creationTimestamp": task.creation_timestamp,
        **_task_place(instance, instance.element, definition),
    }


def wait_value(wait: Wait) -> dict[str, Any]:
    instance = wait.instance
    return {
        "elementId": wait.element.id,
        "elementInstanceKey": instance.key,
        "name": wait.name,
        "messageName": wait.name,
        "correlationKey": wait.correlation_key,
        "dueDate": wait.due,
        "processInstanceKey": instance.process_instance_key,
        "bpmnProcessId": instance.definition.bpmn_process_id,
        "tenantId": instance.tenant_id,
    }


def incident_value(incident: Incident) -> dict[str, Any]:
    instance = incident.instance
    return {
        "errorType": incident.error_type,
        "errorMessage": incident.error_message,
        "bpmnProcessId": instance.definition.bpmn_process_id,
        "processDefinitionKey": instance.definition.key,
        "processInstanceKey": instance.process_instance_key,
        "elementId": instance.element.id,
        "elementInstanceKey": instance.key,
        "jobKey": incident.job.key if incident.job is not None else -1,
        "variableScopeKey": instance.key,
        "tenantId": instance.tenant_id,
    }
