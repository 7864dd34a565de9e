"""The parsed shape of a DMN resource, and the shape of an evaluation's result (as Zeebe reports it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zeebe_celery.engine.feel import Expression, UnaryTests

__all__ = [
    "Decision",
    "DecisionRequirements",
    "DecisionResult",
    "DecisionTable",
    "EvaluatedDecision",
    "EvaluatedInput",
    "EvaluatedOutput",
    "Input",
    "LiteralExpression",
    "MatchedRule",
    "Output",
    "Rule",
]


@dataclass(frozen=True)
class Input:
    id: str
    name: str  # the label, else the expression's text
    expression: Expression


@dataclass(frozen=True)
class Output:
    id: str
    name: str  # the key of this column in a multi-output result
    values: tuple[Any, ...] = ()  # outputValues, in priority order, for PRIORITY and OUTPUT ORDER


@dataclass(frozen=True)
class Rule:
    id: str
    index: int  # 1-based
    input_entries: tuple[UnaryTests, ...]
    output_entries: tuple[Expression | None, ...]  # None for an empty cell (null)


@dataclass(frozen=True)
class DecisionTable:
    id: str
    hit_policy: str  # UNIQUE, FIRST, PRIORITY, ANY, RULE ORDER, OUTPUT ORDER, COLLECT
    aggregation: str | None  # SUM, MIN, MAX, COUNT for COLLECT
    inputs: tuple[Input, ...]
    outputs: tuple[Output, ...]
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class LiteralExpression:
    id: str
    expression: Expression
    variable_name: str


@dataclass(frozen=True)
class Decision:
    id: str
    name: str
    logic: DecisionTable | LiteralExpression
    required_decisions: tuple[str, ...] = ()

    @property
    def decision_type(self) -> str:
        return "DECISION_TABLE" if isinstance(self.logic, DecisionTable) else "LITERAL_EXPRESSION"


@dataclass(frozen=True)
class DecisionRequirements:
    id: str
    name: str
    decisions: tuple[Decision, ...]  # in document order
    resource_name: str = ""
    namespace: str = ""
    _by_id: dict[str, Decision] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({d.id: d for d in self.decisions})

    def decision(self, decision_id: str) -> Decision | None:
        return self._by_id.get(decision_id)


@dataclass
class EvaluatedOutput:
    output_id: str
    output_name: str
    value: Any


@dataclass
class MatchedRule:
    rule_id: str
    rule_index: int
    outputs: list[EvaluatedOutput]


@dataclass
class EvaluatedInput:
    input_id: str
    input_name: str
    value: Any


@dataclass
class EvaluatedDecision:
    decision_id: str
    decision_name: str
    decision_type: str  # DECISION_TABLE or LITERAL_EXPRESSION
    output: Any
    inputs: list[EvaluatedInput] = field(default_factory=list)
    matched_rules: list[MatchedRule] = field(default_factory=list)


@dataclass
class DecisionResult:
    output: Any
    evaluated: list[EvaluatedDecision]  # required decisions first, the one asked for last
