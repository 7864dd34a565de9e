"""DMN 1.1-1.5 decisions for the engine: decision tables and literal expressions, with FEEL cells.

::

    drg = parse_dmn(xml_bytes, resource_name="discount.dmn")   # DmnParseError names the element
    result = evaluate_decision(drg, "discount", {"tier": "gold"})
    result.output        # 20
    result.evaluated     # required decisions first, then "discount", with matched rules (1-based)
"""

from __future__ import annotations

from .errors import DmnError, DmnEvaluationError, DmnParseError
from .evaluate import evaluate_decision
from .model import (
    Decision,
    DecisionRequirements,
    DecisionResult,
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
    "Decision",
    "DecisionRequirements",
    "DecisionResult",
    "DecisionTable",
    "DmnError",
    "DmnEvaluationError",
    "DmnParseError",
    "EvaluatedDecision",
    "EvaluatedInput",
    "EvaluatedOutput",
    "Input",
    "LiteralExpression",
    "MatchedRule",
    "Output",
    "Rule",
    "evaluate_decision",
    "parse_dmn",
]
