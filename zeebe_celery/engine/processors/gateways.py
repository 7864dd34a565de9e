"""Gateways: an exclusive gateway takes one flow; a parallel gateway forks (its join is the interpreter's
token count, as a flow into it arrives); an inclusive gateway takes every flow whose condition is true (its
join is the interpreter's too); an event-based gateway waits for the first of the events after it."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine import feel
from zeebe_celery.engine.model import SequenceFlow
from zeebe_celery.engine.processors.base import Context, Processor, StepFailed, feel_type
from zeebe_celery.engine.state import ElementInstance

__all__ = ["EventBasedGateway", "ExclusiveGateway", "InclusiveGateway"]

_NO_FLOW = "Expected at least one condition to evaluate to true, or to have a default flow"


class ExclusiveGateway(Processor):
    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        ctx.flow.complete(instance, flows=_choose(ctx, instance, first_only=True))


class InclusiveGateway(Processor):
    """Every outgoing flow whose condition is true, else the default flow; none is an incident."""

    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        ctx.flow.complete(instance, flows=_choose(ctx, instance, first_only=False))


class EventBasedGateway(Processor):
    """Opens the waits of the catch events after it; the first that occurs completes the gateway and
    takes the flow to its event, and the others' waits close (see EventPublication.trigger)."""

    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        scope = instance.element.parent
        assert scope is not None
        for flow in instance.element.outgoing:
            ctx.subscriptions.open_wait(instance, scope.children[flow.target])


def _choose(ctx: Context, instance: ElementInstance, *, first_only: bool) -> list[SequenceFlow]:
    """The outgoing flows whose conditions are true (only the first, for an exclusive gateway), else the
    default flow."""
    element = instance.element
    if len(element.outgoing) == 1 and element.outgoing[0].condition is None:
        return [element.outgoing[0]]
    scope = ctx.visible(instance)
    default = None
    chosen: list[SequenceFlow] = []
    for flow in element.outgoing:
        if flow.id == element.default_flow:
            default = flow
            continue
        assert flow.condition is not None
        try:
            outcome = flow.condition.evaluate(scope)
        except feel.FeelError as exc:
            raise StepFailed("CONDITION_ERROR", str(exc)) from exc
        if outcome is True:
            chosen.append(flow)
            if first_only:
                return chosen
        elif outcome is not False:
            raise StepFailed(
                "CONDITION_ERROR",
                f"Expected result of the expression '{flow.condition.source.lstrip('=')}' to be 'BOOLEAN', but "
                f"was '{feel_type(outcome)}'.",
            )
    if chosen:
        return chosen
    if default is not None:
        return [default]
    raise StepFailed("CONDITION_ERROR", _NO_FLOW)
