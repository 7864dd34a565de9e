"""What the store writes: a process instance as one JSON tree (its element instances, jobs, waits and
incidents) and a buffered message, as plain values."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine.state import ElementInstance, Message, Wait
from zeebe_celery.engine.usertask_rows import user_task_row

__all__ = ["instance_tree", "message_row", "wait_row"]


def instance_tree(instance: ElementInstance, waits: dict[int, Wait]) -> dict[str, Any]:
    job = instance.job
    incident = instance.incident
    return {
        "key": instance.key,
        "definition": instance.definition.key,
        "element": instance.element.id,
        "state": instance.state.value,
        "variables": instance.variables,
        "joins": {k: dict(v) for k, v in instance.joins.items()},
        "start_key": instance.start_key,
        "caller": instance.caller.key if instance.caller is not None else None,
        "start_at": list(instance.start_at),
        "listener_index": instance.listener_index,
        "listener_variables": instance.listener_variables,
        "fulfilled": instance.fulfilled,
        "compensable": list(instance.compensable),
        "compensating": instance.compensating,
        "children": [instance_tree(instance.children[k], waits) for k in sorted(instance.children)],
        "job": None
        if job is None
        else {
            "key": job.key,
            "type": job.type,
            "retries": job.retries,
            "headers": job.custom_headers,
            "state": job.state.value,
            "deadline": job.deadline,
            "worker": job.worker,
            "backoff_until": job.backoff_until,
            "retry_backoff": job.retry_backoff,
            "error_message": job.error_message,
            "error_code": job.error_code,
            "kind": job.kind,
            "listener_event_type": job.listener_event_type,
        },
        "user_task": None if instance.user_task is None else user_task_row(instance.user_task),
        "tags": list(instance.tags),
        "business_id": instance.business_id,
        "terminate_after": list(instance.terminate_after),
        "waits": [wait_row(waits[k]) for k in instance.waits if k in waits],
        "incident": None
        if incident is None
        else {
            "key": incident.key,
            "type": incident.error_type,
            "message": incident.error_message,
            "retry": incident.retry,
            "variables": incident.retry_variables,
            "job": incident.job.key if incident.job is not None else None,
        },
    }


def wait_row(wait: Wait) -> dict[str, Any]:
    return {
        "key": wait.key,
        "kind": wait.kind.value,
        "element": wait.element.id,
        "name": wait.name,
        "correlation_key": wait.correlation_key,
        "due": wait.due,
        "repetitions": wait.repetitions,
        "interval": wait.interval_ms,
        "cycle": wait.cycle,
    }


def message_row(message: Message) -> dict[str, Any]:
    return {
        "key": message.key,
        "name": message.name,
        "correlation_key": message.correlation_key,
        "expires": message.expires,
        "message_id": message.message_id,
        "variables": message.variables,
        "tenant": message.tenant_id,
        "correlated": sorted(message.correlated, key=str),
    }
