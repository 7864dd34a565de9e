"""What tests (and the HTTP monitor) can see of the engine: open incidents, element instances with the
variables they see, and waits on the exported records. Plain JSON-able dicts, read under the engine's lock."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine.runtime import Runtime

__all__ = ["incident_view", "instance_view"]


def incident_view(runtime: Runtime) -> list[dict[str, Any]]:
    with runtime.lock:
        return [
            {
                "key": i.key,
                "errorType": i.error_type,
                "errorMessage": i.error_message,
                "elementId": i.instance.element.id,
                "elementInstanceKey": i.instance.key,
                "processInstanceKey": i.instance.process_instance_key,
                "bpmnProcessId": i.instance.definition.bpmn_process_id,
                "jobKey": i.job.key if i.job is not None else -1,
            }
            for i in runtime.incidents.values()
        ]


def instance_view(runtime: Runtime, key: int) -> dict[str, Any] | None:
    with runtime.lock:
        instance = runtime.instances.get(key)
        if instance is None:
            return None
        return {
            "key": instance.key,
            "elementId": instance.element.id,
            "state": instance.state.value,
            "processInstanceKey": instance.process_instance_key,
            "bpmnProcessId": instance.definition.bpmn_process_id,
            "variables": runtime.merged_variables(instance),
            "children": [
                {"key": c.key, "elementId": c.element.id, "state": c.state.value} for c in instance.children.values()
            ],
        }
