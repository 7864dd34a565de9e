"""The values of the records the engine exports, shaped as Zeebe's exporters write them."""

from __future__ import annotations

import json
from typing import Any

from zeebe_celery.engine.state import ElementInstance, Incident, Job, Wait

__all__ = ["element_value", "incident_value", "job_value", "variable_value", "wait_value"]


def element_value(instance: ElementInstance) -> dict[str, Any]:
    element = instance.element
    parent = instance.parent
    definition = instance.definition
    caller = instance.root().caller
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


def job_value(job: Job) -> dict[str, Any]:
    instance = job.instance
    return {
        "type": job.type,
        "worker": job.worker,
        "retries": job.retries,
        "deadline": job.deadline,
        "errorMessage": job.error_message,
        "errorCode": job.error_code,
        "retryBackoff": job.retry_backoff,
        "jobKind": job.kind,
        "jobListenerEventType": job.listener_event_type,
        "customHeaders": json.loads(job.custom_headers),
        "elementId": instance.element.id,
        "elementInstanceKey": instance.key,
        "processInstanceKey": instance.process_instance_key,
        "bpmnProcessId": instance.definition.bpmn_process_id,
        "processDefinitionVersion": instance.definition.version,
        "processDefinitionKey": instance.definition.key,
        "tenantId": instance.tenant_id,
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
