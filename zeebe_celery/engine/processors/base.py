"""What every element processor is, and what it may ask of the runtime.

A processor says what its element kind does when it is activated, completed and terminated. What every
element shares (input and output mappings, boundary events, incidents, leaving through its flows) is the
interpreter's, so no processor repeats it. A processor that cannot do its step raises :class:`StepFailed`,
which the interpreter turns into an incident on the element, with none of the step kept.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from zeebe_celery.engine import feel
from zeebe_celery.engine.appliers import Appliers
from zeebe_celery.engine.model import Expr
from zeebe_celery.engine.parts import Flow, JobWork, Publication, Resources, Subscriptions, UserTaskWork
from zeebe_celery.engine.state import ElementInstance

__all__ = ["Context", "Processor", "StepFailed", "evaluate", "feel_type", "json_value"]

# The largest number a variable holds: Zeebe stores numbers as 64-bit integers or doubles.
_MAX_NUMBER = int(sys.float_info.max)


class StepFailed(Exception):
    """A step of an element could not be done; it becomes an incident of ``error_type``."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class Context(Protocol):
    """What a processor may use: the state, and the runtime's parts."""

    @property
    def state(self) -> Appliers: ...

    @property
    def flow(self) -> Flow: ...

    @property
    def jobs(self) -> JobWork: ...

    @property
    def subscriptions(self) -> Subscriptions: ...

    @property
    def publication(self) -> Publication: ...

    @property
    def resources(self) -> Resources: ...

    @property
    def user_tasks(self) -> UserTaskWork: ...

    def visible(self, instance: ElementInstance) -> Mapping[str, Any]: ...


class Processor:
    """The behaviour of one element kind; the defaults are an element that does nothing of its own."""

    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        """The element is activated (its input mappings applied, its boundary events open)."""
        ctx.flow.complete(instance, variables)

    def on_complete(self, ctx: Context, instance: ElementInstance) -> None:
        """The element is completing, before its output mappings are applied."""

    def on_terminate(self, ctx: Context, instance: ElementInstance) -> None:
        """The element is being terminated, before its waits and incident are closed."""

    def on_child_completing(self, ctx: Context, instance: ElementInstance, child: ElementInstance) -> None:
        """A child of this container is completing (its output mappings applied, before it leaves)."""

    def is_done(self, instance: ElementInstance) -> bool:
        """Whether the container, active, completes now: by default once nothing is left in it."""
        return not instance.children and not instance.joins


def evaluate(ctx: Context, instance: ElementInstance, expr: Expr | Callable[[Any], Any], error_type: str) -> Any:
    """The value of ``expr`` (or of a function) over the variables the instance sees; a FEEL failure is a
    StepFailed of ``error_type``. A static value costs no variable lookup."""
    fn: Callable[[Any], Any]
    if isinstance(expr, Expr):
        if expr.compiled is None:
            return expr.source
        fn = expr.evaluate
    else:
        fn = expr
    try:
        return fn(ctx.visible(instance))
    except feel.FeelError as exc:
        raise StepFailed(error_type, str(exc)) from exc


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
