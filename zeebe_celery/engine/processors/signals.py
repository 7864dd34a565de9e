"""Signal throw and end events: they broadcast their signal, as Zeebe's signal throw events do."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine.processors.base import Context, Processor, StepFailed, evaluate, feel_type
from zeebe_celery.engine.state import ElementInstance

__all__ = ["SignalThrow"]


class SignalThrow(Processor):
    """Broadcasts the signal, with the event's local variables (its input mappings) as the signal's, then
    completes. The broadcast is processed after the event's step, as Zeebe writes it as a command."""

    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        signal = instance.element.signal
        assert signal is not None
        name = evaluate(ctx, instance, signal, "EXTRACT_VALUE_ERROR")
        if not isinstance(name, str):
            raise StepFailed(
                "EXTRACT_VALUE_ERROR",
                f"Expected result of the expression '{signal.source.lstrip('=')}' to be 'STRING', but was "
                f"'{feel_type(name)}'.",
            )
        # As Zeebe's docs have it: the signal carries the event's local variables (its input mappings').
        payload = dict(instance.variables)
        tenant = instance.tenant_id
        ctx.flow.complete(instance)
        ctx.flow.later(lambda: _broadcast(ctx, name, payload, tenant))


def _broadcast(ctx: Context, name: str, variables: dict[str, Any], tenant_id: str) -> None:
    ctx.subscriptions.broadcast_signal(name, variables=variables, tenant_id=tenant_id)
