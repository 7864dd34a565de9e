"""User tasks: search and get (from the exported USER_TASK records), assign, unassign, update and complete."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine.rest.call import Answer, Call, Route
from zeebe_celery.engine.rest.history import History
from zeebe_celery.engine.rest.problems import Problem
from zeebe_celery.engine.rest.search import encode_row, search

__all__ = ["ROUTES"]

USER_TASK_FIELDS = {
    "userTaskKey": "key",
    "name": "text",
    "state": "enum",
    "assignee": "text",
    "elementId": "text",
    "elementInstanceKey": "key",
    "candidateGroups": "raw",
    "candidateUsers": "raw",
    "processDefinitionId": "text",
    "processDefinitionKey": "key",
    "processDefinitionVersion": "int",
    "processInstanceKey": "key",
    "rootProcessInstanceKey": "key",
    "processName": "text",
    "creationDate": "date",
    "completionDate": "date",
    "followUpDate": "text",
    "dueDate": "text",
    "tenantId": "text",
    "externalFormReference": "text",
    "customHeaders": "raw",
    "priority": "int",
    "formKey": "key",
    "tags": "raw",
}
_FILTERABLE = [name for name, kind in USER_TASK_FIELDS.items() if kind != "raw"]


def _member(field: str) -> Any:
    """A filter on one member of a list field (candidateGroup, candidateUser)."""

    def build(spec: Any) -> Any:
        if isinstance(spec, str):
            return lambda row: spec in row.get(field, [])
        raise Problem(400, "INVALID_ARGUMENT", f"The filter on {field} takes a plain string here.")

    return build


def find(call: Call) -> Answer:
    query = call.body(required=False)

    def run(history: History) -> dict[str, Any]:
        return search(
            query,
            history.user_tasks.values(),
            USER_TASK_FIELDS,
            filterable=_FILTERABLE,
            default_sort="userTaskKey",
            extra={"candidateGroup": _member("candidateGroups"), "candidateUser": _member("candidateUsers")},
        )

    return 200, call.read(run)


def get(call: Call) -> Answer:
    key = call.key("userTaskKey")
    row = call.read(lambda history: history.user_tasks.get(key))
    if row is None:
        raise Problem(404, "NOT_FOUND", f"User Task with key '{key}' not found")
    return 200, encode_row(row, USER_TASK_FIELDS)


ROUTES = [
    Route.of("POST", "/user-tasks/search", find),
    Route.of("GET", "/user-tasks/{userTaskKey}", get),
]
