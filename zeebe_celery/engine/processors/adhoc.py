"""Ad-hoc sub-processes, as the Camunda docs describe them: their elements run when activated, each
activation in a scope of its own (whose variables stay there), by the active elements collection when the
sub-process starts, or by its job worker, asked again after every activation completes. A completion
condition (evaluated as each activation completes, or decided by the worker) ends it, cancelling what still
runs unless told to wait. Outputs are collected in the output collection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zeebe_celery.engine.bpmn.activities import activatable
from zeebe_celery.engine.core import by_key
from zeebe_celery.engine.errors import InvalidArgument
from zeebe_celery.engine.model import AdHoc, Element
from zeebe_celery.engine.processors.base import Context, StepFailed, evaluate, feel_type, json_value
from zeebe_celery.engine.processors.containers import Container
from zeebe_celery.engine.state import ElementInstance

__all__ = ["AD_HOC_ELEMENTS", "AdHocDecision", "AdHocSubProcess", "InnerInstance", "decide", "elements_of"]

AD_HOC_ELEMENTS = "adHocSubProcessElements"


@dataclass(frozen=True)
class AdHocDecision:
    """What an ad-hoc sub-process's job worker answered (CompleteJob's JobResult)."""

    activate: Sequence[tuple[str, dict[str, Any]]] = ()
    completion_fulfilled: bool = False
    cancel_remaining: bool = False


class AdHocSubProcess(Container):
    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        element = instance.element
        config = _config(element)
        local: dict[str, Any] = {AD_HOC_ELEMENTS: elements_of(element)}
        if config.output_collection is not None:
            local[config.output_collection] = []
        ctx.state.set_local(instance, local)
        if element.task is not None:
            _ask_worker(ctx, instance)
            return
        if config.active_elements is None:
            return  # nothing to activate: it stays active, as the docs say
        ids = evaluate(ctx, instance, config.active_elements, "EXTRACT_VALUE_ERROR")
        allowed = {e.id for e in activatable(element)}
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise StepFailed(
                "EXTRACT_VALUE_ERROR",
                f"Expected result of the expression '{config.active_elements.source.lstrip('=')}' to be a list of "
                f"element ids, but was '{feel_type(ids)}'.",
            )
        unknown = [i for i in ids if i not in allowed]
        if unknown:
            raise StepFailed(
                "EXTRACT_VALUE_ERROR",
                f"Expected the elements {unknown} of the active elements collection to be activatable elements "
                f"of the ad-hoc sub-process '{element.id}', but they are not: {sorted(allowed)}.",
            )
        for element_id in ids:
            activate_element(ctx, instance, element_id, {})

    def on_child_completing(self, ctx: Context, instance: ElementInstance, child: ElementInstance) -> None:
        config = _config(instance.element)
        if config.output_collection is not None and config.output_element is not None:
            value = evaluate(ctx, child, config.output_element, "EXTRACT_VALUE_ERROR")
            collected = [*instance.variables.get(config.output_collection, []), json_value(value)]
            ctx.state.set_local(instance, {config.output_collection: collected})
        if instance.element.task is not None:
            if not instance.fulfilled:
                _ask_worker(ctx, instance)
            return
        condition = config.completion_condition
        if condition is None:
            return
        fulfilled = evaluate(ctx, child, condition, "EXTRACT_VALUE_ERROR")
        if not isinstance(fulfilled, bool):
            raise StepFailed(
                "EXTRACT_VALUE_ERROR",
                f"Expected result of the expression '{condition.source.lstrip('=')}' to be 'BOOLEAN', but was "
                f"'{feel_type(fulfilled)}'.",
            )
        if fulfilled:
            _fulfil(ctx, instance, child, cancel=config.cancel_remaining)

    def on_complete(self, ctx: Context, instance: ElementInstance) -> None:
        # The output collection is the sub-process's own variable until it completes; then it goes up.
        config = _config(instance.element)
        if config.output_collection is not None and instance.parent is not None:
            name = config.output_collection
            ctx.state.propagate(instance.parent, {name: instance.variables.get(name)})

    def is_done(self, instance: ElementInstance) -> bool:
        if instance.children:
            return False
        config = _config(instance.element)
        # Without a condition (and without a worker) it is done once what it activated is done.
        decides = instance.element.task is not None or config.completion_condition is not None
        return instance.fulfilled or not decides


class InnerInstance(Container):
    """The scope one activation of an ad-hoc sub-process's element runs in."""

    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        raise AssertionError("an ad-hoc inner instance is activated by its ad-hoc sub-process")


def decide(ctx: Context, instance: ElementInstance, decision: AdHocDecision) -> None:
    """The job worker's answer: the elements to activate (each with its variables), or the completion.
    Raises InvalidArgument (the completion is rejected) for an element it cannot activate."""
    allowed = {e.id for e in activatable(instance.element)}
    if decision.completion_fulfilled and decision.activate:
        raise InvalidArgument(
            "Expected to complete the ad-hoc sub-process job either by activating elements or by fulfilling the "
            "completion condition, but both were given"
        )
    for element_id, _ in decision.activate:
        if element_id not in allowed:
            raise InvalidArgument(
                f"Expected to activate element '{element_id}' of the ad-hoc sub-process '{instance.element.id}', "
                f"but it is not an activatable element of it: {sorted(allowed)}"
            )
    for element_id, variables in decision.activate:
        activate_element(ctx, instance, element_id, variables)
    if decision.completion_fulfilled:
        _fulfil(ctx, instance, None, cancel=decision.cancel_remaining)
    ctx.flow.later(lambda: ctx.flow.check_scope(instance))


def activate_element(ctx: Context, instance: ElementInstance, element_id: str, variables: dict[str, Any]) -> None:
    inner_element = instance.element.inner
    assert inner_element is not None
    scope = ctx.state.element_activating(inner_element, instance, instance.definition)
    ctx.state.element_activated(scope)
    if variables:
        ctx.state.set_local(scope, variables)
    ctx.flow.activate(instance.element.children[element_id], scope)


def elements_of(element: Element) -> list[dict[str, Any]]:
    """The ``adHocSubProcessElements`` variable: what a worker may activate."""
    return [
        {
            "elementId": e.id,
            "elementName": e.name,
            "documentation": e.documentation,
            "properties": {},
            "parameters": [],
        }
        for e in activatable(element)
    ]


def _fulfil(ctx: Context, instance: ElementInstance, child: ElementInstance | None, *, cancel: bool) -> None:
    ctx.state.fulfilled(instance)
    if cancel:
        for other in by_key(instance.children):
            if other is not child:
                ctx.flow.terminate(other)


def _ask_worker(ctx: Context, instance: ElementInstance) -> None:
    """One job at a time: a new question replaces one the worker has not answered yet."""
    if instance.job is not None:
        ctx.jobs.cancel_job(instance.job)
    ctx.jobs.create_ad_hoc_job(instance)


def _config(element: Element) -> AdHoc:
    assert element.ad_hoc is not None
    return element.ad_hoc
