"""Business rule tasks: a called decision evaluated by the engine's DMN, its result in a variable, and an
incident when the decision is unknown or fails."""

from __future__ import annotations

from pathlib import Path

from tests.unit.engine.bpmn_builders import _attr, end_event, flows, process, start_event
from tests.unit.engine.harness import Harness

DISCOUNT = (Path(__file__).resolve().parents[2] / "bpmn" / "discount.dmn").read_bytes()
UNIQUE_CLASH = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="clash-drg" name="Clash" namespace="t">
  <decision id="clash" name="Clash">
    <decisionTable id="t" hitPolicy="UNIQUE">
      <input id="i"><inputExpression id="ie" typeRef="number"><text>n</text></inputExpression></input>
      <output id="o" name="result" typeRef="string" />
      <rule id="r1">
        <inputEntry id="e1"><text>&gt; 1</text></inputEntry><outputEntry id="o1"><text>"a"</text></outputEntry>
      </rule>
      <rule id="r2">
        <inputEntry id="e2"><text>&gt; 2</text></inputEntry><outputEntry id="o2"><text>"b"</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""


def rule_task(element_id: str, decision_id: str, result: str) -> str:
    called = f"<zeebe:calledDecision decisionId={_attr(decision_id)} resultVariable={_attr(result)}/>"
    return (
        f"<bpmn:businessRuleTask id={_attr(element_id)}><bpmn:extensionElements>{called}"
        "</bpmn:extensionElements></bpmn:businessRuleTask>"
    )


def deploy(engine: Harness, decision_id: str, *dmn: tuple[str, bytes]) -> None:
    bpmn = process(
        "decide",
        start_event(),
        rule_task("rules", decision_id, "discount"),
        end_event(),
        flows("start", "rules", "end"),
    )
    with engine.runtime.lock:
        engine.runtime.deploy([("decide.bpmn", bpmn), *dmn])


def test_a_business_rule_task_puts_the_decision_result_in_its_result_variable(engine: Harness) -> None:
    deploy(engine, "discount", ("discount.dmn", DISCOUNT))

    gold, bronze = engine.start("decide", {"tier": "gold"}), engine.start("decide", {"tier": "bronze"})

    assert engine.completed(gold)
    assert engine.completed(bronze)
    discounts = [r["value"]["value"] for r in engine.records("VARIABLE", "CREATED", name="discount")]
    assert discounts == ["20", "0"]


def test_an_unknown_called_decision_raises_an_incident_that_resolves_once_it_is_deployed(engine: Harness) -> None:
    deploy(engine, "discount")
    key = engine.start("decide", {"tier": "silver"})

    [incident] = engine.incidents(key)
    assert incident.error_type == "CALLED_DECISION_ERROR"
    assert "no decision found for id 'discount'" in incident.error_message
    with engine.runtime.lock:
        engine.runtime.deploy([("discount.dmn", DISCOUNT)])
    engine.resolve(incident)

    assert engine.completed(key)


def test_a_failing_decision_raises_a_decision_evaluation_incident_naming_the_rules(engine: Harness) -> None:
    deploy(engine, "clash", ("clash.dmn", UNIQUE_CLASH))
    key = engine.start("decide", {"n": 5})

    [incident] = engine.incidents(key)

    assert incident.error_type == "DECISION_EVALUATION_ERROR"
    assert "r1" in incident.error_message
    assert "r2" in incident.error_message
    assert engine.active(key) == ["rules"]
