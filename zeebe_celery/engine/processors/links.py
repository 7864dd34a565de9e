"""Link events: a link throw event goes on at the catch link event of its name in the same scope (a
catch link event itself passes through)."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine.model import Kind
from zeebe_celery.engine.processors.base import Context, Processor
from zeebe_celery.engine.state import ElementInstance

__all__ = ["LinkThrow"]


class LinkThrow(Processor):
    """Completes, and activates the catch link event of the same name in its scope (the parser checked
    there is one)."""

    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        element = instance.element
        scope = instance.parent
        assert scope is not None
        assert element.parent is not None
        target = next(
            e
            for e in element.parent.children.values()
            if e.kind is Kind.INTERMEDIATE_CATCH_EVENT and e.link == element.link
        )
        ctx.flow.complete(instance, flows=[])
        ctx.flow.activate(target, scope)
