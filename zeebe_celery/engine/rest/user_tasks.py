"""User tasks: search and get (from the exported USER_TASK records), assign, unassign, update and complete."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from zeebe_celery.engine.errors import EngineError
from zeebe_celery.engine.rest.call import Answer, Call, Route
from zeebe_celery.engine.rest.jobs import user_task_changes
from zeebe_celery.engine.rest.problems import Problem, from_engine_error, invalid
from zeebe_celery.engine.rest.reads import find_rows, get_row
from zeebe_celery.engine.runtime import Runtime
from zeebe_celery.engine.server import DEFAULT_REQUEST_TIMEOUT_MS
from zeebe_celery.engine.usertasks import Waiter

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
    return find_rows(
        call,
        lambda history: history.user_tasks.values(),
        USER_TASK_FIELDS,
        filterable=_FILTERABLE,
        default_sort="userTaskKey",
        extra={"candidateGroup": _member("candidateGroups"), "candidateUser": _member("candidateUsers")},
    )


def get(call: Call) -> Answer:
    return get_row(call, "userTaskKey", lambda history: history.user_tasks, USER_TASK_FIELDS, "User Task")


def _operate(call: Call, operation: Callable[[Runtime, Waiter], None]) -> Answer:
    """Run a user task operation and answer once its task listeners are through (or one denied it)."""
    done = threading.Event()
    outcome: list[EngineError | None] = []

    def waiter(rejection: EngineError | None) -> None:
        outcome.append(rejection)
        done.set()

    key = call.key("userTaskKey")
    call.run(lambda runtime: operation(runtime, waiter))
    if not call.served.wait(done, DEFAULT_REQUEST_TIMEOUT_MS / 1000):
        raise Problem(
            504,
            "DEADLINE_EXCEEDED",
            f"Expected the task listeners of user task '{key}' to finish in time, but they "
            "did not; the operation goes on",
        )
    if outcome[0] is not None:
        raise from_engine_error(outcome[0])
    return 204, None


def complete(call: Call) -> Answer:
    key = call.key("userTaskKey")
    body = call.body(required=False)
    variables, action = body.variables(), body.text("action")
    return _operate(
        call, lambda runtime, waiter: runtime.complete_user_task(key, variables, action=action, waiter=waiter)
    )


def assign(call: Call) -> Answer:
    key = call.key("userTaskKey")
    body = call.body()
    assignee, action = body.text("assignee", required=True), body.text("action")
    allow_override = body.boolean("allowOverride", True)
    return _operate(
        call,
        lambda runtime, waiter: runtime.assign_user_task(
            key, assignee, action=action, allow_override=allow_override, waiter=waiter
        ),
    )


def unassign(call: Call) -> Answer:
    key = call.key("userTaskKey")
    return _operate(call, lambda runtime, waiter: runtime.unassign_user_task(key, waiter=waiter))


def update(call: Call) -> Answer:
    key = call.key("userTaskKey")
    body = call.body(required=False)
    changeset, action = body.object("changeset"), body.text("action")
    if "assignee" in changeset:
        raise invalid("The changeset cannot change the assignee: assign the task instead.")
    changes = user_task_changes(changeset, "changeset")
    return _operate(call, lambda runtime, waiter: runtime.update_user_task(key, changes, action=action, waiter=waiter))


ROUTES = [
    Route.of("POST", "/user-tasks/search", find),
    Route.of("GET", "/user-tasks/{userTaskKey}", get),
    Route.of("PATCH", "/user-tasks/{userTaskKey}", update, "UpdateUserTask"),
    Route.of("POST", "/user-tasks/{userTaskKey}/completion", complete, "CompleteUserTask"),
    Route.of("POST", "/user-tasks/{userTaskKey}/assignment", assign, "AssignUserTask"),
    Route.of("DELETE", "/user-tasks/{userTaskKey}/assignee", unassign, "UnassignUserTask"),
]
