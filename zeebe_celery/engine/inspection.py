"""What tests, the HTTP monitor and the web UI see of the engine: open incidents, element instances with the
variables they see, deployed processes with their instance counts, a process instance whole (live or from
the history the REST API searches), and open user tasks. Plain JSON-able dicts, read under the engine's lock:
the one query layer over the state for every reader but the REST API's searches."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from zeebe_celery.engine.rest.body import Body
from zeebe_celery.engine.rest.history import History
from zeebe_celery.engine.rest.instances import PROCESS_INSTANCE_FIELDS
from zeebe_celery.engine.rest.problems import invalid
from zeebe_celery.engine.rest.search import search
from zeebe_celery.engine.rows import wait_row
from zeebe_celery.engine.runtime import Runtime
from zeebe_celery.engine.state import Definition, ElementInstance, Job, UserTask

__all__ = [
    "INSTANCE_STATES",
    "definition_of",
    "incident_view",
    "instance_search",
    "instance_view",
    "process_instance_view",
    "process_view",
    "user_task_detail",
    "user_tasks_view",
]


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


def _counts(history: History) -> dict[int, Counter[str]]:
    counts: dict[int, Counter[str]] = {}
    for row in history.process_instances.values():
        state = "incidents" if row["state"] == "ACTIVE" and row["hasIncident"] else row["state"].lower()
        counts.setdefault(row["processDefinitionKey"], Counter())[state] += 1
    return counts


def process_view(runtime: Runtime, history: History) -> list[dict[str, Any]]:
    """Every deployed process version, by process id then version, with its instance counts (``active``,
    ``incidents``: active with an open incident, ``completed``, ``terminated``) as far as history retains."""
    with runtime.lock:
        counts = _counts(history)
        return [
            {
                "key": d.key,
                "bpmnProcessId": d.bpmn_process_id,
                "name": d.process.name,
                "version": d.version,
                "versionTag": d.process.version_tag,
                "resourceName": d.resource_name,
                "tenantId": d.tenant_id,
                **{state: counts.get(d.key, Counter())[state] for state in _COUNTED},
            }
            for d in sorted(runtime.definitions.values(), key=lambda d: (d.bpmn_process_id, d.tenant_id, d.version))
        ]


_COUNTED = ("active", "incidents", "completed", "terminated")


def definition_of(runtime: Runtime, key: int) -> Definition | None:
    """A deployed process version (read-only once deployed)."""
    with runtime.lock:
        return runtime.definitions.get(key)


def _tree(instance: ElementInstance) -> Iterator[ElementInstance]:
    yield instance
    for key in sorted(instance.children):
        yield from _tree(instance.children[key])


def _job_row(job: Job) -> dict[str, Any]:
    return {
        "key": job.key,
        "type": job.type,
        "elementId": job.instance.element.id,
        "elementInstanceKey": job.instance.key,
        "state": job.state.value,
        "retries": job.retries,
        "worker": job.worker,
        "deadline": job.deadline,
        "errorMessage": job.error_message,
        "kind": job.kind,
    }


def _live_view(runtime: Runtime, root: ElementInstance) -> dict[str, Any]:
    elements, variables, jobs, waits, tasks = [], [], [], [], []
    for instance in _tree(root):
        elements.append(
            {
                "key": instance.key,
                "elementId": instance.element.id,
                "kind": instance.element.kind.value,
                "state": instance.state.value,
                "parentKey": instance.parent.key if instance.parent is not None else None,
                "incident": instance.incident is not None,
            }
        )
        variables += [
            {"scopeKey": instance.key, "scopeElementId": instance.element.id, "name": name, "value": value}
            for name, value in sorted(instance.variables.items())
        ]
        if instance.job is not None:
            jobs.append(_job_row(instance.job))
        for wait_key in instance.waits:
            wait = runtime.waits.get(wait_key)
            if wait is not None:
                waits.append({**wait_row(wait), "elementInstanceKey": instance.key})
        if instance.user_task is not None:
            tasks.append(user_task_view(instance.user_task))
    return {"elements": elements, "variables": variables, "jobs": jobs, "waits": waits, "userTasks": tasks}


def process_instance_view(runtime: Runtime, history: History, key: int) -> dict[str, Any] | None:
    """A process instance, live or ended (while history retains it): its history row, the path it took
    (``path``: element or flow id -> times completed or taken), its incidents, and, while it runs, its
    element instances, variables by scope, jobs, waits (timers, message and signal subscriptions) and user
    tasks. Ended: its last variables. None when neither the state nor the history knows it."""
    with runtime.lock:
        row = history.process_instances.get(key)
        root = runtime.instances.get(key)
        if root is not None and root.parent is not None:
            root = None
        if root is not None:
            definition_key = root.definition.key
        elif row is not None:
            definition_key = row["processDefinitionKey"]
        else:
            return None
        view: dict[str, Any] = {
            "row": dict(row) if row is not None else None,
            "definitionKey": definition_key,
            "path": dict(history.paths.get(key, {})),
            "incidents": sorted(
                (dict(r) for r in history.incidents.values() if r["processInstanceKey"] == key),
                key=lambda r: r["incidentKey"],
            ),
            "live": root is not None,
        }
        if root is not None:
            view.update(_live_view(runtime, root))
        else:
            ended = history.variables.get(key, {}).values()
            view.update(
                elements=[],
                jobs=[],
                waits=[],
                userTasks=[],
                variables=[
                    {"scopeKey": r["scopeKey"], "scopeElementId": "", "name": r["name"], "value": _json(r["value"])}
                    for r in sorted(ended, key=lambda r: (r["scopeKey"], r["name"]))
                ],
            )
        return view


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def user_task_view(task: UserTask) -> dict[str, Any]:
    values = task.values
    return {
        "key": task.key,
        "name": task.instance.element.name,
        "elementId": task.instance.element.id,
        "elementInstanceKey": task.instance.key,
        "processInstanceKey": task.instance.process_instance_key,
        "bpmnProcessId": task.instance.definition.bpmn_process_id,
        "state": task.state,
        "assignee": values.get("assignee", ""),
        "candidateGroups": list(values.get("candidateGroupsList", [])),
        "candidateUsers": list(values.get("candidateUsersList", [])),
        "dueDate": values.get("dueDate", ""),
        "priority": values.get("priority", 50),
        "formKey": task.form_key,
        "creationTimestamp": task.creation_timestamp,
    }


def user_tasks_view(runtime: Runtime) -> list[dict[str, Any]]:
    """The open native user tasks, oldest first."""
    with runtime.lock:
        return [user_task_view(task) for task in runtime.active_user_tasks()]


def user_task_detail(runtime: Runtime, key: int) -> dict[str, Any] | None:
    """An open user task with the variables its element sees and its linked form's schema (None: no form)."""
    with runtime.lock:
        task = runtime.user_tasks.get(key)
        if task is None:
            return None
        form = runtime.forms.get(task.form_key)
        return {
            **user_task_view(task),
            "variables": runtime.merged_variables(task.instance),
            "form": _json(form.resource.decode("utf-8", "replace")) if form is not None else None,
        }


INSTANCE_STATES = ("ACTIVE", "INCIDENT", "COMPLETED", "TERMINATED")


def instance_search(
    runtime: Runtime,
    history: History,
    *,
    process_id: str = "",
    state: str = "",
    variable: tuple[str, Any] | None = None,
    limit: int = 200,
) -> dict[str, Any]:
    """Process instances, newest first, through the REST API's search: of ``process_id``, in ``state`` (one of
    INSTANCE_STATES; INCIDENT: active with an open incident), with a variable ``(name, value)`` in any scope.
    Raises Problem (its ``detail`` says why) for a filter the search refuses."""
    where: dict[str, Any] = {}
    if process_id:
        where["processDefinitionId"] = process_id
    if state:
        if state not in INSTANCE_STATES:
            raise invalid(f"The state filter is '{state}' but must be one of {', '.join(INSTANCE_STATES)}.")
        where["state"] = "ACTIVE" if state == "INCIDENT" else state
        if state in ("ACTIVE", "INCIDENT"):
            where["hasIncident"] = state == "INCIDENT"
    extra = {}
    if variable is not None:
        where["variable"] = variable
        extra["variable"] = _has_variable(history)
    query = Body(
        {"filter": where, "sort": [{"field": "processInstanceKey", "order": "DESC"}], "page": {"limit": limit}}
    )
    with runtime.lock:
        return search(
            query,
            history.process_instances.values(),
            PROCESS_INSTANCE_FIELDS,
            filterable=[name for name, kind in PROCESS_INSTANCE_FIELDS.items() if kind != "raw"],
            default_sort="processInstanceKey",
            extra=extra,
        )


def _has_variable(history: History) -> Callable[[Any], Callable[[Mapping[str, Any]], bool]]:
    def build(spec: Any) -> Callable[[Mapping[str, Any]], bool]:
        name, wanted = spec

        def test(row: Mapping[str, Any]) -> bool:
            scopes = history.variables.get(row["processInstanceKey"], {})
            return any(r["name"] == name and _json(r["value"]) == wanted for r in scopes.values())

        return test

    return build
