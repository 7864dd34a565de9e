"""Incidents (search, get and resolve) and variables (search)."""

from __future__ import annotations

from zeebe_celery.engine.rest.call import Answer, Call, Route
from zeebe_celery.engine.rest.reads import find_rows, get_row

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
    return find_rows(
        call,
        lambda history: history.incidents.values(),
        INCIDENT_FIELDS,
        filterable=INCIDENT_FIELDS,
        default_sort="incidentKey",
    )


def get_incident(call: Call) -> Answer:
    return get_row(call, "incidentKey", lambda history: history.incidents, INCIDENT_FIELDS, "Incident")


def resolve(call: Call) -> Answer:
    key = call.key("incidentKey")
    call.body(required=False)
    call.run(lambda runtime: runtime.resolve_incident(key))
    return 204, None


def find_variables(call: Call) -> Answer:
    return find_rows(
        call,
        lambda history: (row for scope in history.variables.values() for row in scope.values()),
        VARIABLE_FIELDS,
        filterable=VARIABLE_FIELDS,
        default_sort="variableKey",
    )


ROUTES = [
    Route.of("POST", "/incidents/search", find_incidents),
    Route.of("GET", "/incidents/{incidentKey}", get_incident),
    Route.of("POST", "/incidents/{incidentKey}/resolution", resolve, "ResolveIncident"),
    Route.of("POST", "/variables/search", find_variables),
]
