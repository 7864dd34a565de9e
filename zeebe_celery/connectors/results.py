"""What a connector's result becomes: the output variables Camunda's connector convention asks for.

A connector never overwrites process variables by surprise. The task header ``resultVariable`` puts the
whole result into that one variable; ``resultExpression`` is a FEEL context expression over the result
whose entries become variables; with neither header the job completes with no variables.

FEEL is the engine's own module (``zeebe_celery.engine.feel``); this module is the one place that uses
it, so the connectors depend on exactly ``compile_expression``, ``FeelError`` and ``to_json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from zeebe_celery.engine import feel

__all__ = ["RESULT_EXPRESSION", "RESULT_VARIABLE", "ResultMappingError", "output_variables", "result_context"]

RESULT_VARIABLE = "resultVariable"
RESULT_EXPRESSION = "resultExpression"


class ResultMappingError(ValueError):
    """The result cannot be mapped as the task headers ask; a retry would fail the same way."""


def as_json(result: Any) -> Any:
    """The result as JSON data: a model becomes its dict, anything else stays as it is."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return result


def result_context(result: Any) -> dict[str, Any]:
    """The variables a ``resultExpression`` sees: a model's or dict's fields, or ``result`` for a simple value."""
    data = as_json(result)
    if isinstance(data, Mapping):
        return {str(k): v for k, v in data.items()}
    return {"result": data}


def output_variables(result: Any, headers: Mapping[str, Any]) -> dict[str, Any] | None:
    """The variables to complete the job with, following the ``resultVariable`` and ``resultExpression`` headers.

    Raises ResultMappingError when the expression does not compile, fails, or is not a FEEL context.
    """
    variables: dict[str, Any] = {}
    target = headers.get(RESULT_VARIABLE)
    if isinstance(target, str) and target.strip():
        variables[target.strip()] = as_json(result)
    expression = headers.get(RESULT_EXPRESSION)
    if isinstance(expression, str) and expression.strip():
        variables.update(_evaluate(expression, result))
    return variables or None


def _evaluate(text: str, result: Any) -> dict[str, Any]:
    source = text.strip().removeprefix("=").strip()
    try:
        value = feel.compile_expression(source).evaluate(result_context(result))
    except feel.FeelError as exc:
        raise ResultMappingError(f"{RESULT_EXPRESSION} {text!r}: {exc}") from None
    mapped = feel.to_json(value)
    if not isinstance(mapped, Mapping):
        raise ResultMappingError(f"{RESULT_EXPRESSION} {text!r} must be a FEEL context, got {type(mapped).__name__}")
    return {str(k): v for k, v in mapped.items()}
