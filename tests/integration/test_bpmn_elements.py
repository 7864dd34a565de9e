"""The BPMN elements beyond tasks and events, written as Zeebe runs them (Camunda docs, components/modeler/
bpmn): a sequential multi-instance call activity whose child has an interrupting message event sub-process
and a process start listener; a non-interrupting escalation boundary; an ad-hoc sub-process. Through the
client only, so the lane runs against a real Zeebe too (`make conformance`)."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.gateway.types import ProcessInstanceResult
from zeebe_celery.job import JobKind, ListenerEventType


def _deploy_calls(client: ZeebeClient, unique) -> None:
    names = ("call-child", "child-audit", "child-ship", "cancel-order")
    client.deploy_resource(unique.resource("call_child.bpmn", *names))
    client.deploy_resource(unique.resource("call_parent.bpmn", "call-parent", "call-child"))


def _with_result(client: ZeebeClient, pool: ThreadPoolExecutor, process_id: str, **variables: object) -> Future:
    return pool.submit(
        lambda: client.create_process_instance_with_result(process_id, variables=variables, request_timeout=30)
    )


def test_a_multi_instance_call_activity_runs_each_child_with_its_listener_and_collects_outputs(
    zeebe_client: ZeebeClient, unique, jobs
) -> None:
    _deploy_calls(zeebe_client, unique)
    with ThreadPoolExecutor(1) as pool:
        result = _with_result(zeebe_client, pool, unique("call-parent"), items=["A", "B"])
        for item in ("A", "B"):
            audit = jobs.activate_one(unique("child-audit"))
            assert (audit.kind, audit.listener_event_type) == (JobKind.EXECUTION_LISTENER, ListenerEventType.START)
            assert audit.variables["orderId"] == item
            zeebe_client.complete_job(audit.key)
            ship = jobs.activate_one(unique("child-ship"))
            assert ship.kind == JobKind.BPMN_ELEMENT
            zeebe_client.complete_job(ship.key, {"tracking": f"T-{item}"})
        done: ProcessInstanceResult = result.result(timeout=30)
    assert done.variables["shipped"] == ["T-A", "T-B"]


def test_a_message_event_sub_process_in_the_child_ends_it_and_the_call_goes_on(
    zeebe_client: ZeebeClient, unique, jobs
) -> None:
    _deploy_calls(zeebe_client, unique)
    with ThreadPoolExecutor(1) as pool:
        result = _with_result(zeebe_client, pool, unique("call-parent"), items=["C"])
        zeebe_client.complete_job(jobs.activate_one(unique("child-audit")).key)
        jobs.activate_one(unique("child-ship"), timeout=60)
        zeebe_client.publish_message(unique("cancel-order"), correlation_key="C")
        done: ProcessInstanceResult = result.result(timeout=30)
    assert done.variables["shipped"] == [None]


def test_an_escalation_caught_without_interrupting_runs_beside_the_sub_process(
    zeebe_client: ZeebeClient, unique, jobs
) -> None:
    zeebe_client.deploy_resource(
        unique.resource("escalations.bpmn", "escalations", "escalation-finish", "escalation-notify")
    )
    with ThreadPoolExecutor(1) as pool:
        result = _with_result(zeebe_client, pool, unique("escalations"))
        zeebe_client.complete_job(jobs.activate_one(unique("escalation-notify")).key, {"notified": True})
        zeebe_client.complete_job(jobs.activate_one(unique("escalation-finish")).key)
        done: ProcessInstanceResult = result.result(timeout=30)
    assert done.variables["notified"] is True


def test_an_ad_hoc_sub_process_runs_the_chosen_elements_and_collects_their_results(
    zeebe_client: ZeebeClient, unique, jobs
) -> None:
    zeebe_client.deploy_resource(
        unique.resource("ad_hoc_tools.bpmn", "ad-hoc-tools", "ad-hoc-search", "ad-hoc-summarize")
    )
    with ThreadPoolExecutor(1) as pool:
        result = _with_result(zeebe_client, pool, unique("ad-hoc-tools"), chosen=["search", "summarize"])
        zeebe_client.complete_job(jobs.activate_one(unique("ad-hoc-search")).key, {"result": "found"})
        zeebe_client.complete_job(jobs.activate_one(unique("ad-hoc-summarize")).key, {"result": "summary"})
        done: ProcessInstanceResult = result.result(timeout=30)
    assert done.variables["results"] == ["found", "summary"]
    assert "result" not in done.variables  # an activation's variables stay in its own scope


@pytest.mark.parametrize(
    "model",
    [
        pytest.param("compensation", id="the activity in the throw's scope"),
        pytest.param("compensation-nested", id="the activity inside a completed embedded sub-process"),
    ],
)
def test_a_compensation_throw_runs_the_handler_of_the_completed_activity_before_going_on(
    zeebe_client: ZeebeClient, unique, jobs, model: str
) -> None:
    zeebe_client.deploy_resource(unique.resource(f"{model}.bpmn", model, f"{model}-book", f"{model}-cancel"))
    with ThreadPoolExecutor(1) as pool:
        result = _with_result(zeebe_client, pool, unique(model))
        zeebe_client.complete_job(jobs.activate_one(unique(f"{model}-book")).key, {"booking": "B-1"})
        cancel = jobs.activate_one(unique(f"{model}-cancel"))
        assert cancel.element_id == "cancel-booking"
        assert cancel.variables["booking"] == "B-1"
        zeebe_client.complete_job(cancel.key, {"cancelled": True})
        done: ProcessInstanceResult = result.result(timeout=30)
    assert done.variables["cancelled"] is True
