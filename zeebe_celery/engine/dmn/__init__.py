"""DMN 1.1-1.5 decisions for the engine: decision tables, literal expressions and the other boxed expressions
(contexts, invocations, lists, relations, conditionals, filters, iterators, function definitions), business
knowledge models and decision services, with FEEL cells.

::

    drg = parse_dmn(xml_bytes, resource_name="discount.dmn")   # DmnParseError names the element
    result = evaluate_decision(drg, "discount", {"tier": "gold"})
    result.output        # 20
    result.evaluated     # required decisions first, then "discount", with matched rules (1-based)

``parse_dmn(..., lazy=True)`` keeps a model with an expression it cannot read, failing only what evaluates
that expression (the engine parses strictly, as Zeebe does).
"""

from __future__ import annotations

from .errors import DmnError, DmnEvaluationError, DmnExpressionError, DmnParseError
from .evaluate import evaluate_by_name, evaluate_decision, evaluate_service, evaluate_service_by_name
from .model import (
    BusinessKnowledgeModel,
    Decision,
    DecisionRequirements,
    DecisionResult,
    DecisionService,
    DecisionTable,
    EvaluatedDecision,
    EvaluatedInput,
    EvaluatedOutput,
    Input,
    LiteralExpression,
    MatchedRule,
    Output,
    Rule,
)
from .parser import parse_dmn

__all__ = [
    "BusinessKnowledgeModel",
    "Decision",
    "DecisionRequirements",
    "DecisionResult",
    "DecisionService",
    "DecisionTable",
    "DmnError",
    "DmnEvaluationError",
    "DmnExpressionError",
    "DmnParseError",
    "EvaluatedDecision",
    "EvaluatedInput",
    "EvaluatedOutput",
    "Input",
    "LiteralExpression",
    "MatchedRule",
    "Output",
    "Rule",
    "evaluate_by_name",
    "evaluate_decision",
    "evaluate_service",
    "evaluate_service_by_name",
    "parse_dmn",
]
