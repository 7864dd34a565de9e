"""Events: end events, and the catch events and receive tasks that wait for a message, timer or signal.
Start events, none throw events and a fired boundary event pass through (the default behaviour)."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine.model import Element, EventType, Kind
from zeebe_celery.engine.processors.base import Context, Processor
from zeebe_celery.engine.state import ElementInstance

__all__ = ["CatchEvent", "EndEvent", "follows_event_gateway"]


class EndEvent(Processor):
    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        element = instance.element
        if element.event_type is EventType.ERROR:
            ctx.publication.throw_error(instance, element.error_code or "", "", {})
        elif element.event_type is EventType.TERMINATE:
            ctx.flow.terminate_scope(instance)
        elif element.event_type is EventType.COMPENSATION:
            if not ctx.publication.throw_compensation(instance):
                ctx.flow.complete(instance)
        elif element.event_type is EventType.ESCALATION:
            ctx.publication.throw_escalation(instance, element.escalation_code or "")
            if ctx.publication.still_active(instance):
                ctx.flow.complete(instance)
        else:
            ctx.flow.complete(instance)


class CatchEvent(Processor):
    """Intermediate catch events and receive tasks: wait for the message, timer or signal."""

    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        element = instance.element
        if follows_event_gateway(element):
            # Its event occurred already: the event-based gateway before it waited for it (nothing else
            # activates such an event: modifications and start instructions are refused).
            ctx.flow.complete(instance, variables)
            return
        ctx.subscriptions.open_wait(instance, element)


def follows_event_gateway(element: Element) -> bool:
    """The element is one of the events an event-based gateway waits for."""
    scope = element.parent
    return scope is not None and any(
        scope.children[f.source].kind is Kind.EVENT_BASED_GATEWAY for f in element.incoming
    )
