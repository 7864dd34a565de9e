"""Store rows of what the store keeps beside process instances, definitions and messages: deployed forms
and the timers of timer start events (see :mod:`zeebe_celery.engine.store`)."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine.forms import DeployedForm
from zeebe_celery.engine.runtime import Runtime
from zeebe_celery.engine.state import StartTimer

__all__ = ["load_form", "load_start_timer", "start_timer_row"]


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
            version=fields["version"],
            resource_name=fields["name"],
            checksum=fields["checksum"],
            tenant_id=fields["tenant"],
            resource=resource,
            deployment_key=fields["deployment"],
        )
    )
