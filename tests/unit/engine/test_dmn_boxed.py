"""DMN 1.5 boxed expressions: contexts, lists, relations, invocations, function definitions, conditionals,
filters and the iterators, each as a decision's logic and nested in one another."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from zeebe_celery.engine.dmn import DmnEvaluationError, evaluate_decision, parse_dmn

from .dmn_builders import decision, entry, lit, model


def run(body: str, decision_id: str = "d", variables: dict[str, Any] | None = None) -> Any:
    return evaluate_decision(parse_dmn(model(body), resource_name="boxed.dmn"), decision_id, variables or {}).output


def test_a_context_gives_its_entries_each_seeing_those_before() -> None:
    logic = f"<context>{entry('a', lit('1'))}{entry('b', lit('a + 1'))}</context>"
    assert run(decision("d", logic)) == {"a": 1, "b": 2}


def test_a_context_whose_last_entry_has_no_name_gives_that_entry() -> None:
    inner = f"<context>{entry('x', lit('n * 2'))}{entry(None, lit('x + 1'))}</context>"
    logic = f"<context>{entry('n', lit('5'))}{entry('nested', inner)}{entry(None, lit('nested'))}</context>"
    assert run(decision("d", logic)) == 11


def test_a_list_and_a_relation() -> None:
    listed = decision("l", f"<list>{lit('1')}{lit('a')}{lit('[2, 3]')}</list>")
    relation = decision(
        "r",
        '<relation><column name="name"/><column name="age"/>'
        f"<row>{lit('&quot;Ada&quot;')}{lit('36')}</row><row>{lit('&quot;Alan&quot;')}{lit('41')}</row></relation>",
    )
    assert run(listed, "l", {"a": "x"}) == [1, "x", [2, 3]]
    assert run(relation, "r") == [{"name": "Ada", "age": 36}, {"name": "Alan", "age": 41}]


BKM = (
    '<businessKnowledgeModel id="pmt" name="PMT"><variable name="PMT"/><encapsulatedLogic>'
    '<formalParameter name="rate" typeRef="number"/><formalParameter name="term" typeRef="number"/>'
    f"{lit('rate * term')}</encapsulatedLogic></businessKnowledgeModel>"
)


def test_a_knowledge_model_is_invoked_by_an_invocation_with_named_bindings() -> None:
    logic = (
        f"<invocation>{lit('PMT')}"
        f'<binding><parameter name="term"/>{lit("12")}</binding>'
        f'<binding><parameter name="rate"/>{lit("r")}</binding></invocation>'
    )
    assert run(BKM + decision("d", logic), variables={"r": 2}) == 24


def test_a_knowledge_model_is_a_function_in_feel() -> None:
    assert run(BKM + decision("d", lit("PMT(3, 4) + PMT(term: 1, rate: 2)"))) == 14


def test_an_invocation_binding_a_parameter_the_model_lacks_fails_the_decision() -> None:
    logic = f'<invocation>{lit("PMT")}<binding><parameter name="months"/>{lit("12")}</binding></invocation>'
    with pytest.raises(DmnEvaluationError, match="'PMT' has no parameter 'months'"):
        run(BKM + decision("d", logic))


def test_a_knowledge_model_argument_of_the_wrong_type_fails_the_call() -> None:
    with pytest.raises(DmnEvaluationError, match="parameter 'rate' of 'PMT' is declared 'number'"):
        run(BKM + decision("d", lit('PMT("high", 4)')))


def test_a_knowledge_model_whose_logic_is_a_decision_table() -> None:
    table = (
        '<decisionTable hitPolicy="FIRST"><input id="i"><inputExpression><text>age</text></inputExpression></input>'
        '<output id="o"/><rule id="r1"><inputEntry><text>&lt; 18</text></inputEntry>'
        "<outputEntry><text>&quot;minor&quot;</text></outputEntry></rule>"
        '<rule id="r2"><inputEntry><text>-</text></inputEntry><outputEntry><text>&quot;adult&quot;</text></outputEntry>'
        "</rule></decisionTable>"
    )
    bkm = (
        '<businessKnowledgeModel id="k" name="category"><encapsulatedLogic><formalParameter name="age"/>'
        f"{table}</encapsulatedLogic></businessKnowledgeModel>"
    )
    assert run(bkm + decision("d", lit("[category(12), category(40)]"))) == ["minor", "adult"]


def test_a_function_definition_in_a_context_is_called_from_feel() -> None:
    function = f'<functionDefinition><formalParameter name="x"/>{lit("x * x")}</functionDefinition>'
    logic = f"<context>{entry('square', function)}{entry(None, lit('square(7)'))}</context>"
    assert run(decision("d", logic)) == 49


@pytest.mark.parametrize(
    ("condition", "expected"), [("true", "then"), ("false", "else"), ("null", "else"), ('"abc"', None)]
)
def test_a_conditional(condition: str, expected: str | None) -> None:
    logic = (
        f"<conditional><if>{lit(condition)}</if><then>{lit('&quot;then&quot;')}</then>"
        f"<else>{lit('&quot;else&quot;')}</else></conditional>"
    )
    assert run(decision("d", logic)) == expected


def test_a_filter_keeps_the_items_that_match_and_reads_a_context_item_s_entries() -> None:
    numbers = decision("n", f"<filter><in>{lit('[1, 2, 3, 4]')}</in><match>{lit('item &gt;= 3')}</match></filter>")
    people = decision("p", f"<filter><in>{lit('people')}</in><match>{lit('age &gt; 18')}</match></filter>")
    assert run(numbers, "n") == [3, 4]
    assert run(people, "p", {"people": [{"age": 12}, {"age": 30}]}) == [{"age": 30}]


def test_a_filter_whose_match_is_not_a_boolean_gives_null() -> None:
    logic = f"<filter><in>{lit('[1, 2]')}</in><match>{lit('&quot;yes&quot;')}</match></filter>"
    assert run(decision("d", logic)) is None


def test_for_some_and_every() -> None:
    doubled = decision(
        "f", f'<for iteratorVariable="x"><in>{lit("[1, 2, 3]")}</in><return>{lit("x * 2")}</return></for>'
    )
    some = decision(
        "s", f'<some iteratorVariable="x"><in>{lit("[1, 2]")}</in><satisfies>{lit("x &gt; 1")}</satisfies></some>'
    )
    every = decision(
        "e", f'<every iteratorVariable="x"><in>{lit("[1, 2]")}</in><satisfies>{lit("x &gt; 1")}</satisfies></every>'
    )
    odd = decision(
        "o", f'<some iteratorVariable="x"><in>{lit("[1]")}</in><satisfies>{lit("&quot;no&quot;")}</satisfies></some>'
    )
    body = doubled + some + every + odd
    assert [run(body, name) for name in "fseo"] == [[2, 4, 6], True, False, None]


def test_a_required_decision_is_read_by_its_variable_s_name() -> None:
    required = '<decision id="_base" name="Base"><variable name="base"/>' + lit("10") + "</decision>"
    assert run(required + decision("d", lit("base + 1"), requires=("_base",))) == 11


def test_the_declared_type_converts_a_singleton_list_and_refuses_a_mismatch() -> None:
    body = decision("one", lit('["a"]'), type_ref="string") + decision("bad", lit("1 + 1"), type_ref="string")
    assert run(body, "one") == "a"
    with pytest.raises(DmnEvaluationError, match="declared 'string'"):
        run(body, "bad")


def test_an_item_definition_structure_needs_its_components() -> None:
    item = (
        '<itemDefinition name="tPerson"><itemComponent name="name"><typeRef>string</typeRef></itemComponent>'
        '<itemComponent name="age"><typeRef>number</typeRef></itemComponent></itemDefinition>'
        '<itemDefinition name="tNumbers" isCollection="true"><typeRef>number</typeRef></itemDefinition>'
    )
    body = (
        item
        + decision("ok", lit('{name: "Ada", age: 36, extra: true}'), type_ref="tPerson")
        + decision("missing", lit('{name: "Ada"}'), type_ref="tPerson")
        + decision("list", lit("5"), type_ref="tNumbers")
    )
    assert run(body, "ok") == {"name": "Ada", "age": 36, "extra": True}
    assert run(body, "list") == [5]
    with pytest.raises(DmnEvaluationError):
        run(body, "missing")


def test_a_decimal_result_keeps_its_exact_value() -> None:
    assert run(decision("d", f"<context>{entry('x', lit('0.1 + 0.2'))}{entry(None, lit('x'))}</context>")) == Decimal(
        "0.3"
    )


def test_a_parameter_named_like_a_path_is_readable_as_that_path() -> None:
    bkm = (
        '<businessKnowledgeModel id="k" name="describe"><encapsulatedLogic><formalParameter name="Person.Name"/>'
        f"{lit('Person.Name + &quot;!&quot;')}</encapsulatedLogic></businessKnowledgeModel>"
    )
    assert run(bkm + decision("d", lit('describe("Ada")'))) == "Ada!"
