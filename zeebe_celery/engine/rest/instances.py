"""Process instances: create (optionally awaiting the result), cancel, get and search."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from zeebe_celery.engine.awaited import AwaitedResult
from zeebe_celery.engine.rest.body import Body
from zeebe_celery.engine.rest.call import Answer, Call, Route
from zeebe_celery.engine.rest.problems import Problem, invalid
from zeebe_celery.engine.rest.reads import find_rows, get_row
from zeebe_celery.engine.runtime import Runtime
from zeebe_celery.engine.server import DEFAULT_REQUEST_TIMEOUT_MS
from zeebe_celery.engine.state import DEFAULT_TENANT, ElementInstance

__all__ = ["PROCESS_INSTANCE_FIELDS", "ROUTES"]

PROCESS_INSTANCE_FIELDS = {
    "processInstanceKey": "key",
    "processDefinitionId": "text",
    "processDefinitionName": "text",
    "processDefinitionVersion": "int",
    "processDefinitionVersionTag": "text",
    "processDefinitionKey": "key",
    "startDate": "date",
    "endDate": "date",
    "state": "enum",
    "hasIncident": "bool",
    "tenantId": "text",
    "parentProcessInstanceKey": "key",
    "parentElementInstanceKey": "key",
    "rootProcessInstanceKey": "key",
    "tags": "raw",
    "businessId": "text",
}
_FILTERABLE = [name for name, kind in PROCESS_INSTANCE_FIELDS.items() if kind != "raw"]


def _tagged(spec: Any) -> Callable[[Mapping[str, Any]], bool]:
    """The ``tags`` filter: instances with every tag listed."""
    if not isinstance(spec, list) or not all(isinstance(t, str) for t in spec):
        raise invalid(f"The value for tags is '{spec}' but must be an array of strings.")
    wanted = set(spec)
    return lambda row: wanted <= set(row.get("tags", []))


def create(call: Call) -> Answer:
    body = call.body()
    if body.has("processDefinitionKey") == body.has("processDefinitionId"):
        raise invalid("Expected either a processDefinitionKey or a processDefinitionId, but not both.")
    key, process_id = body.key("processDefinitionKey"), body.text("processDefinitionId")
    version = body.integer("processDefinitionVersion", -1)
    tenant_id, variables = body.text("tenantId"), body.variables()
    start_at = []
    for instruction in body.fields.get("startInstructions") or []:
        element_id = instruction.get("elementId") if isinstance(instruction, dict) else None
        if not isinstance(element_id, str) or not element_id:
            raise invalid("No startInstructions.elementId provided.")
        start_at.append(element_id)
    terminate_after = []
    for instruction in body.fields.get("runtimeInstructions") or []:
        item = Body(instruction if isinstance(instruction, dict) else {})
        kind = item.text("type", "TERMINATE_PROCESS_INSTANCE")
        if kind != "TERMINATE_PROCESS_INSTANCE":
            raise invalid(f"The runtime instruction type '{kind}' is not supported.")
        terminate_after.append(item.text("afterElementId", required=True))
    tags, business_id = body.strings("tags"), body.text("businessId")
    await_completion = body.boolean("awaitCompletion")
    fetch = body.strings("fetchVariables")
    timeout_ms = body.duration("requestTimeout", 0, minimum=0) or DEFAULT_REQUEST_TIMEOUT_MS
    awaited = AwaitedResult(call.runtime)

    def command(runtime: Runtime) -> ElementInstance:
        definition = runtime.find_definition(key=key, process_id=process_id, version=version, tenant_id=tenant_id)
        return runtime.create_instance(
            definition,
            variables,
            start_at=start_at,
            on_created=awaited.register if await_completion else None,
            tags=tags,
            business_id=business_id,
            terminate_after=terminate_after,
        )

    root = call.run(command)
    result: dict[str, Any] = {}
    if await_completion:
        if not call.served.wait(awaited.done, timeout_ms / 1000):
            awaited.give_up(root.key)
            raise Problem(
                504,
                "DEADLINE_EXCEEDED",
                f"Expected to receive the result of process instance '{root.key}' within "
                f"{timeout_ms} ms, but it did not complete in time",
            )
        variables_at_end = awaited.variables
        if variables_at_end is None:
            raise Problem(
                409,
                "INVALID_STATE",
                f"Expected to receive the result of process instance '{root.key}', but it was terminated",
            )
        result = {k: v for k, v in variables_at_end.items() if not fetch or k in fetch}
    definition = root.definition
    return 200, {
        "processDefinitionId": definition.bpmn_process_id,
        "processDefinitionVersion": definition.version,
        "processDefinitionKey": str(definition.key),
        "processInstanceKey": str(root.key),
        "tenantId": definition.tenant_id or DEFAULT_TENANT,
        "variables": result,
        "tags": list(root.tags),
        "businessId": root.business_id or None,
    }


def cancel(call: Call) -> Answer:
    key = call.key("processInstanceKey")
    call.body(required=False)
    call.run(lambda runtime: runtime.cancel_instance(key))
    return 204, None


def get(call: Call) -> Answer:
    return get_row(
        call,
        "processInstanceKey",
        lambda history: history.process_instances,
        PROCESS_INSTANCE_FIELDS,
        "Process Instance",
    )


def find(call: Call) -> Answer:
    return find_rows(
        call,
        lambda history: history.process_instances.values(),
        PROCESS_INSTANCE_FIELDS,
        filterable=_FILTERABLE,
        default_sort="processInstanceKey",
        extra={"tags": _tagged},
    )


ROUTES = [
    Route.of("POST", "/process-instances", create, "CreateProcessInstance"),
    Route.of("POST", "/process-instances/search", find),
    Route.of("GET", "/process-instances/{processInstanceKey}", get),
    Route.of("POST", "/process-instances/{processInstanceKey}/cancellation", cancel, "CancelProcessInstance"),
]
