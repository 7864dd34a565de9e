"""Element behaviours: what each BPMN element kind does once it is activated.

The interpreter activates, completes and terminates every element the same way; only this step differs by
kind, so a new element is one new behaviour here. A behaviour that cannot do its step raises
:class:`StepFailed`, which becomes an incident on the element.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from zeebe_celery.engine import dmn, feel
from zeebe_celery.engine.model import Element, EventType, Kind, SequenceFlow
from zeebe_celery.engine.state import ElementInstance, Job

__all__ = ["Behaviour", "StepFailed", "behaviour_for", "evaluate", "feel_type", "json_value"]

# The largest number a variable holds: Zeebe stores numbers as 64-bit integers or doubles.
_MAX_NUMBER = int(sys.float_info.max)


class StepFailed(Exception):
    """A step of an element could not be done; it becomes an incident of ``error_type``."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class Runner(Protocol):
    """What a behaviour may ask of the interpreter."""

    def visible(self, instance: ElementInstance) -> Mapping[str, Any]: ...

    def complete(
        self,
        instance: ElementInstance,
        variables: dict[str, Any] | None = None,
        *,
        flows: list[SequenceFlow] | None = None,
    ) -> None: ...

    def activate(
        self, element: Element, scope: ElementInstance, variables: dict[str, Any] | None = None
    ) -> ElementInstance: ...

    def open_boundaries(self, instance: ElementInstance) -> None: ...

    def open_wait(self, instance: ElementInstance, element: Element) -> None: ...

    def create_job(self, instance: ElementInstance, job_type: str, retries: int) -> Job: ...

    def throw_error(self, origin: ElementInstance, code: str, message: str, variables: dict[str, Any]) -> bool: ...

    def terminate_scope(self, end: ElementInstance) -> None: ...

    def evaluate_called_decision(self, decision_id: str, tenant_id: str, variables: Any) -> Any: ...


Behaviour = Callable[[Runner, ElementInstance, "dict[str, Any] | None"], None]


def behaviour_for(element: Element) -> Behaviour:
    # A task with a zeebe:taskDefinition is done by a job worker, whatever its kind.
    if element.task is not None:
        return job_worker_task
    return _BEHAVIOURS[element.kind]


def pass_through(runner: Runner, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
    """Start events, none throw events, manual and undefined tasks, a fork, a fired boundary event."""
    runner.complete(instance, variables)


def job_worker_task(runner: Runner, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
    """Service, send and user tasks (and job-based script and rule tasks): a job, and its boundary events."""
    runner.open_boundaries(instance)
    runner.create_job(instance, *_job_definition(runner, instance))


def end_event(runner: Runner, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
    element = instance.element
    if element.event_type is EventType.ERROR:
        runner.throw_error(instance, element.error_code or "", "", {})
    elif element.event_type is EventType.TERMINATE:
        runner.terminate_scope(instance)
    else:
        runner.complete(instance)


def exclusive_gateway(runner: Runner, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
    runner.complete(instance, flows=[_choose(runner, instance)])


def script_task(runner: Runner, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
    element = instance.element
    assert element.script is not None
    assert element.result_variable is not None
    script = element.script
    value = evaluate(runner, instance, lambda scope: json_value(script.evaluate(scope)), "EXTRACT_VALUE_ERROR")
    runner.complete(instance, {element.result_variable: value})


def business_rule_task(runner: Runner, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
    element = instance.element
    assert element.decision_id is not None
    assert element.result_variable is not None
    decision_id = evaluate(runner, instance, element.decision_id.evaluate, "EXTRACT_VALUE_ERROR")
    try:
        output = runner.evaluate_called_decision(str(decision_id), instance.tenant_id, runner.visible(instance))
    except LookupError as exc:
        raise StepFailed("CALLED_DECISION_ERROR", str(exc)) from exc
    except dmn.DmnError as exc:
        raise StepFailed("DECISION_EVALUATION_ERROR", str(exc)) from exc
    value = evaluate(runner, instance, lambda _: json_value(output), "DECISION_EVALUATION_ERROR")
    runner.complete(instance, {element.result_variable: value})


def catch_event(runner: Runner, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
    """Intermediate catch events and receive tasks: wait for the message, timer or signal."""
    runner.open_boundaries(instance)
    runner.open_wait(instance, instance.element)


def sub_process(runner: Runner, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
    element = instance.element
    runner.open_boundaries(instance)
    assert element.none_start is not None
    runner.activate(element.none_start, instance)


_BEHAVIOURS: dict[Kind, Behaviour] = {
    Kind.START_EVENT: pass_through,
    Kind.INTERMEDIATE_THROW_EVENT: pass_through,
    Kind.MANUAL_TASK: pass_through,
    Kind.TASK: pass_through,
    Kind.PARALLEL_GATEWAY: pass_through,
    Kind.BOUNDARY_EVENT: pass_through,
    Kind.END_EVENT: end_event,
    Kind.EXCLUSIVE_GATEWAY: exclusive_gateway,
    Kind.SCRIPT_TASK: script_task,
    Kind.BUSINESS_RULE_TASK: business_rule_task,
    Kind.INTERMEDIATE_CATCH_EVENT: catch_event,
    Kind.RECEIVE_TASK: catch_event,
    Kind.SUB_PROCESS: sub_process,
}


def evaluate(runner: Runner, instance: ElementInstance, fn: Callable[[Any], Any], error_type: str) -> Any:
    """``fn`` of the variables the instance sees; a FEEL failure is a StepFailed of ``error_type``."""
    try:
        return fn(runner.visible(instance))
    except feel.FeelError as exc:
        raise StepFailed(error_type, str(exc)) from exc


def _job_definition(runner: Runner, instance: ElementInstance) -> tuple[str, int]:
    task = instance.element.task
    assert task is not None
    job_type = evaluate(runner, instance, task.type.evaluate, "EXTRACT_VALUE_ERROR")
    if not isinstance(job_type, str) or not job_type:
        raise StepFailed(
            "EXTRACT_VALUE_ERROR",
            f"Expected result of the expression '{task.type.source}' to be 'STRING', but was '{feel_type(job_type)}'.",
        )
    retries = evaluate(runner, instance, task.retries.evaluate, "EXTRACT_VALUE_ERROR")
    try:
        return job_type, int(retries)
    except (TypeError, ValueError):
        raise StepFailed(
            "EXTRACT_VALUE_ERROR",
            f"Expected result of the expression '{task.retries.source}' to be 'NUMBER', but was "
            f"'{feel_type(retries)}'.",
        ) from None


def _choose(runner: Runner, instance: ElementInstance) -> SequenceFlow:
    """The outgoing flow of an exclusive gateway: the first whose condition is true, else the default."""
    element = instance.element
    if len(element.outgoing) == 1 and element.outgoing[0].condition is None:
        return element.outgoing[0]
    scope = runner.visible(instance)
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


def json_value(value: Any) -> Any:
    """A FEEL value as a JSON variable; a number no variable can hold (beyond a double's range, or not
    finite) fails like the expression that gave it, so it becomes an incident rather than a stored value
    that no client can read back."""
    converted = feel.to_json(value)
    _check_storable(converted)
    return converted


def _check_storable(value: Any) -> None:
    kind = type(value)
    if kind is int or kind is float:
        if not math.isfinite(value) if kind is float else abs(value) > _MAX_NUMBER:
            raise feel.FeelEvaluationError(
                f"Expected a number that can be stored as a variable, but the result is out of range: {_short(value)}"
            )
    elif kind is list:
        for item in value:
            _check_storable(item)
    elif kind is dict:
        for item in value.values():
            _check_storable(item)


def _short(number: float) -> str:
    if isinstance(number, float):
        return repr(number)
    # str() of a huge int raises (Python caps its digits); the bit length gives its size.
    return f"an integer of about {int(number.bit_length() * math.log10(2)) + 1} digits"


def feel_type(value: Any) -> str:
    """The FEEL type name of a value, as Zeebe's incident messages write it."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int | float):
        return "NUMBER"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, list):
        return "ARRAY"
    if isinstance(value, dict):
        return "OBJECT"
    return type(value).__name__.upper()
