"""examples/agent_planner.py as its docstring runs it: a prefork Celery worker and the poller of that app, and
support_agent.bpmn on the session's Zeebe. The Python planner drives the ad-hoc sub-process through
CompleteJob's JobResult until the agent answers or escalates (Camunda 8.8 or newer)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.stack.fleet import CeleryWorker, PollerProcess, stack_env

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
QUEUES = ["zeebe.agent-planner", "zeebe.search-kb", "zeebe.draft-reply", "zeebe.escalate"]


@pytest.fixture
def agent(client: ZeebeClient, zeebe_address: str, redis_url: str) -> Iterator[str]:
    """The example's fleet and a copy of its process with an id of this test's own."""
    process_id = f"support-agent-{uuid.uuid4().hex[:8]}"
    model = (ROOT / "examples" / "support_agent.bpmn").read_text(encoding="utf-8")
    client.deploy_resource((f"{process_id}.bpmn", model.replace('id="support-agent"', f'id="{process_id}"').encode()))
    env = stack_env(zeebe_address=zeebe_address, redis_url=redis_url, pythonpath=[ROOT])
    with (
        CeleryWorker("examples.agent_planner", QUEUES, env=env, concurrency=2, cwd=ROOT),
        PollerProcess("examples.agent_planner", env=env, cwd=ROOT),
    ):
        yield process_id


def test_the_planner_searches_then_drafts_an_answer(client: ZeebeClient, agent: str) -> None:
    done = client.create_process_instance_with_result(
        agent, variables={"question": "How do refunds work?"}, request_timeout=90
    )
    tools = {r["tool"]: r["result"] for r in done.variables["tool_results"]}
    assert list(tools) == ["search_kb", "draft_reply"]
    assert tools["draft_reply"].startswith("Thanks for asking! Refunds are paid")


def test_the_planner_escalates_what_the_knowledge_base_does_not_answer(client: ZeebeClient, agent: str) -> None:
    done = client.create_process_instance_with_result(
        agent, variables={"question": "Can I pay in seashells?"}, request_timeout=90
    )
    tools = {r["tool"]: r["result"] for r in done.variables["tool_results"]}
    assert list(tools) == ["search_kb", "escalate"]
    assert tools["search_kb"] == []
    assert tools["escalate"] == "A colleague will get back to you (no matching article)."
