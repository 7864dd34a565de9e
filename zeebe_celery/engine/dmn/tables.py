"""Evaluating one decision table: match the rules, then let the hit policy pick and shape the output."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from zeebe_celery.engine.feel import FeelError
from zeebe_celery.engine.feel.ops import add
from zeebe_celery.engine.feel.values import compare, equals

from .errors import DmnEvaluationError, DmnExpressionError
from .model import Decision, DecisionTable, EvaluatedDecision, EvaluatedInput, EvaluatedOutput, MatchedRule, Rule

__all__ = ["evaluate_table", "table_output"]

Row = list[Any]


def evaluate_table(decision: Decision, table: DecisionTable, variables: Mapping[str, Any]) -> EvaluatedDecision:
    """Evaluate a decision's table; raises DmnEvaluationError for a hit-policy violation or a failed expression."""
    try:
        values, rows, output = _run(table, variables)
    except DmnExpressionError as error:
        raise DmnEvaluationError(decision.id, f"Expected to evaluate decision '{decision.id}', but {error}") from None
    return EvaluatedDecision(
        decision_id=decision.id,
        decision_name=decision.name,
        decision_type="DECISION_TABLE",
        output=output,
        inputs=[EvaluatedInput(i.id, i.name, v) for i, v in zip(table.inputs, values, strict=True)],
        matched_rules=[
            MatchedRule(
                rule.id,
                rule.index,
                [EvaluatedOutput(o.id, o.name, v) for o, v in zip(table.outputs, row, strict=True)],
            )
            for rule, row in rows
        ],
    )


def table_output(table: DecisionTable, variables: Mapping[str, Any]) -> Any:
    """The output of a table nested in a boxed expression; raises DmnExpressionError."""
    return _run(table, variables)[2]


def _run(table: DecisionTable, variables: Mapping[str, Any]) -> tuple[Row, list[tuple[Rule, Row]], Any]:
    try:
        values = [i.expression.evaluate(variables) for i in table.inputs]
        matched = [rule for rule in table.rules if _matches(rule, values, variables)]
        chosen = _select(table, matched, variables)
        rows = [(rule, _outputs(table, rule, variables)) for rule in chosen]
        defaults = None if rows else _defaults(table, variables)
    except FeelError as error:
        raise DmnExpressionError(str(error)) from None
    if table.hit_policy in ("ANY", "UNIQUE", "FIRST", "PRIORITY"):
        if table.hit_policy == "ANY" and any(not _same(rows[0][1], row) for _, row in rows[1:]):
            ids = ", ".join(rule.id for rule, _ in rows)
            raise DmnExpressionError(f"hit policy ANY requires the matching rules to agree, and they differ: [{ids}]")
        rows = rows[:1]
    shaped = [_shape(table, row) for _, row in rows]
    if defaults is not None:  # no rule matched: the default output entries, unaggregated
        single = _single_hit(table) or table.aggregation is not None
        output: Any = _shape(table, defaults) if single else [_shape(table, defaults)]
    elif table.aggregation is not None:
        output = _aggregate(table.aggregation, shaped)
    elif _single_hit(table):
        output = shaped[0] if shaped else None
    else:
        output = shaped
    return values, rows, output


def _defaults(table: DecisionTable, variables: Mapping[str, Any]) -> Row | None:
    """The default output entries, when the table has any (and no rule matched)."""
    if all(output.default is None for output in table.outputs):
        return None
    return [None if o.default is None else o.default.evaluate(variables) for o in table.outputs]


def _single_hit(table: DecisionTable) -> bool:
    return table.hit_policy in ("UNIQUE", "FIRST", "PRIORITY", "ANY")


def _matches(rule: Rule, values: list[Any], variables: Mapping[str, Any]) -> bool:
    for test, value in zip(rule.input_entries, values, strict=True):  # noqa: SIM110 -- no generator on the hot path
        if not test.matches(value, variables):
            return False
    return True


def _outputs(table: DecisionTable, rule: Rule, variables: Mapping[str, Any]) -> Row:
    return [None if entry is None else entry.evaluate(variables) for entry in rule.output_entries]


def _same(left: Row, right: Row) -> bool:
    return all(equals(a, b) is True for a, b in zip(left, right, strict=True))


def _shape(table: DecisionTable, row: Row) -> Any:
    if len(table.outputs) == 1:
        return row[0]
    return {output.name: value for output, value in zip(table.outputs, row, strict=True)}


def _select(table: DecisionTable, matched: list[Rule], variables: Mapping[str, Any]) -> list[Rule]:
    policy = table.hit_policy
    if policy == "UNIQUE" and len(matched) > 1:
        ids = ", ".join(rule.id for rule in matched)
        raise DmnExpressionError(f"hit policy UNIQUE allows one matching rule, and {len(matched)} matched: [{ids}]")
    if policy == "FIRST":
        return matched[:1]
    if policy in ("PRIORITY", "OUTPUT ORDER"):
        ranked = sorted(matched, key=_priority(table, variables))  # sorted() is stable: ties keep rule order
        return ranked[:1] if policy == "PRIORITY" else ranked
    return matched


def _priority(table: DecisionTable, variables: Mapping[str, Any]) -> Callable[[Rule], tuple[int, ...]]:
    def rank(rule: Rule) -> tuple[int, ...]:
        row = _outputs(table, rule, variables)
        ranks = []
        for output, value in zip(table.outputs, row, strict=True):
            position = next((n for n, v in enumerate(output.values) if equals(v, value) is True), len(output.values))
            ranks.append(position)
        return tuple(ranks)

    return rank


def _aggregate(aggregation: str, values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    if aggregation == "COUNT":
        return len(present)
    if not present:
        return None
    if aggregation == "SUM":
        total = present[0]
        for value in present[1:]:
            total = add(total, value)
        if total is None:
            raise DmnExpressionError(f"COLLECT SUM needs numbers, got {present!r}")
        return total
    best = present[0]
    for value in present[1:]:
        order = compare(value, best)
        if order is None:
            raise DmnExpressionError(f"COLLECT {aggregation} needs comparable values, got {present!r}")
        if order == (-1 if aggregation == "MIN" else 1):
            best = value
    return best
