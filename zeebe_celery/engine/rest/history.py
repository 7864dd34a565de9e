"""The REST API's read side: process instances, incidents, variables and user tasks as its searches see
them, kept from the records the engine exports, as Camunda's search reads what its exporter wrote.

Ended process instances stay searchable (state COMPLETED or TERMINATED) until ``retain`` of them have
ended since; then the oldest go, with their variables and incidents. Rows use the API's field names with
keys as ints and dates as epoch milliseconds; the search layer encodes them.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from typing import Any

from zeebe_celery.engine.exported import incident_value
from zeebe_celery.engine.runtime import Runtime
from zeebe_celery.engine.state import ElementInstance

__all__ = ["History", "Row"]

Row = dict[str, Any]
Record = dict[str, Any]


def _key_or_none(value: int) -> int | None:
    return value if value > 0 else None


class History:
    """Rows by key, fed by the runtime's records; read them under ``runtime.lock``."""

    def __init__(self, runtime: Runtime, *, retain: int = 10_000) -> None:
        self.runtime = runtime
        self.retain = retain
        self.process_instances: dict[int, Row] = {}
        self.incidents: dict[int, Row] = {}
        # By process instance, then (scope key, name).
        self.variables: dict[int, dict[tuple[int, str], Row]] = {}
        self.user_tasks: dict[int, Row] = {}
        # The path each process instance took: how often each element completed or sequence flow was taken.
        self.paths: dict[int, dict[str, int]] = {}
        self._ended: deque[int] = deque()
        self._open_incidents: dict[int, int] = {}
        # Variables have no key of their own in this engine's records: the history numbers them.
        self._variable_keys = itertools.count(1)
        # The incidents and user tasks of each process instance, forgotten with it.
        self._owned: dict[int, list[tuple[dict[int, Row], int]]] = {}
        with runtime.lock:
            self._apply(runtime.records.all())
            self._seed_from_state()
            runtime.records.listen(self._apply)

    # -- feeding --------------------------------------------------------------------------------------

    def _apply(self, records: list[Record]) -> None:
        for record in records:
            handler = _HANDLERS.get(record["valueType"])
            if handler is not None:
                handler(self, record)

    def _process_instance(self, record: Record) -> None:
        value = record["value"]
        key, intent = record["key"], record["intent"]
        if intent in _PATH_INTENTS:
            path = self.paths.setdefault(value["processInstanceKey"], {})
            path[value["elementId"]] = path.get(value["elementId"], 0) + 1
        if value.get("bpmnElementType") != "PROCESS":
            return
        if intent == "ELEMENT_ACTIVATING":
            self._started(key, value, record["timestamp"])
            return
        row = self.process_instances.get(key)
        if row is not None:
            # The instance is labelled (tags, business id) after its first record.
            row["tags"] = list(value.get("tags", row["tags"]))
            row["businessId"] = value.get("businessId") or row["businessId"]
        if row is not None and intent in ("ELEMENT_COMPLETED", "ELEMENT_TERMINATED"):
            row["state"] = "COMPLETED" if intent == "ELEMENT_COMPLETED" else "TERMINATED"
            row["endDate"] = record["timestamp"]
            self._ended.append(key)
            while len(self._ended) > self.retain:
                self._forget(self._ended.popleft())

    def _started(self, key: int, value: dict[str, Any], timestamp: int) -> None:
        parent_key = _key_or_none(value.get("parentProcessInstanceKey", -1))
        parent = self.process_instances.get(parent_key) if parent_key is not None else None
        definition = self.runtime.definitions.get(value["processDefinitionKey"])
        self.process_instances[key] = {
            "processInstanceKey": key,
            "processDefinitionId": value["bpmnProcessId"],
            "processDefinitionName": (definition.process.name or None) if definition is not None else None,
            "processDefinitionVersion": value["version"],
            "processDefinitionVersionTag": definition.process.version_tag if definition is not None else None,
            "processDefinitionKey": value["processDefinitionKey"],
            "startDate": timestamp,
            "endDate": None,
            "state": "ACTIVE",
            "hasIncident": False,
            "tenantId": value["tenantId"],
            "parentProcessInstanceKey": parent_key,
            "parentElementInstanceKey": _key_or_none(value.get("parentElementInstanceKey", -1)),
            "rootProcessInstanceKey": parent["rootProcessInstanceKey"] if parent is not None else key,
            "tags": list(value.get("tags", [])),
            "businessId": value.get("businessId") or None,
        }

    def _root_of(self, process_instance_key: int) -> int:
        row = self.process_instances.get(process_instance_key)
        return row["rootProcessInstanceKey"] if row is not None else process_instance_key

    def _incident(self, record: Record) -> None:
        value, key = record["value"], record["key"]
        pik = value["processInstanceKey"]
        if record["intent"] == "CREATED":
            self.incidents[key] = {
                "incidentKey": key,
                "processDefinitionId": value["bpmnProcessId"],
                "processDefinitionKey": value["processDefinitionKey"],
                "processInstanceKey": pik,
                "rootProcessInstanceKey": self._root_of(pik),
                "elementId": value["elementId"],
                "elementInstanceKey": value["elementInstanceKey"],
                "errorType": value["errorType"],
                "errorMessage": value["errorMessage"],
                "creationTime": record["timestamp"],
                "state": "ACTIVE",
                "tenantId": value["tenantId"],
                "jobKey": _key_or_none(value.get("jobKey", -1)),
            }
            self._owned.setdefault(pik, []).append((self.incidents, key))
            self._count_incident(pik, +1)
        elif record["intent"] == "RESOLVED" and key in self.incidents:
            self.incidents[key]["state"] = "RESOLVED"
            self._count_incident(pik, -1)

    def _count_incident(self, pik: int, change: int) -> None:
        count = self._open_incidents.get(pik, 0) + change
        self._open_incidents[pik] = count
        if pik in self.process_instances:
            self.process_instances[pik]["hasIncident"] = count > 0

    def _variable(self, record: Record) -> None:
        value = record["value"]
        pik = value["processInstanceKey"]
        rows = self.variables.setdefault(pik, {})
        row = rows.get((value["scopeKey"], value["name"]))
        if row is None:
            rows[(value["scopeKey"], value["name"])] = {
                "variableKey": next(self._variable_keys),
                "name": value["name"],
                "value": value["value"],
                "isTruncated": False,
                "tenantId": value["tenantId"],
                "scopeKey": value["scopeKey"],
                "processInstanceKey": pik,
                "rootProcessInstanceKey": self._root_of(pik),
            }
        else:
            row["value"] = value["value"]

    def _user_task(self, record: Record) -> None:
        value, key, intent = record["value"], record["key"], record["intent"]
        row = self.user_tasks.get(key)
        if row is None:
            row = self.user_tasks[key] = {
                "userTaskKey": key,
                "creationDate": record["timestamp"],
                "completionDate": None,
                "rootProcessInstanceKey": self._root_of(value["processInstanceKey"]),
            }
            self._owned.setdefault(value["processInstanceKey"], []).append((self.user_tasks, key))
        definition = self.runtime.definitions.get(value["processDefinitionKey"])
        element = definition.process.elements.get(value["elementId"]) if definition is not None else None
        row.update(
            {
                "name": (element.name or None) if element is not None else None,
                "state": _USER_TASK_STATES.get(intent) or row.get("state", "CREATED"),
                "assignee": value.get("assignee") or None,
                "elementId": value["elementId"],
                "elementInstanceKey": value["elementInstanceKey"],
                "candidateGroups": list(value.get("candidateGroupsList", [])),
                "candidateUsers": list(value.get("candidateUsersList", [])),
                "processDefinitionId": value["bpmnProcessId"],
                "processDefinitionKey": value["processDefinitionKey"],
                "processDefinitionVersion": value.get("processDefinitionVersion", 0),
                "processInstanceKey": value["processInstanceKey"],
                "processName": (definition.process.name or None) if definition is not None else None,
                "followUpDate": value.get("followUpDate") or None,
                "dueDate": value.get("dueDate") or None,
                "tenantId": value["tenantId"],
                "externalFormReference": value.get("externalFormReference") or None,
                "customHeaders": dict(value.get("customHeaders", {})),
                "priority": value.get("priority", 50),
                "formKey": _key_or_none(value.get("formKey", -1)),
                "tags": list(value.get("tags", [])),
            }
        )
        if intent in ("COMPLETED", "CANCELED"):
            row["completionDate"] = record["timestamp"]

    def _forget(self, key: int) -> None:
        self.process_instances.pop(key, None)
        self.variables.pop(key, None)
        self.paths.pop(key, None)
        self._open_incidents.pop(key, None)
        for table, row_key in self._owned.pop(key, []):
            table.pop(row_key, None)

    # -- an engine restarted from its store has state but no records of it --------------------------

    def _seed_from_state(self) -> None:
        runtime = self.runtime
        now = runtime.now()
        for instance in list(runtime.instances.values()):
            if instance.parent is None and instance.key not in self.process_instances:
                self._seed_instance(instance, now)
        for incident in list(runtime.incidents.values()):
            if incident.key not in self.incidents:
                self._incident(
                    {"key": incident.key, "intent": "CREATED", "timestamp": now, "value": incident_value(incident)}
                )
        for instance in list(runtime.instances.values()):
            rows = self.variables.setdefault(instance.process_instance_key, {})
            for name, value in instance.variables.items():
                if (instance.key, name) not in rows:
                    rows[(instance.key, name)] = {
                        "variableKey": next(self._variable_keys),
                        "name": name,
                        "value": json.dumps(value),
                        "isTruncated": False,
                        "tenantId": instance.tenant_id,
                        "scopeKey": instance.key,
                        "processInstanceKey": instance.process_instance_key,
                        "rootProcessInstanceKey": self._root_of(instance.process_instance_key),
                    }

    def _seed_instance(self, root: ElementInstance, now: int) -> None:
        caller = root.caller
        definition = root.definition
        self._started(
            root.key,
            {
                "bpmnProcessId": definition.bpmn_process_id,
                "version": definition.version,
                "processDefinitionKey": definition.key,
                "tenantId": definition.tenant_id,
                "parentProcessInstanceKey": caller.process_instance_key if caller is not None else -1,
                "parentElementInstanceKey": caller.key if caller is not None else -1,
                "tags": list(root.tags),
                "businessId": root.business_id,
            },
            now,
        )


_PATH_INTENTS = frozenset({"ELEMENT_COMPLETED", "SEQUENCE_FLOW_TAKEN"})

_USER_TASK_STATES = {
    "CREATING": "CREATING",
    "CREATED": "CREATED",
    "ASSIGNING": "ASSIGNING",
    "ASSIGNED": "CREATED",
    "UPDATING": "UPDATING",
    "UPDATED": "CREATED",
    "COMPLETING": "COMPLETING",
    "COMPLETED": "COMPLETED",
    "CANCELING": "CANCELING",
    "CANCELED": "CANCELED",
    "ASSIGNMENT_DENIED": "CREATED",
    "UPDATE_DENIED": "CREATED",
    "COMPLETION_DENIED": "CREATED",
}

_HANDLERS = {
    "PROCESS_INSTANCE": History._process_instance,
    "INCIDENT": History._incident,
    "VARIABLE": History._variable,
    "USER_TASK": History._user_task,
}
