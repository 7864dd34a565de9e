"""Zeebe's inclusive join: an inclusive gateway with several incoming flows activates with the tokens that
arrived once no element still active in its scope can reach it other than through a flow already taken."""

from __future__ import annotations

from zeebe_celery.engine.core import by_key
from zeebe_celery.engine.model import Element, EventType, Kind
from zeebe_celery.engine.processors.base import Context
from zeebe_celery.engine.state import ElementInstance, ElementState

__all__ = ["inclusive_join", "reaches"]


def reaches(start: Element, gateway: Element, taken: set[str]) -> bool:
    """Whether a token at ``start`` can still reach ``gateway`` (through its flows, boundary events and
    links, as Zeebe's inclusive join looks), other than through one of its incoming flows in ``taken``."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        element = todo.pop()
        if element.id in seen:
            continue
        seen.add(element.id)
        scope = element.parent
        assert scope is not None
        if element.kind is Kind.INTERMEDIATE_THROW_EVENT and element.event_type is EventType.LINK:
            todo += [
                e for e in scope.children.values() if e.kind is Kind.INTERMEDIATE_CATCH_EVENT and e.link == element.link
            ]
        for flow in element.outgoing:
            if flow.target == gateway.id:
                if flow.id not in taken:
                    return True
                continue
            todo.append(scope.children[flow.target])
        todo.extend(element.boundaries)
    return False


def inclusive_join(ctx: Context, scope: ElementInstance, gateway: Element) -> None:
    """Zeebe's inclusive join: the gateway also activates, with the tokens that arrived, once no
    element still active in its scope can reach it (but through a flow that already arrived)."""
    arrived = scope.joins.get(gateway.id)
    if not arrived or scope.state is not ElementState.ACTIVATED or scope.key not in ctx.state.instances:
        return
    taken = {f for f, count in arrived.items() if count > 0}
    if any(reaches(child.element, gateway, taken) for child in by_key(scope.children)):
        return
    # Tokens waiting at another join of the scope are on their way too.
    elements = scope.definition.process.elements
    waiting = [elements[g] for g in sorted(scope.joins) if g != gateway.id and +scope.joins[g]]
    if any(reaches(other, gateway, taken) for other in waiting):
        return
    ctx.state.joins_consumed(scope, gateway, only=taken)
    ctx.flow.activate(gateway, scope)
