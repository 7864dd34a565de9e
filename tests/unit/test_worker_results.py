"""Listener and ad-hoc sub-process handlers on the worker: a typed return value (``Deny``, ``Corrections``,
``AdHocResult``) becomes CompleteJob's ``JobResult``; a result that does not fit the job, or that the
gateway's version would ignore, becomes an incident that says why. The poller asks for the jobs of the
assigned tenants when a handler says so.

The engine makes no ad-hoc sub-process jobs yet (and ignores a JobResult on a job of another kind, as
Zeebe does), so each test takes a real job of its own process and gives the Job the kind an 8.8 gateway
would send; an older or newer gateway is played by the engine answering Topology with that version.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from pydantic import ValidationError

from tests.unit.engine_jobs import EngineJobs
from zeebe_celery import worker
from zeebe_celery.config import BridgeSettings, ZeebeSettings
from zeebe_celery.dispatch import CeleryDispatcher
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.faults import Faults
from zeebe_celery.errors import UnsupportedByGatewayError
from zeebe_celery.flow import InflightStore
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.gateway.jobs import job_result_pb
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.job import Job, JobKind, ListenerEventType, UserTaskProperties
from zeebe_celery.poller import Poller
from zeebe_celery.results import ActivateElement, AdHocResult, Corrections, Deny
from zeebe_celery.spec import spec_for
from zeebe_celery.task import zeebe_task


@pytest.fixture
def job_type(jobs: EngineJobs) -> str:
    return jobs.new_type("listener")


@pytest.fixture
def app(engine: ZeebeEngine, redis_url: str, clean_env: Path) -> Iterator[Celery]:
    app = Celery("worker-results", set_as_current=False)
    worker.configure(app, zeebe=ZeebeSettings(address=engine.address), bridge=BridgeSettings(redis_url=redis_url))
    yield app
    worker.close_contexts(app)


def gateway(faults: Faults, version: str) -> None:
    faults.respond("Topology", pb.TopologyResponse(gatewayVersion=version), times=None)


def payload(jobs: EngineJobs, job_type: str, kind: JobKind, **fields: Any) -> dict[str, Any]:
    """The task message of a new instance's job, as an 8.8 gateway would send it for a job of ``kind``."""
    job = jobs.one(job_type)
    return job.model_copy(update={"kind": kind, **fields}).model_dump(mode="json")


def listener_payload(jobs: EngineJobs, job_type: str, **user_task: Any) -> dict[str, Any]:
    return payload(
        jobs,
        job_type,
        JobKind.TASK_LISTENER,
        listener_event_type=ListenerEventType.ASSIGNING,
        user_task=UserTaskProperties(user_task_key=5, **user_task),
    )


def run(app: Celery, job_type: str, handler: Callable[..., Any], message: dict[str, Any]) -> str:
    task = zeebe_task(job_type, app=app)(handler)
    return str(task.run(message))


def returning(value: Any) -> Callable[[], Any]:
    def handler() -> Any:
        return value

    return handler


def completion(faults: Faults) -> Any:
    (call,) = faults.calls("CompleteJob")
    return call.request


# -- task listeners ------------------------------------------------------------------------------------


def test_a_task_listener_denies_the_user_task_with_a_reason(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    gateway(faults, "8.9.0")
    seen: list[Job] = []

    def check(job: Job) -> Deny:
        seen.append(job)
        return Deny(reason=f"{job.user_task.assignee if job.user_task else None} may not approve")

    outcome = run(app, job_type, check, listener_payload(jobs, job_type, assignee="mallory"))

    assert outcome == "completed"
    result = completion(faults).result
    assert (result.type, result.denied, result.deniedReason) == ("userTask", True, "mallory may not approve")
    assert not result.HasField("corrections")
    assert seen[0].listener_event_type is ListenerEventType.ASSIGNING


def test_a_task_listener_sends_corrections_of_only_the_properties_it_names(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    gateway(faults, "8.8.0")

    def correct(job: Job) -> Corrections:
        return Corrections(
            assignee="",
            due_date=datetime(2026, 12, 24, 12, tzinfo=UTC),
            candidate_groups=[],
            candidate_users=["ann"],
            priority=80,
        )

    assert run(app, job_type, correct, listener_payload(jobs, job_type)) == "completed"

    result = completion(faults).result
    assert (result.type, result.denied) == ("userTask", False)
    corrections = result.corrections
    assert corrections.assignee == ""
    assert corrections.dueDate == "2026-12-24T12:00:00+00:00"
    assert not corrections.HasField("followUpDate")
    assert corrections.HasField("candidateGroups")
    assert list(corrections.candidateGroups.values) == []
    assert list(corrections.candidateUsers.values) == ["ann"]
    assert corrections.priority == 80


def test_an_execution_listener_runs_like_any_handler_and_completes_with_variables(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    message = payload(jobs, job_type, JobKind.EXECUTION_LISTENER, listener_event_type=ListenerEventType.START)

    def audit(job: Job) -> dict[str, Any]:
        return {"audited": job.listener_event_type.value}

    assert run(app, job_type, audit, message) == "completed"

    request = completion(faults)
    assert json.loads(request.variables) == {"audited": "START"}
    assert not request.HasField("result")
    assert faults.calls("Topology") == []


# -- ad-hoc sub-processes --------------------------------------------------------------------------------


def test_an_ad_hoc_sub_process_job_answers_with_the_elements_to_activate(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    gateway(faults, "8.9.0")

    def plan(job: Job) -> AdHocResult:
        return AdHocResult(
            activate=[ActivateElement(element_id="search", variables={"query": "refund policy"}), "draft"],
            cancel_remaining_instances=True,
            variables={"step": 1},
        )

    assert run(app, job_type, plan, payload(jobs, job_type, JobKind.AD_HOC_SUB_PROCESS)) == "completed"

    request = completion(faults)
    assert json.loads(request.variables) == {"step": 1}
    result = request.result
    assert result.type == "adHocSubProcess"
    assert [(e.elementId, json.loads(e.variables or "{}")) for e in result.activateElements] == [
        ("search", {"query": "refund policy"}),
        ("draft", {}),
    ]
    assert (result.isCompletionConditionFulfilled, result.isCancelRemainingInstances) == (False, True)


# -- results that cannot be sent become incidents --------------------------------------------------------


def incident_message(faults: Faults) -> str:
    (call,) = faults.calls("FailJob")
    assert call.request.retries == 0
    return str(call.request.errorMessage)


def test_a_denial_for_a_service_tasks_job_is_an_incident_naming_the_mismatch(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    message = payload(jobs, job_type, JobKind.BPMN_ELEMENT)

    assert run(app, job_type, returning(Deny(reason="no")), message) == "incident"

    assert "Deny answers a TASK_LISTENER job" in incident_message(faults)
    assert "is a BPMN_ELEMENT job" in incident_message(faults)
    assert faults.calls("CompleteJob") == []


def test_an_ad_hoc_result_for_a_task_listener_is_an_incident(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    assert run(app, job_type, returning(AdHocResult()), listener_payload(jobs, job_type)) == "incident"

    assert "AdHocResult answers a AD_HOC_SUB_PROCESS job" in incident_message(faults)


def test_a_denial_on_a_gateway_older_than_8_8_is_an_incident_naming_the_version(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    gateway(faults, "8.7.1")

    assert run(app, job_type, returning(Deny(reason="no")), listener_payload(jobs, job_type)) == "incident"

    message = incident_message(faults)
    assert "needs a Camunda 8.8 gateway or newer" in message
    assert "8.7.1" in message
    assert faults.calls("CompleteJob") == []


def test_element_variables_that_are_not_json_are_an_incident(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    gateway(faults, "8.9.0")
    result = AdHocResult(activate=[ActivateElement(element_id="a", variables={"when": object()})])

    assert run(app, job_type, returning(result), payload(jobs, job_type, JobKind.AD_HOC_SUB_PROCESS)) == "incident"

    assert "'when' is not JSON-serialisable" in incident_message(faults)


# -- the values themselves -------------------------------------------------------------------------------


def test_results_are_checked_when_they_are_made() -> None:
    with pytest.raises(ValidationError, match="less than or equal to 100"):
        Corrections(priority=101)
    with pytest.raises(ValidationError, match="list of names"):
        Corrections(candidate_users="ann")
    with pytest.raises(ValidationError, match="at least 1 character"):
        AdHocResult(activate=[""])


def test_each_result_maps_to_the_job_result_message() -> None:
    assert job_result_pb(Deny()) == pb.JobResult(type="userTask", denied=True, deniedReason="")
    assert job_result_pb(Corrections(follow_up_date="2027-01-01")) == pb.JobResult(
        type="userTask", denied=False, corrections=pb.JobResultCorrections(followUpDate="2027-01-01")
    )
    assert job_result_pb(AdHocResult(completion_condition_fulfilled=True)) == pb.JobResult(
        type="adHocSubProcess", isCompletionConditionFulfilled=True, isCancelRemainingInstances=False
    )


# -- the assigned tenants' jobs ----------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "refused"), [("8.9.0", False), ("8.8.4", True)])
def test_the_poller_activates_the_assigned_tenants_jobs_when_the_handler_asks(
    app: Celery,
    faults: Faults,
    jobs: EngineJobs,
    job_type: str,
    client: ZeebeClient,
    redis_url: str,
    version: str,
    refused: bool,
) -> None:
    gateway(faults, version)
    app.conf.broker_url = redis_url
    zeebe_task(job_type, app=app, tenant_filter="assigned", name=f"tenants.{job_type}")(returning(None))
    bridge = BridgeSettings(redis_url=redis_url, poll_timeout="200ms")
    spec = spec_for(f"tenants.{job_type}").resolve(bridge)
    store = InflightStore.from_url(redis_url)
    dispatcher = CeleryDispatcher(app, {job_type: spec}, bridge)
    poller = Poller(app, client=client, bridge=bridge, inflight=store, dispatcher=dispatcher)
    try:
        if refused:
            with pytest.raises(UnsupportedByGatewayError, match="tenantFilter ASSIGNED"):
                poller.poll_once(spec)
            assert faults.calls("ActivateJobs") == []
        else:
            jobs.create(job_type)
            assert poller.poll_once(spec) == 1
            assert faults.calls("ActivateJobs")[0].request.tenantFilter == pb.TenantFilter.ASSIGNED
        assert store.in_flight(job_type) == (0 if refused else 1)
    finally:
        poller.stop(timeout=2)
        store.release(job_type, [(k, 0) for k in jobs.keys_of(job_type)])
        store.close()
        dispatcher.close()


def test_an_unknown_tenant_filter_is_refused_by_the_decorator(app: Celery) -> None:
    with pytest.raises(ValueError, match="'provided' or 'assigned'"):
        zeebe_task("t", app=app, tenant_filter="all")(returning(None))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="give no tenant_ids"):
        zeebe_task("t", app=app, tenant_ids=["a"], tenant_filter="assigned")(returning(None))
