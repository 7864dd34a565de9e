"""Containers: the process and embedded sub-processes share one behaviour: they start at their none start
event, complete once nothing is left in them, and end everything in them when terminated."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine.core import by_key
from zeebe_celery.engine.processors.base import Context, Processor
from zeebe_celery.engine.state import ElementInstance

__all__ = ["Container", "EventSubProcess"]


class Container(Processor):
    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        if instance.start_at:
            # A process instance started at given elements (start instructions, a message start event).
            elements = instance.definition.process.elements
            for element_id in instance.start_at:
                ctx.flow.activate_within(instance, elements[element_id], variables)
            return
        start = instance.element.none_start
        assert start is not None  # the parser refuses a sub-process without a none start event
        ctx.flow.activate(start, instance)

    def on_terminate(self, ctx: Context, instance: ElementInstance) -> None:
        for child in by_key(instance.children):
            ctx.flow.terminate(child)


class EventSubProcess(Container):
    """Started by its start event's trigger (the scope decided whether that interrupts): it runs from that
    start event, with the trigger's variables."""

    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        start = instance.element.event_start
        assert start is not None  # the parser refuses an event sub-process without one
        ctx.flow.activate(start, instance, variables)
