"""A Python handler as an agent's planner: the `agent-planner` job of an ad-hoc sub-process
(``support_agent.bpmn``) decides which tools run next, and when the agent is done.

Zeebe creates a planner job when the sub-process starts and again whenever a tool completes. The handler
reads the question and the results so far and answers with an :class:`~zeebe_celery.AdHocResult`: the
elements to activate (each with its own variables), whether the completion condition is fulfilled, and
whether to cancel the tools still running. A real agent would ask a language model here; this planner
follows fixed rules, so the example runs anywhere. Needs Camunda 8.8 or newer::

    celery -A examples.agent_planner worker -Q zeebe.agent-planner,zeebe.search-kb,zeebe.draft-reply,zeebe.escalate
    zeebe-celery poller -A examples.agent_planner
    zeebe-celery deploy examples/support_agent.bpmn
    zeebe-celery create-instance support-agent --with-result --variables '{"question": "How do refunds work?"}'
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from pydantic import BaseModel

from zeebe_celery import ActivateElement, AdHocResult, BpmnError, Job, JobKind, zeebe_task

app = Celery("support-agent", broker=os.environ.get("ZEEBE_CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.worker_prefetch_multiplier = 1

KNOWLEDGE = {
    "refund": "Refunds are paid to the original card within 5 working days.",
    "delivery": "Orders ship within 24 hours; tracking arrives by e-mail.",
}


class ToolResult(BaseModel):
    """One entry of ``tool_results``: what the sub-process's outputElement collects from a tool."""

    tool: str
    result: Any = None


@zeebe_task("agent-planner", timeout="1m", app=app)
def plan(question: str, job: Job, tool_results: list[ToolResult] | None = None) -> AdHocResult:
    """Choose the next tools from what the agent knows so far."""
    if job.kind is not JobKind.AD_HOC_SUB_PROCESS:
        raise BpmnError("NOT_A_PLANNER_JOB", f"{job.element_id} is not an ad-hoc sub-process")
    done = {r.tool: r.result for r in tool_results or ()}
    if "escalate" in done:
        return AdHocResult(completion_condition_fulfilled=True, variables={"answer": done["escalate"]})
    if "search_kb" not in done:
        return AdHocResult(activate=[ActivateElement(element_id="search_kb", variables={"query": question})])
    facts = done["search_kb"] or []
    if not facts:
        # Nothing to go on: hand over to a human, and stop any tool still running.
        return AdHocResult(
            activate=[ActivateElement(element_id="escalate", variables={"reason": "no matching article"})],
            cancel_remaining_instances=True,
        )
    if "draft_reply" not in done:
        return AdHocResult(activate=[ActivateElement(element_id="draft_reply", variables={"facts": facts})])
    return AdHocResult(
        completion_condition_fulfilled=True,
        cancel_remaining_instances=True,
        variables={"answer": done["draft_reply"]},
    )


@zeebe_task("search-kb", app=app)
def search_kb(query: str) -> dict[str, object]:
    words = query.lower()
    return {"tool": "search_kb", "result": [text for topic, text in KNOWLEDGE.items() if topic in words]}


@zeebe_task("draft-reply", app=app)
def draft_reply(facts: list[str]) -> dict[str, object]:
    return {"tool": "draft_reply", "result": "Thanks for asking! " + " ".join(facts)}


@zeebe_task("escalate", app=app)
def escalate(reason: str) -> dict[str, object]:
    return {"tool": "escalate", "result": f"A colleague will get back to you ({reason})."}
