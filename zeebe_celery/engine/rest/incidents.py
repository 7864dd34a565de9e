"""Incidents (search, get and resolve) and variables (search)."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine.rest.call import Answer, Call, Route
from zeebe_celery.engine.rest.history import History
from zeebe_celery.engine.rest.problems import Problem
from zeebe_celery.engine.rest.search import encode_row, search

__all__ = ["ROUTES"]

INCIDENT_FIELDS = {
    "incidentKey": "key",
    "processDefinitionId": "text",
    "processDefinitionKey": "key",
    "processInstanceKey": "key",
    "rootProcessInstanceKey": "key",
    "elementId": "text",
    "elementInstanceKey": "key",
    "errorType": "enum",
    "errorMessage": "text",
    "creationTime": "date",
    "state": "enum",
    "tenantId": "text",
    "jobKey": "key",
}
VARIABLE_FIELDS = {
    "variableKey": "key",
    "name": "text",
    "value": "text",
    "isTruncated": "bool",
    "tenantId": "text",
    "scopeKey": "key",
    "processInstanceKey": "key",
    "rootProcessInstanceKey": "key",
}


def find_incidents(call: Call) -> Answer:
    query = call.body(required=False)

    def run(history: History) -> dict[str, Any]:
        return search(
            query, history.incidents.values(), INCIDENT_FIELDS, filterable=INCIDENT_FIELDS, default_sort="incidentKey"
        )

    return 200, call.read(run)


def get_incident(call: Call) -> Answer:
    key = call.key("incidentKey")
    row = call.read(lambda history: history.incidents.get(key))
    if row is None:
        raise Problem(404, "NOT_FOUND", f"Incident with key '{key}' not found")
    return 200, encode_row(row, INCIDENT_FIELDS)


def resolve(call: Call) -> Answer:
    key = call.key("incidentKey")
    call.body(required=False)
    call.run(lambda runtime: runtime.resolve_incident(key))
    return 204, None


def find_variables(call: Call) -> Answer:
    query = call.body(required=False)

    def run(history: History) -> dict[str, Any]:
        rows = (row for scope in history.variables.values() for row in scope.values())
        return search(query, rows, VARIABLE_FIELDS, filterable=VARIABLE_FIELDS, default_sort="variableKey")

    return 200, call.read(run)


ROUTES = [
    Route.of("POST", "/incidents/search", find_incidents),
    Route.of("GET", "/incidents/{incidentKey}", get_incident),
    Route.of("POST", "/incidents/{incidentKey}/resolution", resolve, "ResolveIncident"),
    Route.of("POST", "/variables/search", find_variables),
]
