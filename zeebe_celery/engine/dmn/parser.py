"""DMN XML (1.1 to 1.5) to the model, with every FEEL cell compiled up front so a bad cell fails the deploy."""

from __future__ import annotations

# expat (>= 2.4) caps entity expansion, and ElementTree fetches no external entity.
import xml.etree.ElementTree as ET
from typing import Any

from zeebe_celery.engine.feel import Expression, FeelError, UnaryTests, compile_expression, compile_unary_tests

from .errors import DmnParseError
from .model import Decision, DecisionRequirements, DecisionTable, Input, LiteralExpression, Output, Rule

__all__ = ["NAMESPACES", "parse_dmn"]

NAMESPACES = frozenset(
    {
        "http://www.omg.org/spec/DMN/20151101/dmn.xsd",  # 1.1
        "http://www.omg.org/spec/DMN/20180521/MODEL/",  # 1.2
        "https://www.omg.org/spec/DMN/20191111/MODEL/",  # 1.3
        "https://www.omg.org/spec/DMN/20211108/MODEL/",  # 1.4
        "https://www.omg.org/spec/DMN/20230324/MODEL/",  # 1.5
    }
)
_HIT_POLICIES = frozenset({"UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER"})
_AGGREGATIONS = frozenset({"SUM", "MIN", "MAX", "COUNT"})


class _Reader:
    """Element lookups in the document's DMN namespace, and FEEL compiled with the element id in errors."""

    def __init__(self, namespace: str, resource_name: str) -> None:
        self.ns, self.resource = namespace, resource_name

    def all(self, element: ET.Element, name: str) -> list[ET.Element]:
        return element.findall(f"{{{self.ns}}}{name}")

    def one(self, element: ET.Element, name: str) -> ET.Element | None:
        return element.find(f"{{{self.ns}}}{name}")

    def text(self, element: ET.Element | None) -> str:
        if element is None:
            return ""
        node = self.one(element, "text")
        return (node.text or "").strip() if node is not None else ""

    def fail(self, element_id: str, problem: str) -> DmnParseError:
        return DmnParseError(f"'{self.resource}': element '{element_id}': {problem}")

    def expression(self, text: str, element_id: str) -> Expression:
        try:
            return compile_expression(text)
        except FeelError as error:
            raise self.fail(element_id, str(error)) from None

    def unary_tests(self, text: str, element_id: str) -> UnaryTests:
        try:
            return compile_unary_tests(text)
        except FeelError as error:
            raise self.fail(element_id, str(error)) from None


def parse_dmn(data: bytes, *, resource_name: str, lazy: bool = False) -> DecisionRequirements:
    """Parse a DMN resource; raises DmnParseError naming the element that is wrong."""
    try:
        root = ET.fromstring(data)  # noqa: S314 - see the import
    except ET.ParseError as error:
        raise DmnParseError(f"'{resource_name}' is not well-formed XML: {error}") from None
    namespace, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    if local != "definitions" or namespace not in NAMESPACES:
        raise DmnParseError(f"'{resource_name}' is not a DMN resource: root element is '{root.tag}'")
    reader = _Reader(namespace, resource_name)
    drg_id = root.get("id") or ""
    if not drg_id:
        raise reader.fail("definitions", "the definitions have no id")
    decisions = tuple(_decision(reader, element) for element in reader.all(root, "decision"))
    if not decisions:
        raise reader.fail(drg_id, "the resource contains no decision")
    _check_requirements(reader, decisions)
    return DecisionRequirements(
        id=drg_id,
        name=root.get("name") or drg_id,
        decisions=decisions,
        resource_name=resource_name,
        namespace=root.get("namespace") or "",
    )


def _decision(reader: _Reader, element: ET.Element) -> Decision:
    decision_id = element.get("id") or ""
    if not decision_id:
        raise reader.fail(element.get("name") or "decision", "the decision has no id")
    required: list[str] = []
    for requirement in reader.all(element, "informationRequirement"):
        ref = reader.one(requirement, "requiredDecision")
        if ref is not None:
            required.append((ref.get("href") or "").lstrip("#"))
    table, literal = reader.one(element, "decisionTable"), reader.one(element, "literalExpression")
    logic: DecisionTable | LiteralExpression
    if table is not None:
        logic = _table(reader, table, decision_id)
    elif literal is not None:
        logic = _literal(reader, element, literal, decision_id)
    else:
        raise reader.fail(decision_id, "the decision has neither a decision table nor a literal expression")
    return Decision(
        id=decision_id, name=element.get("name") or decision_id, logic=logic, required_decisions=tuple(required)
    )


def _literal(reader: _Reader, decision: ET.Element, element: ET.Element, decision_id: str) -> LiteralExpression:
    element_id = element.get("id") or decision_id
    text = reader.text(element)
    if not text:
        raise reader.fail(element_id, "the literal expression is empty")
    variable = reader.one(decision, "variable")
    name = (variable.get("name") if variable is not None else None) or decision_id
    return LiteralExpression(id=element_id, expression=reader.expression(text, element_id), variable_name=name)


def _table(reader: _Reader, element: ET.Element, decision_id: str) -> DecisionTable:
    table_id = element.get("id") or decision_id
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


def _input(reader: _Reader, element: ET.Element, number: int) -> Input:
    input_id = element.get("id") or f"input-{number}"
    expression = reader.one(element, "inputExpression")
    text = reader.text(expression)
    if not text:
        raise reader.fail(input_id, "the input has no input expression")
    return Input(id=input_id, name=element.get("label") or text, expression=reader.expression(text, input_id))


def _output(reader: _Reader, element: ET.Element, number: int) -> Output:
    output_id = element.get("id") or f"output-{number}"
    name = element.get("name") or element.get("label") or output_id
    values: tuple[Any, ...] = ()
    listed = reader.text(reader.one(element, "outputValues"))
    if listed:
        values = tuple(reader.expression(f"[{listed}]", output_id).evaluate({}) or ())
    return Output(id=output_id, name=name, values=values)


def _rule(reader: _Reader, element: ET.Element, number: int, inputs: int, outputs: int) -> Rule:
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


def _check_requirements(reader: _Reader, decisions: tuple[Decision, ...]) -> None:
    known = {d.id: d for d in decisions}
    for decision in decisions:
        for required in decision.required_decisions:
            if required not in known:
                raise reader.fail(decision.id, f"the required decision '{required}' is not in the resource")
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(decision_id: str) -> None:
        if decision_id in done:
            return
        if decision_id in visiting:
            raise reader.fail(decision_id, "the decision requires itself through a cycle")
        visiting.add(decision_id)
        for required in known[decision_id].required_decisions:
            visit(required)
        visiting.discard(decision_id)
        done.add(decision_id)

    for decision in decisions:
        visit(decision.id)
