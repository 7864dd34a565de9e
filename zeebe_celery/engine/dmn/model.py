"""The parsed shape of a DMN resource, and the shape of an evaluation's result (as Zeebe reports it).

A decision's logic, a business knowledge model's body and every part of a boxed expression are
:class:`Boxed`: something that evaluates against a scope of FEEL variables. The boxed expressions themselves
live in ``boxed.py`` (a decision table is boxed as ``boxed.TableExpression``); the decision table's shape is
here, its evaluation in ``tables.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .types import Types

__all__ = [
    "Boxed",
    "BusinessKnowledgeModel",
    "Decision",
    "DecisionRequirements",
    "DecisionResult",
    "DecisionService",
    "DecisionTable",
    "Evaluable",
    "EvaluatedDecision",
    "EvaluatedInput",
    "EvaluatedOutput",
    "Input",
    "LiteralExpression",
    "MatchedRule",
    "Matcher",
    "Output",
    "Rule",
]


class Evaluable(Protocol):
    """A compiled FEEL expression, or one that failed to compile and fails when evaluated."""

    source: str

    def evaluate(self, variables: Mapping[str, Any]) -> Any: ...


class Matcher(Protocol):
    """A compiled input entry (unary tests), or one that failed to compile and fails when matched."""

    source: str

    def matches(self, value: Any, variables: Mapping[str, Any]) -> bool: ...


class Boxed(Protocol):
    """A boxed expression: ``kind`` is what Zeebe reports as the decision type (DECISION_TABLE, CONTEXT...)."""

    @property
    def kind(self) -> str: ...

    def evaluate(self, scope: Mapping[str, Any]) -> Any: ...


@dataclass(frozen=True)
class Input:
    id: str
    name: str  # the label, else the expression's text
    expression: Evaluable


@dataclass(frozen=True)
class Output:
    id: str
    name: str  # the key of this column in a multi-output result
    values: tuple[Any, ...] = ()  # outputValues, in priority order, for PRIORITY and OUTPUT ORDER
    default: Evaluable | None = None  # defaultOutputEntry: the value when no rule matched


@dataclass(frozen=True)
class Rule:
    id: str
    index: int  # 1-based
    input_entries: tuple[Matcher, ...]
    output_entries: tuple[Evaluable | None, ...]  # None for an empty cell (null)


@dataclass(frozen=True)
class DecisionTable:
    id: str
    hit_policy: str  # UNIQUE, FIRST, PRIORITY, ANY, RULE ORDER, OUTPUT ORDER, COLLECT
    aggregation: str | None  # SUM, MIN, MAX, COUNT for COLLECT
    inputs: tuple[Input, ...]
    outputs: tuple[Output, ...]
    rules: tuple[Rule, ...]
    kind: str = "DECISION_TABLE"


@dataclass(frozen=True)
class LiteralExpression:
    id: str
    expression: Evaluable
    variable_name: str = ""
    kind: str = "LITERAL_EXPRESSION"

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        return self.expression.evaluate(scope)


@dataclass(frozen=True)
class Decision:
    id: str
    name: str
    logic: Boxed | None  # None: a decision without logic, whose value the caller supplies by name
    required_decisions: tuple[str, ...] = ()  # ids
    variable_name: str = ""  # the name its result goes by in the decisions that require it
    type_ref: str = ""  # the declared type of its result (its variable's typeRef)

    @property
    def decision_type(self) -> str:
        return "UNKNOWN" if self.logic is None else self.logic.kind

    @property
    def result_name(self) -> str:
        return self.variable_name or self.id or self.name


@dataclass(frozen=True)
class BusinessKnowledgeModel:
    id: str
    name: str  # the function's name in FEEL
    parameters: tuple[str, ...]
    body: Boxed | None  # None: no encapsulated logic; calling it gives null
    parameter_types: tuple[str, ...] = ()  # typeRefs, "" where none is declared


@dataclass(frozen=True)
class DecisionService:
    id: str
    name: str  # the function's name in FEEL
    output_decisions: tuple[str, ...]  # ids
    encapsulated_decisions: tuple[str, ...]  # ids
    input_decisions: tuple[str, ...]  # ids; with the input data, the function's parameters
    input_data: tuple[str, ...]  # names
    type_ref: str = ""  # its variable's typeRef: a function type whose output type the result must have


@dataclass(frozen=True)
class DecisionRequirements:
    id: str
    name: str
    decisions: tuple[Decision, ...]  # in document order
    resource_name: str = ""
    namespace: str = ""
    knowledge_models: tuple[BusinessKnowledgeModel, ...] = ()
    services: tuple[DecisionService, ...] = ()
    input_data: tuple[str, ...] = ()  # names
    input_types: dict[str, str] = field(default_factory=dict, compare=False)  # input data name -> typeRef
    types: Types = field(default_factory=Types, compare=False, repr=False)  # the item definitions
    _by_id: dict[str, Decision] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({d.id: d for d in self.decisions})

    def decision(self, decision_id: str) -> Decision | None:
        return self._by_id.get(decision_id)

    def decision_named(self, name: str) -> Decision | None:
        return next((d for d in self.decisions if d.name == name), None)

    def service_named(self, name: str) -> DecisionService | None:
        return next((s for s in self.services if s.name == name), None)


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
    decision_type: str  # DECISION_TABLE, LITERAL_EXPRESSION, CONTEXT, INVOCATION, LIST, RELATION...
    output: Any
    inputs: list[EvaluatedInput] = field(default_factory=list)
    matched_rules: list[MatchedRule] = field(default_factory=list)


@dataclass
class DecisionResult:
    output: Any
    evaluated: list[EvaluatedDecision]  # required decisions first, the one asked for last
