"""The everyday flows of Camunda's official Python SDK (``camunda-orchestration-sdk`` 9.x) against the
engine's REST API: deploy, create instances with and without a result, search and get them, cancel; publish
and correlate messages, broadcast signals; evaluate a decision; its job worker completes jobs, fails one
and throws a BPMN error; incidents are searched and resolved; variables searched. Each answer goes through
the SDK's generated models, so one it cannot parse fails the test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from camunda_orchestration_sdk import CamundaClient, JobError, JobFailure
from camunda_orchestration_sdk.models import (
    DecisionEvaluationByID,
    IncidentSearchQuery,
    JobActivationRequest,
    JobChangeset,
    JobCompletionRequest,
    JobUpdateRequest,
    MessageCorrelationRequest,
    MessagePublicationRequest,
    ProcessCreationById,
    ProcessCreationByKey,
    ProcessInstanceSearchQuery,
    SearchVariablesData,
    SignalBroadcastRequest,
)

from tests.integration.conftest import UniqueNames
from tests.integration.rest.conftest import Workers, bpmn_file, until
from zeebe_celery.gateway.client import ZeebeClient

pytestmark = pytest.mark.integration


def _activation(job_type: str, max_jobs: int) -> JobActivationRequest:
    """Activate up to ``max_jobs`` jobs of ``job_type`` for 30 s as worker "sdk", long-polling up to 5 s."""
    return JobActivationRequest.from_dict(
        {"type": job_type, "timeout": 30_000, "maxJobsToActivate": max_jobs, "worker": "sdk", "requestTimeout": 5_000}
    )


def _state(camunda: CamundaClient, key: str) -> str:
    return str(camunda.get_process_instance(process_instance_key=key).state.value)


def test_topology_names_the_engine(camunda: CamundaClient) -> None:
    topology = camunda.get_topology()
    assert topology.cluster_size == 1
    assert topology.brokers[0].partitions[0].role.value == "leader"
    assert topology.gateway_version == topology.brokers[0].version == "8.9.0"
    assert topology.cluster_id


def test_deploy_create_with_and_without_result_get_search_and_cancel(
    camunda: CamundaClient, unique: UniqueNames, tmp_path: Path
) -> None:
    deployment = camunda.deploy_resources_from_files(
        [
            bpmn_file(tmp_path, unique, "one_task.bpmn", "one-task"),
            bpmn_file(tmp_path, unique, "script_sum.bpmn", "script-sum"),
        ]
    )
    processes = {p.process_definition_id: p for p in deployment.processes}
    assert set(processes) == {unique("one-task"), unique("script-sum")}

    summed = camunda.create_process_instance(
        data=ProcessCreationById.from_dict(
            {
                "processDefinitionId": unique("script-sum"),
                "variables": {"a": 2, "b": 3},
                "awaitCompletion": True,
                "fetchVariables": ["sum"],
            }
        )
    )
    assert summed.variables.to_dict() == {"sum": 5}
    assert _state(camunda, summed.process_instance_key) == "COMPLETED"

    waiting = camunda.create_process_instance(
        data=ProcessCreationByKey.from_dict(
            {
                "processDefinitionKey": processes[unique("one-task")].process_definition_key,
                "variables": {"n": 1},
                "tags": ["rush"],
                "businessId": unique("order"),
            }
        )
    )
    assert waiting.variables.to_dict() == {}
    assert (waiting.tags, waiting.business_id) == (["rush"], unique("order"))
    got = camunda.get_process_instance(process_instance_key=waiting.process_instance_key)
    assert (got.state.value, got.process_definition_id, got.has_incident) == ("ACTIVE", unique("one-task"), False)
    assert got.end_date is None
    assert (got.tags, got.business_id) == (["rush"], unique("order"))
    tagged = camunda.search_process_instances(
        data=ProcessInstanceSearchQuery.from_dict({"filter": {"tags": ["rush"], "businessId": unique("order")}})
    )
    assert [i.process_instance_key for i in tagged.items] == [waiting.process_instance_key]

    found = camunda.search_process_instances(
        data=ProcessInstanceSearchQuery.from_dict(
            {
                "filter": {"processDefinitionId": {"$in": [unique("one-task"), unique("script-sum")]}},
                "sort": [{"field": "processDefinitionId", "order": "DESC"}],
                "page": {"limit": 1},
            }
        )
    )
    assert found.page.total_items == 2
    assert [i.process_definition_id for i in found.items] == [unique("script-sum")]
    rest = camunda.search_process_instances(
        data=ProcessInstanceSearchQuery.from_dict(
            {
                "filter": {"processDefinitionId": {"$like": f"*{unique.suffix}"}},
                "sort": [{"field": "processDefinitionId", "order": "DESC"}],
                "page": {"after": found.page.end_cursor, "limit": 5},
            }
        )
    )
    assert [i.process_instance_key for i in rest.items] == [waiting.process_instance_key]

    camunda.cancel_process_instance(process_instance_key=waiting.process_instance_key, data=None)
    cancelled = camunda.get_process_instance(process_instance_key=waiting.process_instance_key)
    assert cancelled.state.value == "TERMINATED"
    assert cancelled.end_date is not None
    ended = camunda.search_process_instances(
        data=ProcessInstanceSearchQuery.from_dict(
            {"filter": {"processDefinitionId": unique("one-task"), "state": "TERMINATED"}}
        )
    )
    assert [i.process_instance_key for i in ended.items] == [waiting.process_instance_key]


def test_messages_are_published_and_correlated_and_signals_broadcast(
    camunda: CamundaClient, unique: UniqueNames, tmp_path: Path
) -> None:
    camunda.deploy_resources_from_files(
        [
            bpmn_file(tmp_path, unique, "message_catch.bpmn", "message-catch", "payment-received", "ship-work"),
            bpmn_file(tmp_path, unique, "signal_catch.bpmn", "signal-catch", "go-now", "proceed-work"),
        ]
    )
    first, second = (
        camunda.create_process_instance(
            data=ProcessCreationById.from_dict(
                {"processDefinitionId": unique("message-catch"), "variables": {"orderId": order}}
            )
        )
        for order in ("o-1", "o-2")
    )
    published = camunda.publish_message(
        data=MessagePublicationRequest.from_dict(
            {"name": unique("payment-received"), "correlationKey": "o-1", "timeToLive": 0, "variables": {"paid": 1}}
        )
    )
    assert published.message_key
    correlated = camunda.correlate_message(
        data=MessageCorrelationRequest.from_dict({"name": unique("payment-received"), "correlationKey": "o-2"})
    )
    assert correlated.process_instance_key == second.process_instance_key
    jobs = camunda.activate_jobs(data=_activation(unique("ship-work"), 5))
    waiting_for_two = {first.process_instance_key, second.process_instance_key}
    if len(jobs.jobs) < 2:
        jobs.jobs += camunda.activate_jobs(data=_activation(unique("ship-work"), 5)).jobs
    assert {j.process_instance_key for j in jobs.jobs} == waiting_for_two
    paid = next(j for j in jobs.jobs if j.process_instance_key == first.process_instance_key)
    assert paid.variables.to_dict()["paid"] == 1

    waiting = camunda.create_process_instance(
        data=ProcessCreationById.from_dict({"processDefinitionId": unique("signal-catch")})
    )
    broadcast = camunda.broadcast_signal(
        data=SignalBroadcastRequest.from_dict({"signalName": unique("go-now"), "variables": {"went": True}})
    )
    assert broadcast.signal_key
    go = camunda.activate_jobs(data=_activation(unique("proceed-work"), 1))
    assert [j.process_instance_key for j in go.jobs] == [waiting.process_instance_key]


def test_decision_is_evaluated(camunda: CamundaClient, tmp_path: Path) -> None:
    deployment = camunda.deploy_resources_from_files([str(Path(__file__).parents[2] / "bpmn" / "discount.dmn")])
    key = deployment.decisions[0].decision_definition_key
    evaluated = camunda.evaluate_decision(
        data=DecisionEvaluationByID.from_dict({"decisionDefinitionId": "discount", "variables": {"tier": "gold"}})
    )
    assert evaluated.output == "20"
    assert evaluated.failure_message is None
    assert evaluated.evaluated_decisions[0].matched_rules[0].evaluated_outputs[0].output_value == "20"
    assert int(evaluated.decision_definition_key) >= int(key)


def test_job_worker_completes_fails_and_throws_errors_and_incidents_are_resolved(
    camunda: CamundaClient, workers: Workers, unique: UniqueNames, tmp_path: Path
) -> None:
    camunda.deploy_resources_from_files(
        [
            bpmn_file(tmp_path, unique, "one_task.bpmn", "one-task", "test-work"),
            bpmn_file(tmp_path, unique, "error_boundary.bpmn", "error-boundary", "reserve-work", "backorder-work"),
        ]
    )
    seen: list[dict[str, Any]] = []

    async def work(job: Any) -> dict[str, Any]:
        variables = job.variables.to_dict()
        seen.append(variables)
        if variables.get("fail"):
            raise JobFailure(message="cannot work today", retries=0)
        return {"worked": variables["n"] * 10}

    async def reserve(job: Any) -> dict[str, Any]:
        raise JobError(error_code="NO_STOCK", message="nothing left")

    async def backorder(job: Any) -> dict[str, Any]:
        return {"backordered": True}

    workers.handle(unique("test-work"), work)
    workers.handle(unique("reserve-work"), reserve)
    workers.handle(unique("backorder-work"), backorder)
    workers.start()

    def create(process_id: str, variables: dict[str, Any]) -> str:
        created = camunda.create_process_instance(
            data=ProcessCreationById.from_dict({"processDefinitionId": process_id, "variables": variables})
        )
        return str(created.process_instance_key)

    done = create(unique("one-task"), {"n": 4})
    failing = create(unique("one-task"), {"n": 5, "fail": True})
    erring = create(unique("error-boundary"), {})
    until(lambda: _state(camunda, done) == "COMPLETED", what="the job worker's completion")
    until(lambda: _state(camunda, erring) == "COMPLETED", what="the BPMN error's path")
    worked = camunda.search_variables(
        data=SearchVariablesData.from_dict({"filter": {"processInstanceKey": done, "name": "worked"}})
    )
    assert [v.value for v in worked.items] == ["40"]

    incident_query = IncidentSearchQuery.from_dict({"filter": {"processInstanceKey": failing, "state": "ACTIVE"}})
    incidents = until(lambda: camunda.search_incidents(data=incident_query).items, what="the incident")
    incident = incidents[0]
    assert (incident.error_type.value, incident.error_message) == ("JOB_NO_RETRIES", "cannot work today")
    assert camunda.get_process_instance(process_instance_key=failing).has_incident is True

    workers.stop()
    camunda.update_job(
        job_key=incident.job_key, data=JobUpdateRequest(changeset=JobChangeset.from_dict({"retries": 1}))
    )
    camunda.resolve_incident(incident_key=incident.incident_key)
    resolved = camunda.get_incident(incident_key=incident.incident_key)
    assert resolved.state.value == "RESOLVED"
    again = camunda.activate_jobs(data=_activation(unique("test-work"), 1))
    assert [j.process_instance_key for j in again.jobs] == [failing]
    camunda.complete_job(job_key=again.jobs[0].job_key, data=JobCompletionRequest())
    assert _state(camunda, failing) == "COMPLETED"
    assert camunda.get_process_instance(process_instance_key=failing).has_incident is False


def test_grpc_and_rest_see_one_engine(
    camunda: CamundaClient, zeebe_client: ZeebeClient, unique: UniqueNames, tmp_path: Path
) -> None:
    zeebe_client.deploy_resource(unique.resource("one_task.bpmn", "one-task", "test-work"))
    created = zeebe_client.create_process_instance(unique("one-task"), variables={"via": "grpc"})
    got = camunda.get_process_instance(process_instance_key=str(created.process_instance_key))
    assert (got.state.value, got.process_definition_id) == ("ACTIVE", unique("one-task"))
    jobs = camunda.activate_jobs(
        data=JobActivationRequest.from_dict(
            {"type": unique("test-work"), "timeout": 30_000, "maxJobsToActivate": 1, "worker": "sdk"}
        )
    )
    assert jobs.jobs[0].variables.to_dict() == {"via": "grpc"}
    camunda.complete_job(job_key=jobs.jobs[0].job_key, data=JobCompletionRequest())
    assert _state(camunda, str(created.process_instance_key)) == "COMPLETED"
