"""The UI's actions, each through the engine's own commands (so each is a transaction like any other):
set a variable, retry a job (its retries, then the incident resolved, in one command), cancel and modify an
instance, assign, claim and complete a user task. Bad input or a rejected command raises :class:`Page` with
the reason."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from zeebe_celery.engine.errors import EngineError
from zeebe_celery.engine.instances import ActivateInstruction
from zeebe_celery.engine.rest.problems import from_engine_error
from zeebe_celery.engine.runtime import Runtime
from zeebe_celery.engine.web.context import Page, WebContext
from zeebe_celery.engine.web.forms import FormInputError, fields_of, read_values
from zeebe_celery.engine.web.tasks import task_detail
from zeebe_celery.engine.web.values import parse_json_value, parse_key

__all__ = ["assign_task", "cancel", "complete_task", "modify", "retry", "set_variable"]

R = TypeVar("R")
# How long an action waits for a user task's listeners before it answers that the operation goes on.
_TASK_WAIT_SECONDS = 5.0


def _run(ctx: WebContext, command: Callable[[Runtime], R]) -> R:
    try:
        with ctx.runtime.lock:
            return command(ctx.runtime)
    except EngineError as exc:
        problem = from_engine_error(exc)
        raise Page(problem.status, problem.detail) from None


def _field(form: Mapping[str, str], name: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise Page(400, f"the form has no {name}")
    return value


def _key(form: Mapping[str, str], name: str) -> int:
    try:
        return parse_key(_field(form, name), name)
    except ValueError as exc:
        raise Page(400, str(exc)) from None


def set_variable(ctx: WebContext, key: int, form: Mapping[str, str]) -> str:
    scope, name = _key(form, "scope"), _field(form, "name")
    try:
        value = parse_json_value(form.get("value", ""), f"the value of {name}")
    except ValueError as exc:
        raise Page(400, str(exc)) from None
    with ctx.runtime.lock:
        instance = ctx.runtime.instances.get(scope)
        belongs = instance is not None and instance.process_instance_key == key
    if not belongs:
        raise Page(404, f"process instance {key} has no active scope {scope}")
    _run(ctx, lambda runtime: runtime.set_variables(scope, {name: value}, local=True))
    return f"set {name} on {scope}"


def retry(ctx: WebContext, key: int, form: Mapping[str, str]) -> str:
    incident_key = _key(form, "incident")
    retries_text = form.get("retries", "1").strip() or "1"
    if not retries_text.isdigit() or not 1 <= int(retries_text) <= 1_000_000:
        raise Page(400, f"retries must be a whole number from 1, not {retries_text[:40]!r}")

    def command(runtime: Runtime) -> str:
        incident = runtime.incidents.get(incident_key)
        if incident is None or incident.instance.process_instance_key != key:
            raise Page(404, f"process instance {key} has no open incident {incident_key}")
        runtime.retry_incident(incident_key, int(retries_text))
        return f"incident {incident_key} resolved" + (f", job retried ({retries_text} retries)" if incident.job else "")

    return _run(ctx, command)


def cancel(ctx: WebContext, key: int, form: Mapping[str, str]) -> str:
    _run(ctx, lambda runtime: runtime.cancel_instance(key))
    return f"process instance {key} cancelled"


def modify(ctx: WebContext, key: int, form: Mapping[str, str]) -> str:
    """Move a token: terminate one element instance and activate an element (its scope inferred)."""
    source, target = _key(form, "source"), _field(form, "target")
    with ctx.runtime.lock:
        instance = ctx.runtime.instances.get(source)
        if instance is None or instance.process_instance_key != key or instance.parent is None:
            raise Page(404, f"process instance {key} has no active element instance {source}")
        source_id = instance.element.id
    _run(ctx, lambda runtime: runtime.modify_instance(key, activate=[ActivateInstruction(target)], terminate=[source]))
    return f"moved the token from {source_id} to {target}"


def _await_task(ctx: WebContext, operation: Callable[[Runtime, Callable[[EngineError | None], None]], None]) -> bool:
    """Run a user task operation; True once its listeners are through, False while it goes on."""
    done = threading.Event()
    outcome: list[EngineError | None] = []

    def waiter(rejection: EngineError | None) -> None:
        outcome.append(rejection)
        done.set()

    _run(ctx, lambda runtime: operation(runtime, waiter))
    if not done.wait(_TASK_WAIT_SECONDS):
        return False
    if outcome[0] is not None:
        problem = from_engine_error(outcome[0])
        raise Page(problem.status, problem.detail)
    return True


def assign_task(ctx: WebContext, key: int, form: Mapping[str, str]) -> str:
    assignee = _field(form, "assignee")
    claim = form.get("how") == "claim"
    task_detail(ctx, key)
    finished = _await_task(
        ctx,
        lambda runtime, waiter: runtime.assign_user_task(
            key, assignee, action="claim" if claim else "assign", allow_override=not claim, waiter=waiter
        ),
    )
    verb = "claimed by" if claim else "assigned to"
    return f"task {key} {verb} {assignee}" if finished else f"assigning task {key}: its listeners are still running"


def complete_task(ctx: WebContext, key: int, form: Mapping[str, str]) -> str:
    task = task_detail(ctx, key)
    variables: dict[str, Any]
    if form.get("mode") == "form" and task["form"] is not None:
        fields, _, _ = fields_of(task["form"])
        try:
            variables = read_values(fields, form)
        except FormInputError as exc:
            raise Page(400, str(exc)) from None
    else:
        try:
            value = parse_json_value(form.get("variables", "") or "{}", "the variables")
        except ValueError as exc:
            raise Page(400, str(exc)) from None
        if not isinstance(value, dict):
            raise Page(400, 'the variables must be a JSON object, such as {"approved": true}')
        variables = value
    finished = _await_task(
        ctx, lambda runtime, waiter: runtime.complete_user_task(key, variables, action="complete", waiter=waiter)
    )
    return f"task {key} completed" if finished else f"completing task {key}: its listeners are still running"
