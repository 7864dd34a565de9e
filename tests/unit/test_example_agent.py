"""The agent-planner example (examples/agent_planner.py): its planner plays a whole conversation through the
handler binding a worker uses, each answer mapped to the JobResult the worker would send, and every element
it activates exists in the example's ad-hoc sub-process.

The engine does not run ad-hoc sub-processes with a job worker yet, so the loop Zeebe would drive (a
planner job on entry and after each tool) is driven here; the end-to-end run waits for the engine.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from examples import agent_planner
from tests.unit.builders import make_job
from zeebe_celery import AdHocResult, BpmnError, JobKind
from zeebe_celery.gateway.jobs import job_result_pb
from zeebe_celery.handler import Handler

BPMN = Path(agent_planner.__file__).with_name("support_agent.bpmn")
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "zeebe": "http://camunda.org/schema/zeebe/1.0"}
TOOLS = {
    "search_kb": agent_planner.search_kb,
    "draft_reply": agent_planner.draft_reply,
    "escalate": agent_planner.escalate,
}


def tools_of_the_sub_process() -> dict[str, str]:
    """The ad-hoc sub-process's elements, by id, with their job types."""
    root = ET.parse(BPMN).getroot()  # noqa: S314 -- the example file of this repository
    (agent,) = root.iterfind(".//bpmn:adHocSubProcess", NS)
    assert agent.find("bpmn:extensionElements/zeebe:taskDefinition", NS).get("type") == "agent-planner"  # type: ignore[union-attr]
    return {
        task.get("id", ""): task.find("bpmn:extensionElements/zeebe:taskDefinition", NS).get("type", "")  # type: ignore[union-attr]
        for task in agent.iterfind("bpmn:serviceTask", NS)
    }


def converse(question: str) -> tuple[list[list[str]], AdHocResult]:
    """Run planner and tools as Zeebe would, until the planner says it is done; return the tools activated at
    each step and the planner's last answer."""
    planner = Handler(agent_planner.plan.zeebe_function, bind=False)
    results: list[dict[str, Any]] = []
    steps: list[list[str]] = []
    for _ in range(5):
        job = make_job(
            job_type="agent-planner",
            kind=JobKind.AD_HOC_SUB_PROCESS,
            variables={"question": question, "tool_results": results},
        )
        answer = planner(job, task=None)
        assert isinstance(answer, AdHocResult)
        assert job_result_pb(answer).type == "adHocSubProcess"
        if answer.completion_condition_fulfilled:
            return steps, answer
        steps.append([e.element_id for e in answer.activate])
        for element in answer.activate:
            tool = Handler(TOOLS[element.element_id].zeebe_function, bind=False)
            results.append(tool(make_job(variables=dict(element.variables)), task=None))
    raise AssertionError(f"the planner did not finish: {steps}")


def test_a_question_the_knowledge_base_answers_is_searched_then_drafted() -> None:
    steps, last = converse("How do refunds work?")

    assert steps == [["search_kb"], ["draft_reply"]]
    assert last.cancel_remaining_instances
    assert last.variables == {"answer": "Thanks for asking! " + agent_planner.KNOWLEDGE["refund"]}


def test_a_question_without_an_article_is_escalated_cancelling_the_rest() -> None:
    steps, last = converse("Can I pay in tulips?")

    assert steps == [["search_kb"], ["escalate"]]
    assert last.variables is not None
    assert "no matching article" in last.variables["answer"]


def test_every_tool_the_planner_activates_is_an_element_of_the_sub_process_with_a_handler() -> None:
    elements = tools_of_the_sub_process()

    assert set(elements) == set(TOOLS)
    assert {element_id: TOOLS[element_id].name for element_id in elements} == {
        element_id: f"examples.agent_planner.{fn.zeebe_function.__name__}" for element_id, fn in TOOLS.items()
    }


def test_the_planner_refuses_a_job_that_is_not_an_ad_hoc_sub_process() -> None:
    planner = Handler(agent_planner.plan.zeebe_function, bind=False)

    with pytest.raises(BpmnError, match="NOT_A_PLANNER_JOB"):
        planner(make_job(variables={"question": "q"}), task=None)
