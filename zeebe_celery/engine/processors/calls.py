"""Call activities: start a process instance of another process, wait for it, and end it with the call."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine.processors.base import Context, Processor, StepFailed, evaluate, feel_type
from zeebe_celery.engine.state import ElementInstance

__all__ = ["CallActivity"]


class CallActivity(Processor):
    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        called = instance.element.called
        assert called is not None
        process_id = evaluate(ctx, instance, called.process_id, "EXTRACT_VALUE_ERROR")
        if not isinstance(process_id, str) or not process_id:
            raise StepFailed(
                "EXTRACT_VALUE_ERROR",
                f"Expected result of the expression '{called.process_id.source.lstrip('=')}' to be 'STRING', but "
                f"was '{feel_type(process_id)}'.",
            )
        try:
            definition = ctx.resources.called_process(process_id, instance)
        except LookupError as exc:
            raise StepFailed("CALLED_ELEMENT_ERROR", str(exc)) from exc
        if definition.process.root.none_start is None:
            raise StepFailed(
                "CALLED_ELEMENT_ERROR",
                f"Expected process with BPMN process id '{process_id}' to have a none start event, but not found.",
            )
        # The child starts with every variable the call activity sees, or with its input mappings only.
        scope = ctx.visible(instance) if called.propagate_parent else instance.variables
        ctx.flow.start_called(definition, dict(scope), instance)

    def on_terminate(self, ctx: Context, instance: ElementInstance) -> None:
        child = instance.called
        if child is not None and child.key in ctx.state.instances:
            ctx.flow.terminate(child)
