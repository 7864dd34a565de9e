"""DMN XML to boxed expressions: literal expressions, decision tables, contexts, lists, relations,
invocations, function definitions, conditionals, filters and iterators."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from zeebe_celery.engine.feel import FeelError

from .boxed import (
    Conditional,
    ContextExpression,
    Filter,
    FunctionDefinition,
    Invocation,
    Iterator,
    ListExpression,
    Relation,
    TableExpression,
    Typed,
)
from .errors import DmnExpressionError
from .model import Boxed, DecisionTable, Input, LiteralExpression, Output, Rule
from .reader import Reader, local_name

__all__ = ["EXPRESSIONS", "expression_in", "function_body"]

EXPRESSIONS = frozenset(
    {
        "literalExpression",
        "decisionTable",
        "context",
        "list",
        "relation",
        "invocation",
        "functionDefinition",
        "conditional",
        "filter",
        "for",
        "some",
        "every",
    }
)
_HIT_POLICIES = frozenset({"UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER"})
_AGGREGATIONS = frozenset({"SUM", "MIN", "MAX", "COUNT"})


def expression_in(reader: Reader, container: ET.Element | None, owner: str) -> Boxed | None:
    """The boxed expression among ``container``'s children, or None when it has none."""
    if container is None:
        return None
    for child in container:
        if local_name(child) in EXPRESSIONS:
            return _boxed(reader, child, owner)
    return None


def _required(reader: Reader, container: ET.Element | None, owner: str, what: str) -> Boxed:
    found = expression_in(reader, container, owner)
    return found if found is not None else reader.problem(owner, f"the {what} has no expression")


def _boxed(reader: Reader, element: ET.Element, owner: str) -> Boxed:
    boxed = _untyped(reader, element, owner)
    type_ref = element.get("typeRef")
    if type_ref and local_name(element) != "decisionTable":
        return Typed(boxed, type_ref, reader.types, f"the expression '{element.get('id') or owner}'")
    return boxed


def _untyped(reader: Reader, element: ET.Element, owner: str) -> Boxed:
    kind = local_name(element)
    element_id = element.get("id") or owner
    if kind == "literalExpression":
        text = reader.text(element)
        if not text:
            return reader.problem(element_id, "the literal expression is empty")
        return LiteralExpression(id=element_id, expression=reader.expression(text, element_id))
    if kind == "decisionTable":
        return TableExpression(_table(reader, element, element_id))
    if kind == "context":
        return _context(reader, element, element_id)
    if kind == "list":
        return ListExpression([_boxed(reader, c, element_id) for c in element if local_name(c) in EXPRESSIONS])
    if kind == "relation":
        columns = [c.get("name") or "" for c in reader.all(element, "column")]
        rows = [
            [_boxed(reader, c, element_id) for c in row if local_name(c) in EXPRESSIONS]
            for row in reader.all(element, "row")
        ]
        if any(len(row) != len(columns) for row in rows):
            return reader.problem(element_id, f"every row of the relation needs {len(columns)} cells")
        return Relation(columns, rows)
    if kind == "invocation":
        return _invocation(reader, element, element_id)
    if kind == "functionDefinition":
        return function_body(reader, element, element_id, "functionDefinition")
    if kind == "conditional":
        parts = [_required(reader, reader.one(element, part), element_id, part) for part in ("if", "then", "else")]
        return Conditional(*parts)
    if kind == "filter":
        return Filter(
            _required(reader, reader.one(element, "in"), element_id, "filter"),
            _required(reader, reader.one(element, "match"), element_id, "filter's match"),
        )
    body = "return" if kind == "for" else "satisfies"
    return Iterator(
        kind,
        element.get("iteratorVariable") or "item",
        _required(reader, reader.one(element, "in"), element_id, kind),
        _required(reader, reader.one(element, body), element_id, f"{kind}'s {body}"),
    )


def function_body(reader: Reader, element: ET.Element, element_id: str, what: str) -> Boxed:
    """A function definition (or a knowledge model's encapsulated logic): FEEL functions only."""
    kind = (element.get("kind") or "FEEL").upper()
    if kind != "FEEL":
        return reader.problem(element_id, f"functions of kind '{kind}' are not supported")
    formal = reader.all(element, "formalParameter")
    parameters = [p.get("name") or "" for p in formal]
    types = [p.get("typeRef") or "" for p in formal]
    return FunctionDefinition(parameters, _required(reader, element, element_id, what), types, reader.types)


def _context(reader: Reader, element: ET.Element, element_id: str) -> Boxed:
    entries: list[tuple[str, Boxed]] = []
    result: Boxed | None = None
    items = reader.all(element, "contextEntry")
    for position, entry in enumerate(items, 1):
        variable = reader.one(entry, "variable")
        value = _required(reader, entry, element_id, "context entry")
        if variable is None:
            if position != len(items):
                return reader.problem(element_id, "only the last context entry may have no name")
            result = value
        else:
            name, type_ref = variable.get("name") or "", variable.get("typeRef")
            entries.append(
                (name, Typed(value, type_ref, reader.types, f"context entry '{name}'") if type_ref else value)
            )
    return ContextExpression(entries, result)


def _invocation(reader: Reader, element: ET.Element, element_id: str) -> Boxed:
    target = next((c for c in element if local_name(c) == "literalExpression"), None)
    name = reader.text(target)
    if not name:
        return reader.problem(element_id, "the invocation names no function")
    bindings: list[tuple[str, Boxed | None]] = []
    for binding in reader.all(element, "binding"):
        parameter = reader.one(binding, "parameter")
        bindings.append(
            ((parameter.get("name") or "") if parameter is not None else "", expression_in(reader, binding, element_id))
        )
    return Invocation(name, bindings)


def _table(reader: Reader, element: ET.Element, table_id: str) -> DecisionTable:
    hit_policy = element.get("hitPolicy", "UNIQUE").upper()
    if hit_policy not in _HIT_POLICIES:
        raise reader.fail(table_id, f"unsupported hit policy '{hit_policy}'")
    aggregation = element.get("aggregation")
    if aggregation is not None and (hit_policy != "COLLECT" or aggregation not in _AGGREGATIONS):
        raise reader.fail(table_id, f"aggregation '{aggregation}' is not valid with hit policy '{hit_policy}'")
    inputs = tuple(_input(reader, e, n) for n, e in enumerate(reader.all(element, "input"), 1))
    outputs = tuple(_output(reader, e, n) for n, e in enumerate(reader.all(element, "output"), 1))
    if not outputs:
        raise reader.fail(table_id, "the decision table has no output")
    if aggregation is not None and len(outputs) > 1:
        raise reader.fail(table_id, f"aggregation '{aggregation}' needs exactly one output")
    rules = tuple(_rule(reader, e, n, len(inputs), len(outputs)) for n, e in enumerate(reader.all(element, "rule"), 1))
    return DecisionTable(
        id=table_id, hit_policy=hit_policy, aggregation=aggregation, inputs=inputs, outputs=outputs, rules=rules
    )


def _input(reader: Reader, element: ET.Element, number: int) -> Input:
    input_id = element.get("id") or f"input-{number}"
    expression = reader.one(element, "inputExpression")
    text = reader.text(expression)
    if not text:
        return Input(
            input_id, element.get("label") or input_id, reader.problem(input_id, "the input has no input expression")
        )
    return Input(id=input_id, name=element.get("label") or text, expression=reader.expression(text, input_id))


def _output(reader: Reader, element: ET.Element, number: int) -> Output:
    output_id = element.get("id") or f"output-{number}"
    name = element.get("name") or element.get("label") or output_id
    values: tuple[Any, ...] = ()
    listed = reader.text(reader.one(element, "outputValues"))
    if listed:
        try:
            values = tuple(reader.expression(f"[{listed}]", output_id).evaluate({}) or ())
        except (DmnExpressionError, FeelError):  # unreadable (a lazy parse): no priorities
            values = ()
    default_text = reader.text(reader.one(element, "defaultOutputEntry"))
    default = reader.expression(default_text, output_id) if default_text else None
    return Output(id=output_id, name=name, values=values, default=default)


def _rule(reader: Reader, element: ET.Element, number: int, inputs: int, outputs: int) -> Rule:
    rule_id = element.get("id") or f"rule-{number}"
    input_entries = reader.all(element, "inputEntry")
    output_entries = reader.all(element, "outputEntry")
    if len(input_entries) != inputs or len(output_entries) != outputs:
        raise reader.fail(
            rule_id,
            f"the rule has {len(input_entries)} input and {len(output_entries)} output entries, "
            f"but the table has {inputs} inputs and {outputs} outputs",
        )
    tests = tuple(reader.unary_tests(reader.text(e), e.get("id") or rule_id) for e in input_entries)
    results = tuple(
        reader.expression(text, e.get("id") or rule_id) if (text := reader.text(e)) else None for e in output_entries
    )
    return Rule(id=rule_id, index=number, input_entries=tests, output_entries=results)
