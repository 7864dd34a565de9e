"""Evaluating a decision with its required decisions, in dependency order, the way Zeebe reports it.

A decision sees the variables, the results of the decisions it requires (each under its variable's name),
and every business knowledge model and decision service of the resource as a FEEL function, by name.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from zeebe_celery.engine.feel import FeelError
from zeebe_celery.engine.feel.values import FeelFunction

from .boxed import TableExpression, TypedFunction
from .errors import DmnError, DmnEvaluationError, DmnExpressionError
from .model import (
    BusinessKnowledgeModel,
    Decision,
    DecisionRequirements,
    DecisionResult,
    DecisionService,
    EvaluatedDecision,
)
from .tables import evaluate_table
from .types import Types

__all__ = ["evaluate_by_name", "evaluate_decision", "evaluate_service", "evaluate_service_by_name"]


def evaluate_decision(drg: DecisionRequirements, decision_id: str, variables: Mapping[str, Any]) -> DecisionResult:
    """Evaluate ``decision_id``; each required decision is evaluated first (once). Raises DmnEvaluationError
    naming the decision that failed."""
    target = drg.decision(decision_id)
    if target is None:
        raise DmnEvaluationError(
            decision_id, f"Expected to evaluate decision '{decision_id}', but no decision found for id '{decision_id}'"
        )
    return _Evaluation(drg, variables).run(target)


def evaluate_service(drg: DecisionRequirements, service: DecisionService, variables: Mapping[str, Any]) -> Any:
    """A decision service's result: its one output decision's value, or a context of them by name. The input
    decisions are not evaluated: their values are read from ``variables`` by name, as the input data are."""
    given = dict(variables)
    try:
        for name in service.input_data:
            if name in given:
                given[name] = drg.types.convert(given[name], drg.input_types.get(name), f"the input '{name}'")
        evaluation = _Evaluation(drg, given)
        for decision_id in service.input_decisions:
            decision = drg.decision(decision_id)
            if decision is not None:
                value = given.get(decision.result_name)
                what = f"the input decision '{decision.name}'"
                evaluation.results[decision.result_name] = drg.types.convert(value, decision.type_ref, what)
                evaluation.done.add(decision.id)
    except DmnExpressionError as error:
        raise DmnEvaluationError(
            service.id, f"Expected to evaluate decision service '{service.name}', but {error}"
        ) from None
    outputs = {}
    for decision_id in service.output_decisions:
        decision = drg.decision(decision_id)
        if decision is None:
            raise DmnEvaluationError(
                service.id, f"the decision service '{service.name}' names no decision '{decision_id}'"
            )
        outputs[decision.name] = evaluation.run(decision).output
    result = next(iter(outputs.values())) if len(outputs) == 1 else outputs
    try:
        return drg.types.convert_result(result, service.type_ref, f"the decision service '{service.name}'")
    except DmnExpressionError as error:
        raise DmnEvaluationError(
            service.id, f"Expected to evaluate decision service '{service.name}', but {error}"
        ) from None


def evaluate_by_name(drg: DecisionRequirements, name: str, variables: Mapping[str, Any]) -> Any:
    """The output of the decision (or decision service) called ``name``; raises DmnEvaluationError."""
    decision = drg.decision_named(name)
    if decision is not None:
        return _Evaluation(drg, variables).run(decision).output
    service = drg.service_named(name)
    if service is not None:
        return evaluate_service(drg, service, variables)
    raise DmnEvaluationError(name, f"Expected to evaluate decision '{name}', but no decision is named '{name}'")


def evaluate_service_by_name(drg: DecisionRequirements, name: str, variables: Mapping[str, Any], output: str) -> Any:
    """The result of the service called ``name``, or of its output decision called ``output``."""
    service = drg.service_named(name)
    if service is None:
        raise DmnEvaluationError(name, f"Expected to evaluate decision service '{name}', but there is none")
    result = evaluate_service(drg, service, variables)
    if len(service.output_decisions) > 1 and isinstance(result, dict) and output in result:
        return result[output]
    return result


# The decision types Zeebe reports (dmn-scala's); the DMN 1.4 boxed expressions it lacks report UNKNOWN.
_ZEEBE_TYPES = frozenset({"DECISION_TABLE", "LITERAL_EXPRESSION", "CONTEXT", "INVOCATION", "LIST", "RELATION"})


class _Evaluation:
    """One evaluation: the decisions' results so far, over the variables, over the resource's functions."""

    def __init__(self, drg: DecisionRequirements, variables: Mapping[str, Any]) -> None:
        self.drg = drg
        self.functions: dict[str, Any] = {}
        self.results: dict[str, Any] = {}
        self.done: set[str] = set()
        self.variables = variables
        # The variables as they are when nothing shadows them: a lone table reads its cells straight from them.
        self.scope: Mapping[str, Any] = variables
        if len(drg.decisions) > 1 or drg.knowledge_models or drg.services:
            self.scope = ChainMap(self.results, variables, self.functions)  # type: ignore[arg-type]
        for bkm in drg.knowledge_models:
            self.functions[bkm.name] = _bkm_function(bkm, self.functions, drg.types)
        for service in drg.services:
            self.functions[service.name] = _service_function(drg, service)

    def run(self, target: Decision) -> DecisionResult:
        evaluated: list[EvaluatedDecision] = []
        for decision in self._in_dependency_order(target):
            outcome = self._evaluate_one(decision)
            self.results[decision.result_name] = outcome.output
            self.done.add(decision.id)
            evaluated.append(outcome)
        if not evaluated:  # the target was given (an input decision of a service)
            return DecisionResult(self.results.get(target.result_name), [])
        return DecisionResult(output=evaluated[-1].output, evaluated=evaluated)

    def _in_dependency_order(self, target: Decision) -> list[Decision]:
        ordered: list[Decision] = []
        seen: set[str] = set(self.done)

        def visit(decision: Decision) -> None:
            if decision.id in seen:
                return
            seen.add(decision.id)  # the parser rejected cycles, so seeing an id again means it is done
            for required in decision.required_decisions:
                found = self.drg.decision(required)
                if found is not None:
                    visit(found)
            ordered.append(decision)

        visit(target)
        return ordered

    def _evaluate_one(self, decision: Decision) -> EvaluatedDecision:
        logic = decision.logic
        if logic is None:  # no decision logic: the value is given, by the decision's name
            output = self.variables.get(decision.result_name, self.variables.get(decision.name))
            return EvaluatedDecision(decision.id, decision.name, "UNKNOWN", output)
        try:
            if isinstance(logic, TableExpression):
                evaluated = evaluate_table(decision, logic.table, self.scope)
            else:
                kind = logic.kind if logic.kind in _ZEEBE_TYPES else "UNKNOWN"
                evaluated = EvaluatedDecision(decision.id, decision.name, kind, logic.evaluate(self.scope))
            evaluated.output = self.drg.types.convert(
                evaluated.output, decision.type_ref, f"the decision '{decision.id}'"
            )
        except (FeelError, DmnExpressionError) as error:
            raise DmnEvaluationError(
                decision.id, f"Expected to evaluate decision '{decision.id}', but {error}"
            ) from None
        return evaluated


def _bkm_function(bkm: BusinessKnowledgeModel, functions: Mapping[str, Any], types: Types) -> FeelFunction:
    body = bkm.body
    if body is None:
        return FeelFunction(bkm.parameters, lambda scope: None, functions)
    return TypedFunction(bkm.name, bkm.parameters, bkm.parameter_types, body.evaluate, functions, types)


def _service_function(drg: DecisionRequirements, service: DecisionService) -> FeelFunction:
    """A decision service as a FEEL function: its input data, then its input decisions, are the parameters."""
    decisions = [d for ref in service.input_decisions if (d := drg.decision(ref)) is not None]
    names = list(service.input_data) + [d.result_name for d in decisions]
    types = [drg.input_types.get(name, "") for name in service.input_data] + [d.type_ref for d in decisions]

    def body(scope: Mapping[str, Any]) -> Any:
        arguments = {name: scope.get(name) for name in names}
        try:
            return evaluate_service(drg, service, arguments)
        except DmnError as error:
            raise DmnExpressionError(f"the decision service '{service.name}' failed: {error}") from None

    return TypedFunction(service.name, names, types, body, {}, drg.types)
