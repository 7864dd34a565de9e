"""Every hit policy of a DMN decision table, with the output shapes Camunda gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zeebe_celery.engine.dmn import DmnEvaluationError, evaluate_decision, parse_dmn

from .dmn_builders import decision, document, model, table_decision

DISCOUNT = Path(__file__).parents[2] / "bpmn" / "discount.dmn"


def run(decision: str, variables: dict[str, Any], decision_id: str = "d") -> Any:
    return evaluate_decision(parse_dmn(document(decision), resource_name="t.dmn"), decision_id, variables)


def test_the_discount_table_gives_gold_twenty_percent_by_its_first_rule() -> None:
    drg = parse_dmn(DISCOUNT.read_bytes(), resource_name="discount.dmn")
    result = evaluate_decision(drg, "discount", {"tier": "gold"})
    assert result.output == 20
    [evaluated] = result.evaluated
    assert (evaluated.decision_id, evaluated.decision_name, evaluated.decision_type) == (
        "discount",
        "Discount",
        "DECISION_TABLE",
    )
    assert [(i.input_id, i.input_name, i.value) for i in evaluated.inputs] == [
        ("customer-tier", "Customer tier", "gold")
    ]
    [rule] = evaluated.matched_rules
    assert (rule.rule_id, rule.rule_index) == ("gold-rule", 1)
    assert [(o.output_id, o.output_name, o.value) for o in rule.outputs] == [("discount-output", "discountPercent", 20)]


def test_the_discount_table_sends_bronze_to_the_catch_all_third_rule() -> None:
    drg = parse_dmn(DISCOUNT.read_bytes(), resource_name="discount.dmn")
    result = evaluate_decision(drg, "discount", {"tier": "bronze"})
    assert result.output == 0
    assert [(r.rule_id, r.rule_index) for r in result.evaluated[0].matched_rules] == [("default-rule", 3)]


AMOUNTS = [["< 10", '"small"'], ["[10..100]", '"medium"'], ["> 100", '"large"']]


@pytest.mark.parametrize(("amount", "expected"), [(5, "small"), (10, "medium"), (101, "large"), (None, None)])
def test_unique_gives_the_one_matching_rule_or_null(amount: Any, expected: Any) -> None:
    table = table_decision("d", inputs=["amount"], outputs=["size"], rules=AMOUNTS)
    assert run(table, {"amount": amount}).output == expected


def test_unique_with_two_matching_rules_fails_naming_the_decision_and_rules() -> None:
    table = table_decision("d", inputs=["x"], outputs=["y"], rules=[["> 1", "1"], ["> 2", "2"]])
    with pytest.raises(DmnEvaluationError, match=r"UNIQUE .* \[d-r1, d-r2\]") as caught:
        run(table, {"x": 5})
    assert caught.value.decision_id == "d"
    assert str(caught.value).startswith("Expected to evaluate decision 'd', but")


def test_first_takes_the_first_match_in_rule_order() -> None:
    table = table_decision("d", inputs=["x"], outputs=["y"], rules=[["> 1", "1"], ["> 2", "2"]], hit_policy="FIRST")
    result = run(table, {"x": 5})
    assert result.output == 1
    assert [r.rule_index for r in result.evaluated[0].matched_rules] == [1]


def test_priority_takes_the_match_whose_output_comes_first_in_the_output_values() -> None:
    table = table_decision(
        "d",
        inputs=["x"],
        outputs=["level"],
        rules=[["> 0", '"low"'], ["> 1", '"high"'], ["> 2", '"medium"']],
        hit_policy="PRIORITY",
        output_values={"level": '"high","medium","low"'},
    )
    result = run(table, {"x": 5})
    assert result.output == "high"
    assert [r.rule_id for r in result.evaluated[0].matched_rules] == ["d-r2"]


def test_output_order_lists_all_matches_by_output_value_priority() -> None:
    table = table_decision(
        "d",
        inputs=["x"],
        outputs=["level"],
        rules=[["> 0", '"low"'], ["> 1", '"high"'], ["> 2", '"medium"']],
        hit_policy="OUTPUT ORDER",
        output_values={"level": '"high","medium","low"'},
    )
    assert run(table, {"x": 5}).output == ["high", "medium", "low"]


def test_any_accepts_matches_that_agree() -> None:
    table = table_decision("d", inputs=["x"], outputs=["y"], rules=[["> 1", '"ok"'], ["> 2", '"ok"']], hit_policy="ANY")
    assert run(table, {"x": 5}).output == "ok"


def test_any_with_matches_that_disagree_fails() -> None:
    table = table_decision("d", inputs=["x"], outputs=["y"], rules=[["> 1", '"a"'], ["> 2", '"b"']], hit_policy="ANY")
    with pytest.raises(DmnEvaluationError, match="ANY"):
        run(table, {"x": 5})


def test_rule_order_lists_every_match_in_rule_order() -> None:
    rules = [["> 1", "1"], ["> 9", "9"], ["> 2", "2"]]
    table = table_decision("d", inputs=["x"], outputs=["y"], rules=rules, hit_policy="RULE ORDER")
    result = run(table, {"x": 5})
    assert result.output == [1, 2]
    assert [r.rule_index for r in result.evaluated[0].matched_rules] == [1, 3]


@pytest.mark.parametrize(
    ("aggregation", "expected", "expected_without_match"),
    [(None, [3, 1, 2], []), ("SUM", 6, None), ("MIN", 1, None), ("MAX", 3, None), ("COUNT", 3, 0)],
)
def test_collect_gives_a_list_or_its_aggregate(
    aggregation: str | None, expected: Any, expected_without_match: Any
) -> None:
    rules = [["> 0", "3"], ["> 0", "1"], ["> 0", "2"]]
    table = table_decision("d", inputs=["x"], outputs=["y"], rules=rules, hit_policy="COLLECT", aggregation=aggregation)
    assert run(table, {"x": 5}).output == expected
    assert run(table, {"x": -5}).output == expected_without_match


def test_several_output_columns_give_a_context_or_a_list_of_contexts() -> None:
    rules = [["> 0", '"a"', "1"], ["> 1", '"b"', "2"]]
    single = table_decision("d", inputs=["x"], outputs=["name", "score"], rules=rules, hit_policy="FIRST")
    multi = table_decision("d", inputs=["x"], outputs=["name", "score"], rules=rules, hit_policy="COLLECT")
    assert run(single, {"x": 5}).output == {"name": "a", "score": 1}
    assert run(multi, {"x": 5}).output == [{"name": "a", "score": 1}, {"name": "b", "score": 2}]


def test_rules_with_several_inputs_need_every_entry_to_match() -> None:
    rules = [['"gold"', ">= 100", "20"], ['"gold"', "-", "10"], ["-", "-", "0"]]
    table = table_decision("d", inputs=["tier", "amount"], outputs=["pct"], rules=rules, hit_policy="FIRST")
    assert run(table, {"tier": "gold", "amount": 150}).output == 20
    assert run(table, {"tier": "gold", "amount": 50}).output == 10
    assert run(table, {"tier": "silver", "amount": 500}).output == 0


def test_output_entries_are_expressions_over_the_variables_and_an_empty_cell_is_null() -> None:
    table = table_decision("d", inputs=["x"], outputs=["y", "z"], rules=[["-", "x * 2", ""]])
    assert run(table, {"x": 21}).output == {"y": 42, "z": None}


def test_input_expressions_are_feel_expressions() -> None:
    table = table_decision(
        "d", inputs=["order.amount * 2"], outputs=["y"], rules=[["> 100", "true"], ["<= 100", "false"]]
    )
    result = run(table, {"order": {"amount": 60}})
    assert result.output is True
    assert result.evaluated[0].inputs[0].value == 120


@pytest.mark.parametrize(
    ("policy", "expected"),
    [('hitPolicy="UNIQUE"', 0), ('hitPolicy="COLLECT" aggregation="MAX"', 0), ('hitPolicy="COLLECT"', [0])],
)
def test_when_no_rule_matches_the_default_output_entry_is_the_output(policy: str, expected: object) -> None:
    table = (
        f'<decisionTable id="t" {policy}><input id="i"><inputExpression><text>x</text></inputExpression></input>'
        '<output id="o"><defaultOutputEntry><text>0</text></defaultOutputEntry></output>'
        '<rule id="r"><inputEntry><text>&gt; 10</text></inputEntry><outputEntry><text>5</text></outputEntry></rule>'
        "</decisionTable>"
    )
    drg = parse_dmn(model(decision("d", table)), resource_name="defaults.dmn")
    assert evaluate_decision(drg, "d", {"x": 1}).output == expected
    assert evaluate_decision(drg, "d", {"x": 11}).output == (
        5 if "aggregation" in policy or "UNIQUE" in policy else [5]
    )
