"""Jobs: activation (a long poll), completion, failure, BPMN errors and updates."""

from __future__ import annotations

import datetime
import json
import time
from typing import Any

from zeebe_celery.engine.answers import GATEWAY_HOP_SECONDS
from zeebe_celery.engine.jobs import Activated
from zeebe_celery.engine.processors.adhoc import AdHocDecision
from zeebe_celery.engine.rest.body import Body
from zeebe_celery.engine.rest.call import Answer, Call, Route
from zeebe_celery.engine.rest.problems import invalid
from zeebe_celery.engine.server import DEFAULT_REQUEST_TIMEOUT_MS
from zeebe_celery.engine.state import DEFAULT_TENANT, Job, JobKind, JobResult

__all__ = ["ROUTES", "activated_job"]

# A waiting activation wakes this often to notice a server that is stopping.
_WAKE_SECONDS = 0.5


def activated_job(job: Job, variables: str) -> dict[str, Any]:
    instance = job.instance
    definition = instance.definition
    return {
        "type": job.type,
        "processDefinitionId": definition.bpmn_process_id,
        "processDefinitionVersion": definition.version,
        "elementId": instance.element.id,
        "customHeaders": json.loads(job.custom_headers or "{}"),
        "worker": job.worker,
        "retries": job.retries,
        "deadline": job.deadline,
        "variables": json.loads(variables or "{}"),
        "tenantId": definition.tenant_id,
        "jobKey": str(job.key),
        "processInstanceKey": str(instance.process_instance_key),
        "processDefinitionKey": str(definition.key),
        "elementInstanceKey": str(instance.key),
        "kind": job.kind,
        "listenerEventType": job.listener_event_type,
        "userTask": _user_task_properties(job),
        "tags": list(instance.root().tags),
        "rootProcessInstanceKey": str(instance.root().process_instance_key),
    }


# The REST API's names of the user task attributes, by the names the records (and the runtime) use.
REST_NAMES = {
    "assignee": "assignee",
    "candidateGroupsList": "candidateGroups",
    "candidateUsersList": "candidateUsers",
    "dueDate": "dueDate",
    "followUpDate": "followUpDate",
    "priority": "priority",
}
RECORD_NAMES = {rest: record for record, rest in REST_NAMES.items()}


def user_task_changes(fields: dict[str, Any], what: str) -> dict[str, Any]:
    """User task attributes from a changeset or corrections, checked as Camunda's gateway checks them, by
    the names the runtime uses; a null leaves the attribute as it is."""
    unknown = sorted(set(fields) - set(RECORD_NAMES))
    if unknown:
        raise invalid(f"The {what} fields {unknown} are not user task attributes.")
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None:
            continue
        if name == "priority":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
                raise invalid(f"The value for {what}.priority is '{value}' but must be within the [0,100] range.")
        elif name in ("candidateGroups", "candidateUsers"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise invalid(f"The value for {what}.{name} is '{value}' but must be an array of strings.")
        elif not isinstance(value, str):
            raise invalid(f"The value for {what}.{name} is '{value}' but must be a string.")
        elif name in ("dueDate", "followUpDate") and value:
            try:
                moment = datetime.datetime.fromisoformat(value)
            except ValueError:
                moment = None
            if moment is None or moment.tzinfo is None:
                raise invalid(f"The value for {what}.{name} is '{value}' but must be an RFC 3339 date-time.")
        changes[RECORD_NAMES[name]] = value
    return changes


_HEADER = "io.camunda.zeebe:"


def _user_task_properties(job: Job) -> dict[str, Any] | None:
    """What a task listener's job tells of its user task: the task as it was when the job was created, from
    the job's ``io.camunda.zeebe:`` headers, as Zeebe's gateways read them."""
    if job.kind is not JobKind.TASK_LISTENER:
        return None
    headers = json.loads(job.custom_headers or "{}")

    def header(name: str) -> str | None:
        value = headers.get(_HEADER + name)
        return value if isinstance(value, str) and value else None

    def listed(name: str) -> list[str]:
        value = header(name)
        return list(json.loads(value)) if value else []

    priority = header("priority")
    return {
        "action": header("action") or "",
        "assignee": header("assignee"),
        "candidateGroups": listed("candidateGroups"),
        "candidateUsers": listed("candidateUsers"),
        "changedAttributes": [REST_NAMES.get(name, name) for name in listed("changedAttributes")],
        "dueDate": header("dueDate"),
        "followUpDate": header("followUpDate"),
        "formKey": header("formKey"),
        "priority": int(priority) if priority else 50,
        "userTaskKey": header("userTaskKey"),
    }


def _job_result(fields: dict[str, Any]) -> tuple[AdHocDecision | None, JobResult | None]:
    """A completion's ``result``: an ad-hoc sub-process's decision, or a task listener's denial or corrections."""
    if not fields:
        return None, None
    body = Body(fields)
    kind = body.text("type", "userTask")
    if kind == "userTask":
        corrections = user_task_changes(body.object("corrections"), "result.corrections")
        denied, reason = body.boolean("denied"), body.text("deniedReason")
        return None, JobResult(type="userTask", denied=denied, denied_reason=reason, corrections=corrections)
    if kind == "adHocSubProcess":
        activate = []
        for item in body.fields.get("activateElements") or []:
            element = Body(item if isinstance(item, dict) else {})
            activate.append((element.text("elementId", required=True), element.variables()))
        decision = AdHocDecision(
            activate=activate,
            completion_fulfilled=body.boolean("isCompletionConditionFulfilled"),
            cancel_remaining=body.boolean("isCancelRemainingInstances"),
        )
        return decision, None
    raise invalid(f"The value for result.type is '{kind}' but must be userTask or adHocSubProcess.")


def activate(call: Call) -> Answer:
    body = call.body()
    job_type = body.text("type", required=True)
    worker = body.text("worker")
    timeout = body.duration("timeout", required=True, minimum=1)
    max_jobs = body.integer("maxJobsToActivate", required=True, minimum=1)
    fetch = body.strings("fetchVariable")
    request_timeout = body.duration("requestTimeout", 0)
    tenant_filter = body.text("tenantFilter", "PROVIDED")
    if tenant_filter not in ("PROVIDED", "ASSIGNED"):
        raise invalid(f"The value for tenantFilter is '{tenant_filter}' but must be PROVIDED or ASSIGNED.")
    # Without identities, a client is assigned the default tenant only.
    tenants = body.strings("tenantIds") if tenant_filter == "PROVIDED" else [DEFAULT_TENANT]
    wait_ms = DEFAULT_REQUEST_TIMEOUT_MS if request_timeout == 0 else max(request_timeout, 0)
    deadline = time.monotonic() + wait_ms / 1000
    served = call.served
    runtime = call.runtime
    waiting = False
    try:
        with runtime.lock:
            condition = runtime.condition_for(job_type)
            while True:
                now = time.monotonic()
                left = deadline - now
                # A parked poll keeps the gateway's hop while it can wait (answers.py).
                pooled_before = now - GATEWAY_HOP_SECONDS if waiting and left > 0 else None
                activated: list[Activated] = call.run(
                    lambda rt: rt.activate_jobs(
                        job_type,
                        worker=worker,
                        timeout=timeout,
                        max_jobs=max_jobs,
                        fetch=fetch,
                        tenant_ids=tenants,
                        pooled_before=pooled_before,  # noqa: B023 (run at once, in this iteration)
                    )
                )
                if activated or left <= 0 or served.stopping.is_set():
                    break
                if not waiting:
                    with served.waiting_lock:
                        if served.waiting >= served.max_waiting:
                            break
                        served.waiting += 1
                        waiting = True
                hop = runtime.job_behavior.hop_left(job_type, tenants, now)
                condition.wait(min(left, _WAKE_SECONDS, _WAKE_SECONDS if hop is None else hop))
    finally:
        if waiting:
            with served.waiting_lock:
                served.waiting -= 1
    return 200, {"jobs": [activated_job(job, variables) for job, variables in activated]}


def complete(call: Call) -> Answer:
    key = call.key("jobKey")
    body = call.body(required=False)
    variables, (ad_hoc, result) = body.variables(), _job_result(body.object("result"))
    call.run(lambda runtime: runtime.complete_job(key, variables, ad_hoc, result=result))
    return 204, None


def fail(call: Call) -> Answer:
    key = call.key("jobKey")
    body = call.body(required=False)
    retries = body.integer("retries", 0)
    message, backoff = body.text("errorMessage"), body.duration("retryBackOff", 0, minimum=0)
    variables = body.variables()
    call.run(
        lambda runtime: runtime.fail_job(
            key, retries=retries, error_message=message, backoff=backoff, variables=variables
        )
    )
    return 204, None


def throw_error(call: Call) -> Answer:
    key = call.key("jobKey")
    body = call.body()
    code, message, variables = body.text("errorCode", required=True), body.text("errorMessage"), body.variables()
    call.run(lambda runtime: runtime.throw_job_error(key, code=code, message=message, variables=variables))
    return 204, None


def update(call: Call) -> Answer:
    key = call.key("jobKey")
    changeset = call.body().body("changeset")
    retries = changeset.integer("retries", minimum=0) if changeset.has("retries") else None
    timeout = changeset.duration("timeout") if changeset.has("timeout") else None
    if retries is None and timeout is None:
        raise invalid("No changeset provided: expected at least one of retries and timeout.")
    call.run(lambda runtime: runtime.update_job(key, retries=retries, timeout=timeout))
    return 204, None


ROUTES = [
    Route.of("POST", "/jobs/activation", activate, "ActivateJobs", waits=True),
    Route.of("POST", "/jobs/{jobKey}/completion", complete, "CompleteJob"),
    Route.of("POST", "/jobs/{jobKey}/failure", fail, "FailJob"),
    Route.of("POST", "/jobs/{jobKey}/error", throw_error, "ThrowError"),
    Route.of("PATCH", "/jobs/{jobKey}", update, "UpdateJobRetries"),
]
