"""Store rows of what the store keeps beside process instances, definitions and messages: deployed forms
and the timers of timer start events (see :mod:`zeebe_celery.engine.store`)."""

from __future__ import annotations

from typing import Any, TypedDict

from zeebe_celery.engine.forms import DeployedForm
from zeebe_celery.engine.runtime import Runtime
from zeebe_celery.engine.state import Definition, StartTimer

__all__ = ["deployed_fields", "deployed_row", "load_form", "load_start_timer", "start_timer_row"]


def deployed_row(resource_id: str, deployed: Definition | DeployedForm) -> dict[str, Any]:
    """The stored fields of a deployed process or form, beside its key and resource."""
    return {
        "id": resource_id,
        "version": deployed.version,
        "name": deployed.resource_name,
        "checksum": deployed.checksum,
        "tenant": deployed.tenant_id,
        "deployment": deployed.deployment_key,
    }


class DeployedFields(TypedDict):
    version: int
    resource_name: str
    checksum: str
    tenant_id: str
    deployment_key: int


def deployed_fields(fields: dict[str, Any]) -> DeployedFields:
    """The keyword arguments of a process's Definition or a DeployedForm that :func:`deployed_row` stored."""
    return {
        "version": fields["version"],
        "resource_name": fields["name"],
        "checksum": fields["checksum"],
        "tenant_id": fields["tenant"],
        "deployment_key": fields["deployment"],
    }


def start_timer_row(timer: StartTimer) -> dict[str, Any]:
    return {
        "key": timer.key,
        "definition": timer.definition.key,
        "element": timer.element.id,
        "due": timer.due,
        "repetitions": timer.repetitions,
        "cycle": timer.cycle,
        "interval": timer.interval_ms,
    }


def load_start_timer(runtime: Runtime, data: dict[str, Any]) -> None:
    definition = runtime.definitions[data["definition"]]
    timer = StartTimer(
        key=data["key"],
        definition=definition,
        element=definition.process.elements[data["element"]],
        due=data["due"],
        repetitions=data["repetitions"],
        cycle=data["cycle"],
        interval_ms=data["interval"],
    )
    runtime.start_timers[timer.key] = timer
    runtime.schedule(timer.due, "start_timer", timer.key)


def load_form(runtime: Runtime, key: int, fields: dict[str, Any], resource: bytes) -> None:
    runtime.form_created(
        DeployedForm(
            key=key,
            form_id=fields["id"],
            resource=resource,
            **deployed_fields(fields),
        )
    )
