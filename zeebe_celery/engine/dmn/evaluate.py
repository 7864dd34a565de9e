"""Evaluating a decision with its required decisions, in dependency order, the way Zeebe reports it."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from zeebe_celery.engine.feel import FeelError

from .errors import DmnEvaluationError
from .model import Decision, DecisionRequirements, DecisionResult, DecisionTable, EvaluatedDecision
from .tables import evaluate_table

__all__ = ["evaluate_decision"]


def evaluate_decision(drg: DecisionRequirements, decision_id: str, variables: Mapping[str, Any]) -> DecisionResult:
    """Evaluate ``decision_id``; each required decision is evaluated first (once) and its output is a
    variable named after its id. Raises DmnEvaluationError naming the decision that failed."""
    target = drg.decision(decision_id)
    if target is None:
        raise DmnEvaluationError(
            decision_id, f"Expected to evaluate decision '{decision_id}', but no decision found for id '{decision_id}'"
        )
    results: dict[str, Any] = {}
    # Required decisions' outputs shadow the variables; without any, the variables are used as they are.
    scope: Mapping[str, Any] = ChainMap(results, variables) if target.required_decisions else variables  # type: ignore[arg-type]
    evaluated: list[EvaluatedDecision] = []
    for decision in _in_dependency_order(drg, target):
        outcome = _evaluate_one(decision, scope)
        results[decision.id] = outcome.output
        evaluated.append(outcome)
    return DecisionResult(output=evaluated[-1].output, evaluated=evaluated)


def _in_dependency_order(drg: DecisionRequirements, target: Decision) -> list[Decision]:
    ordered: list[Decision] = []
    seen: set[str] = set()

    def visit(decision: Decision) -> None:
        if decision.id in seen:
            return
        seen.add(decision.id)  # the parser rejected cycles, so seeing an id again means it is done
        for required in decision.required_decisions:
            found = drg.decision(required)
            if found is not None:
                visit(found)
        ordered.append(decision)

    visit(target)
    return ordered


def _evaluate_one(decision: Decision, variables: Mapping[str, Any]) -> EvaluatedDecision:
    logic = decision.logic
    if isinstance(logic, DecisionTable):
        return evaluate_table(decision, logic, variables)
    try:
        output = logic.expression.evaluate(variables)
    except FeelError as error:
        raise DmnEvaluationError(decision.id, f"Expected to evaluate decision '{decision.id}', but {error}") from None
    return EvaluatedDecision(decision.id, decision.name, "LITERAL_EXPRESSION", output)


def evaluate_by_name(drg: DecisionRequirements, name: str, variables: Mapping[str, Any]) -> Any:
    for decision in drg.decisions:
        if decision.name == name:
            return evaluate_decision(drg, decision.id, variables).output
    raise DmnEvaluationError(name, f"no decision named '{name}'")


def evaluate_service_by_name(drg: DecisionRequirements, name: str, variables: Mapping[str, Any], output: str) -> Any:
    raise DmnEvaluationError(name, "decision services are not supported")
