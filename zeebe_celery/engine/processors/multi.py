"""Multi-instance bodies: the activity runs once per item of the input collection, in parallel or one after
another; each inner instance has its ``loopCounter`` and input element, the output elements are collected
in order, and a completion condition may end the body early. The body takes the activity's place in its
flow scope, so its flows and boundary events are the body's."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine.core import by_key
from zeebe_celery.engine.model import Element, LoopCharacteristics
from zeebe_celery.engine.processors.base import Context, StepFailed, evaluate, feel_type, json_value
from zeebe_celery.engine.processors.containers import Container
from zeebe_celery.engine.state import ElementInstance

__all__ = ["MultiInstanceBody"]

INSTANCES = "numberOfInstances"
ACTIVE = "numberOfActiveInstances"
COMPLETED = "numberOfCompletedInstances"
TERMINATED = "numberOfTerminatedInstances"
LOOP_COUNTER = "loopCounter"


class MultiInstanceBody(Container):
    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        inner, loop = _parts(instance.element)
        items = _collection(ctx, instance, loop)
        counters: dict[str, Any] = {INSTANCES: len(items), ACTIVE: 0, COMPLETED: 0, TERMINATED: 0}
        if loop.output_collection is not None:
            counters[loop.output_collection] = [None] * len(items)
        ctx.state.set_local(instance, counters)
        if not items:
            ctx.flow.complete(instance)
            return
        for index in range(1 if loop.sequential else len(items)):
            _start(ctx, instance, inner, loop, items, index)

    def on_child_completing(self, ctx: Context, instance: ElementInstance, child: ElementInstance) -> None:
        inner, loop = _parts(instance.element)
        state = ctx.state
        index = int(child.variables[LOOP_COUNTER]) - 1
        if loop.output_collection is not None and loop.output_element is not None:
            element = evaluate(ctx, child, loop.output_element, "EXTRACT_VALUE_ERROR")
            collected = list(instance.variables.get(loop.output_collection) or [])
            if index < len(collected):
                collected[index] = json_value(element)
            state.set_local(instance, {loop.output_collection: collected})
        counts = instance.variables
        state.set_local(instance, {ACTIVE: counts[ACTIVE] - 1, COMPLETED: counts[COMPLETED] + 1})
        if loop.completion_condition is not None:
            condition = loop.completion_condition
            fulfilled = evaluate(ctx, child, condition, "EXTRACT_VALUE_ERROR")
            if not isinstance(fulfilled, bool):
                raise StepFailed(
                    "EXTRACT_VALUE_ERROR",
                    f"Expected result of the expression '{condition.source.lstrip('=')}' to be 'BOOLEAN', but "
                    f"was '{feel_type(fulfilled)}'.",
                )
            if fulfilled:
                others = [c for c in by_key(instance.children) if c is not child]
                for other in others:
                    ctx.flow.terminate(other)
                state.set_local(
                    instance, {ACTIVE: counts[ACTIVE] - len(others), TERMINATED: counts[TERMINATED] + len(others)}
                )
                return
        if loop.sequential and index + 1 < counts[INSTANCES]:
            _start(ctx, instance, inner, loop, _collection(ctx, instance, loop), index + 1)

    def on_complete(self, ctx: Context, instance: ElementInstance) -> None:
        # The output collection is the body's own variable until the body completes; then it goes up.
        _, loop = _parts(instance.element)
        if loop.output_collection is not None and instance.parent is not None:
            name = loop.output_collection
            ctx.state.propagate(instance.parent, {name: instance.variables.get(name)})


def _parts(body: Element) -> tuple[Element, LoopCharacteristics]:
    assert body.inner is not None
    assert body.loop is not None
    return body.inner, body.loop


def _collection(ctx: Context, instance: ElementInstance, loop: LoopCharacteristics) -> list[Any]:
    items = evaluate(ctx, instance, loop.input_collection, "EXTRACT_VALUE_ERROR")
    if not isinstance(items, list):
        raise StepFailed(
            "EXTRACT_VALUE_ERROR",
            f"Expected result of the expression '{loop.input_collection.source.lstrip('=')}' to be 'ARRAY', but "
            f"was '{feel_type(items)}'.",
        )
    return items


def _start(
    ctx: Context, body: ElementInstance, inner: Element, loop: LoopCharacteristics, items: list[Any], index: int
) -> None:
    """An inner instance for item ``index``: its loop counter and input element are its own variables,
    set before its input mappings read them."""
    child = ctx.flow.activate(inner, body)
    local = {LOOP_COUNTER: index + 1}
    if loop.input_element is not None:
        local[loop.input_element] = json_value(items[index])
    ctx.state.set_local(child, local)
    ctx.state.set_local(body, {ACTIVE: body.variables[ACTIVE] + 1})
