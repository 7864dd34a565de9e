"""Throw events: intermediate throw events and end events that throw an escalation (a none throw event
passes through)."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine.model import EventType
from zeebe_celery.engine.processors.base import Context, Processor
from zeebe_celery.engine.state import ElementInstance

__all__ = ["IntermediateThrowEvent"]


class IntermediateThrowEvent(Processor):
    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        element = instance.element
        if element.event_type is EventType.ESCALATION:
            ctx.publication.throw_escalation(instance, element.escalation_code or "")
            if not ctx.publication.still_active(instance):
                return  # an interrupting catch around it ended it
        if element.event_type is EventType.COMPENSATION and ctx.publication.throw_compensation(instance):
            return  # it completes once the handlers it started have
        ctx.flow.complete(instance, variables)
