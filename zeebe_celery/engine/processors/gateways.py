"""Gateways: an exclusive gateway takes one flow; a parallel gateway forks (its join is the interpreter's
token count, as a flow into it arrives)."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine import feel
from zeebe_celery.engine.model import SequenceFlow
from zeebe_celery.engine.processors.base import Context, Processor, StepFailed, feel_type
from zeebe_celery.engine.state import ElementInstance

__all__ = ["ExclusiveGateway"]


class ExclusiveGateway(Processor):
    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        ctx.flow.complete(instance, flows=[_choose(ctx, instance)])


def _choose(ctx: Context, instance: ElementInstance) -> SequenceFlow:
    """The first outgoing flow whose condition is true, else the default."""
    element = instance.element
    if len(element.outgoing) == 1 and element.outgoing[0].condition is None:
        return element.outgoing[0]
    scope = ctx.visible(instance)
    default = None
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
            return flow
        if outcome is not False:
            raise StepFailed(
                "CONDITION_ERROR",
                f"Expected result of the expression '{flow.condition.source.lstrip('=')}' to be 'BOOLEAN', but "
                f"was '{feel_type(outcome)}'.",
            )
    if default is not None:
        return default
    raise StepFailed(
        "CONDITION_ERROR", "Expected at least one condition to evaluate to true, or to have a default flow"
    )
