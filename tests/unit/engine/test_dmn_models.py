"""DMN models as a whole: decision services, elements without ids, strict and lazy parsing, quoted names."""

from __future__ import annotations

import pytest

from zeebe_celery.engine.dmn import (
    DmnEvaluationError,
    DmnParseError,
    evaluate_by_name,
    evaluate_decision,
    evaluate_service,
    parse_dmn,
)
from zeebe_celery.engine.dmn.names import NameQuoter

from .dmn_builders import decision, lit, model

SERVICE = (
    '<decisionService id="_svc" name="greet"><variable name="greet"/>'
    '<outputDecision href="#_out"/><inputDecision href="#_title"/><inputData href="#_name"/></decisionService>'
    '<inputData id="_name" name="name"><variable name="name" typeRef="string"/></inputData>'
    '<decision id="_title" name="title"><variable name="title"/>' + lit('"never evaluated"') + "</decision>"
    '<decision id="_out" name="out"><variable name="out"/>'
    '<informationRequirement><requiredDecision href="#_title"/></informationRequirement>'
    + lit('title + " " + name')
    + "</decision>"
)


def test_a_decision_service_is_a_function_of_its_input_data_then_its_input_decisions() -> None:
    drg = parse_dmn(model(SERVICE + decision("d", lit('greet("Ada", "Dr")'))), resource_name="s.dmn")
    assert evaluate_decision(drg, "d", {}).output == "Dr Ada"


def test_a_decision_service_evaluated_directly_takes_its_input_decisions_as_given() -> None:
    drg = parse_dmn(model(SERVICE), resource_name="s.dmn")
    [service] = drg.services
    assert evaluate_service(drg, service, {"name": "Ada", "title": "Prof"}) == "Prof Ada"
    assert evaluate_by_name(drg, "greet", {"name": ["Ada"], "title": "Ms"}) == "Ms Ada"  # a singleton list
    with pytest.raises(DmnEvaluationError, match="the input 'name' is declared 'string'"):
        evaluate_service(drg, service, {"name": 10, "title": "Dr"})


def test_definitions_and_decisions_without_an_id_go_by_their_name() -> None:
    data = b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" name="Named">'
    data += b'<decision name="answer"><literalExpression><text>42</text></literalExpression></decision></definitions>'
    drg = parse_dmn(data, resource_name="n.dmn")
    assert (drg.id, [d.id for d in drg.decisions]) == ("Named", ["answer"])
    assert evaluate_decision(drg, "answer", {}).output == 42


BROKEN = decision("good", lit("1 + 1")) + decision("bad", lit("1 +* 2"))


def test_strict_parsing_refuses_a_model_with_an_expression_it_cannot_read_naming_the_element() -> None:
    with pytest.raises(DmnParseError, match="element 'bad'"):
        parse_dmn(model(BROKEN), resource_name="b.dmn")


def test_lazy_parsing_fails_only_what_evaluates_the_unreadable_expression() -> None:
    drg = parse_dmn(model(BROKEN), resource_name="b.dmn", lazy=True)
    assert evaluate_decision(drg, "good", {}).output == 2
    with pytest.raises(DmnEvaluationError, match="element 'bad'") as caught:
        evaluate_decision(drg, "bad", {})
    assert caught.value.decision_id == "bad"


def test_lazy_parsing_still_refuses_what_no_evaluation_could_work_around() -> None:
    cycle = decision("a", lit("b"), requires=("b",)) + decision("b", lit("a"), requires=("a",))
    with pytest.raises(DmnParseError, match="cycle"):
        parse_dmn(model(cycle), resource_name="c.dmn", lazy=True)


def test_a_decision_without_logic_is_refused_strictly_and_given_by_name_lazily() -> None:
    body = '<decision id="given" name="given"><variable name="given"/></decision>'
    body += decision("d", lit("given * 2"), requires=("given",))
    with pytest.raises(DmnParseError, match="no decision logic"):
        parse_dmn(model(body), resource_name="g.dmn")
    drg = parse_dmn(model(body), resource_name="g.dmn", lazy=True)
    assert evaluate_decision(drg, "d", {"given": 4}).output == 8


def test_the_model_s_names_with_spaces_and_dashes_are_quoted_outside_strings() -> None:
    quote = NameQuoter(["Full Name", "Monthly Salary", "tax-rate", "plain"])
    assert quote('"Hello " + Full Name') == '"Hello " + `Full Name`'
    assert quote("12 * Monthly Salary * tax-rate") == "12 * `Monthly Salary` * `tax-rate`"
    assert quote('"Full Name" + plain') == '"Full Name" + plain'
    assert quote("Full Names") == "Full Names"  # a longer name is not cut into one


def test_evaluated_decision_types_are_the_ones_zeebe_reports() -> None:
    body = decision("c", f"<context><contextEntry>{lit('1')}</contextEntry></context>")
    body += decision("f", f"<filter><in>{lit('[1]')}</in><match>{lit('true')}</match></filter>")
    drg = parse_dmn(model(body), resource_name="t.dmn")
    assert evaluate_decision(drg, "c", {}).evaluated[-1].decision_type == "CONTEXT"
    assert evaluate_decision(drg, "f", {}).evaluated[-1].decision_type == "UNKNOWN"
