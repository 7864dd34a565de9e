"""The engine runs the DMN beyond decision tables: a business rule task calling a decision that invokes a
knowledge model from a boxed context; a model the engine cannot read is refused at deploy, naming the element."""

from __future__ import annotations

import pytest

from tests.unit.engine.bpmn_builders import end_event, flows, process, start_event
from tests.unit.engine.harness import Harness
from tests.unit.engine.test_runtime_decisions import rule_task
from zeebe_celery.engine.errors import InvalidArgument

from .dmn_builders import decision, entry, lit, model

PRICING = model(
    '<businessKnowledgeModel id="k" name="discounted"><encapsulatedLogic><formalParameter name="price"/>'
    '<formalParameter name="rate"/>'
    + lit("price * (1 - rate)")
    + "</encapsulatedLogic></businessKnowledgeModel>"
    + decision(
        "price",
        "<context>"
        + entry("rate", lit("if tier = &quot;gold&quot; then 0.2 else 0"))
        + entry(None, lit("discounted(100, rate)"))
        + "</context>",
    )
)


def deploy(engine: Harness, dmn: bytes) -> None:
    bpmn = process(
        "decide", start_event(), rule_task("rules", "price", "price"), end_event(), flows("start", "rules", "end")
    )
    with engine.runtime.lock:
        engine.runtime.deploy([("decide.bpmn", bpmn), ("pricing.dmn", dmn)])


def test_a_business_rule_task_calls_a_decision_that_invokes_a_knowledge_model(engine: Harness) -> None:
    deploy(engine, PRICING)

    key = engine.start("decide", {"tier": "gold"})

    assert engine.completed(key)
    assert [r["value"]["value"] for r in engine.records("VARIABLE", "CREATED", name="price")] == ["80"]


def test_a_model_with_an_expression_the_engine_cannot_read_is_refused_at_deploy(engine: Harness) -> None:
    with pytest.raises(InvalidArgument, match="element 'broken'"):
        deploy(engine, model(decision("price", lit("1")) + decision("broken", lit("1 +* 2"))))
