"""DMN resources: parsing, literal expressions, required decisions and parse errors."""

from __future__ import annotations

import pytest

from zeebe_celery.engine.dmn import DmnEvaluationError, DmnParseError, evaluate_decision, parse_dmn

from .dmn_builders import document, literal_decision, table_decision


def test_a_resource_lists_its_decisions_in_document_order() -> None:
    drg = parse_dmn(document(literal_decision("b", "1"), literal_decision("a", "2")), resource_name="two.dmn")
    assert (drg.id, drg.name) == ("drg", "Test DRG")
    assert [d.id for d in drg.decisions] == ["b", "a"]


@pytest.mark.parametrize(
    "namespace",
    [
        "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
        "http://www.omg.org/spec/DMN/20180521/MODEL/",
        "https://www.omg.org/spec/DMN/20191111/MODEL/",
        "https://www.omg.org/spec/DMN/20211108/MODEL/",
    ],
)
def test_dmn_1_1_to_1_4_namespaces_are_accepted(namespace: str) -> None:
    drg = parse_dmn(document(literal_decision("a", "1 + 1"), namespace=namespace), resource_name="x.dmn")
    assert evaluate_decision(drg, "a", {}).output == 2


def test_a_literal_expression_decision_gives_its_value() -> None:
    drg = parse_dmn(document(literal_decision("greeting", '"hello " + name')), resource_name="x.dmn")
    result = evaluate_decision(drg, "greeting", {"name": "Ada"})
    assert result.output == "hello Ada"
    [evaluated] = result.evaluated
    assert evaluated.decision_type == "LITERAL_EXPRESSION"
    assert (evaluated.inputs, evaluated.matched_rules) == ([], [])


def test_required_decisions_are_evaluated_first_and_their_outputs_are_variables() -> None:
    tier = table_decision("tier", inputs=["spent"], outputs=["t"], rules=[[">= 1000", '"gold"'], ["< 1000", '"basic"']])
    discount = table_decision(
        "discount", inputs=["tier"], outputs=["pct"], rules=[['"gold"', "20"], ['"basic"', "0"]], requires=("tier",)
    )
    message = literal_decision("message", '"discount " + string(discount)', requires=("discount", "tier"))
    drg = parse_dmn(document(message, discount, tier), resource_name="chain.dmn")
    result = evaluate_decision(drg, "message", {"spent": 1500})
    assert result.output == "discount 20"
    assert [e.decision_id for e in result.evaluated] == ["tier", "discount", "message"]
    assert result.evaluated[0].output == "gold"


def test_a_failing_required_decision_is_the_one_named_in_the_error() -> None:
    broken = table_decision("inner", inputs=["x"], outputs=["y"], rules=[["> 0", "1"], ["> 0", "2"]])
    outer = literal_decision("outer", "inner", requires=("inner",))
    drg = parse_dmn(document(outer, broken), resource_name="x.dmn")
    with pytest.raises(DmnEvaluationError) as caught:
        evaluate_decision(drg, "outer", {"x": 1})
    assert caught.value.decision_id == "inner"


def test_a_failed_assert_in_a_literal_expression_is_an_evaluation_error() -> None:
    drg = parse_dmn(document(literal_decision("a", 'assert(x, x > 0, "x must be positive")')), resource_name="x.dmn")
    with pytest.raises(DmnEvaluationError, match="Expected to evaluate decision 'a', but x must be positive"):
        evaluate_decision(drg, "a", {"x": 0})


def test_evaluating_an_unknown_decision_fails() -> None:
    drg = parse_dmn(document(literal_decision("a", "1")), resource_name="x.dmn")
    with pytest.raises(DmnEvaluationError, match="no decision found for id 'nope'"):
        evaluate_decision(drg, "nope", {})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<definitions", "not well-formed XML"),
        (b'<definitions xmlns="urn:other" id="x"/>', "not a DMN resource"),
        (document(), "contains no decision"),
        (
            document('<decision id="empty" name="Empty"/>'),
            "element 'empty': the decision has no decision logic",
        ),
        (document(literal_decision("a", "1 +")), "element 'a': failed to parse FEEL expression '1 +'"),
        (
            document(table_decision("d", inputs=["x"], outputs=["y"], rules=[["< <", "1"]])),
            "element 'd-r1'",
        ),
        (
            document(table_decision("d", inputs=["x"], outputs=["y"], rules=[["1", "2", "3"]])),
            "element 'd-r1': the rule has 1 input and 2 output entries",
        ),
        (
            document(table_decision("d", inputs=["x"], outputs=["y"], rules=[], hit_policy="SOMETIMES")),
            "element 'd-table': unsupported hit policy 'SOMETIMES'",
        ),
        (
            document(table_decision("d", inputs=["x"], outputs=["y"], rules=[], hit_policy="FIRST", aggregation="SUM")),
            "aggregation 'SUM' is not valid with hit policy 'FIRST'",
        ),
        (
            document(
                table_decision("d", inputs=["x"], outputs=["a", "b"], rules=[], hit_policy="COLLECT", aggregation="SUM")
            ),
            "aggregation 'SUM' needs exactly one output",
        ),
        (document(literal_decision("a", "1", requires=("ghost",))), "required decision 'ghost' is not in the resource"),
        (
            document(literal_decision("a", "b", requires=("b",)), literal_decision("b", "a", requires=("a",))),
            "requires itself through a cycle",
        ),
    ],
)
def test_invalid_resources_raise_a_parse_error_naming_the_element(data: bytes, message: str) -> None:
    with pytest.raises(DmnParseError) as caught:
        parse_dmn(data, resource_name="bad.dmn")
    assert message in str(caught.value)
