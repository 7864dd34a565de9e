"""ZeebeClient and the 8.6-8.9 protocol on the engine: the new fields on the wire, the typed answers, and the
version gate, which refuses what an older gateway would silently ignore.

The engine reports gateway version 8.9.0 and honours the 8.9 fields; an older gateway is played by the
engine's fault injection answering Topology with another version; what the client sent is read from the
engine's recorded calls.
"""

from __future__ import annotations

import json

import pytest

from tests.unit.engine_jobs import EngineJobs
from zeebe_celery.config import ZeebeSettings
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.faults import Faults
from zeebe_celery.errors import TerminalError, UnsupportedByGatewayError
from zeebe_celery.gateway import MoveInstruction, TenantFilter
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.types import BatchOperation, ConditionalEvaluation, ProcessInstanceReference
from zeebe_celery.gateway.versions import parse_version
from zeebe_celery.results import ActivateElement, AdHocResult, Corrections, Deny

pytestmark = pytest.mark.usefixtures("clean_env")


def gateway(faults: Faults, version: str) -> None:
    """Make the engine's Topology report ``version`` as the gateway's."""
    faults.respond("Topology", pb.TopologyResponse(gatewayVersion=version, clusterId="c-1"), times=None)


# -- the new fields on the wire (an 8.9 gateway) ----------------------------------------------------------


def test_create_sends_tags_business_id_runtime_instructions_and_operation_reference(
    faults: Faults, jobs: EngineJobs, job_type: str, client: ZeebeClient
) -> None:
    gateway(faults, "8.9.0")

    created = client.create_process_instance(
        jobs.process_of(job_type),
        tags=["vip", "region:eu"],
        business_id="order-42",
        terminate_after=["work"],
        operation_reference=7,
    )

    request = faults.calls("CreateProcessInstance")[0].request
    assert list(request.tags) == ["vip", "region:eu"]
    assert request.businessId == "order-42"
    assert [i.terminate.afterElementId for i in request.runtimeInstructions] == ["work"]
    assert request.operationReference == 7
    assert created.process_instance_key > 0


def test_create_with_result_sends_the_same_fields_inside_its_request(
    faults: Faults, engine: ZeebeEngine, client: ZeebeClient
) -> None:
    gateway(faults, "8.9.1")
    process = EngineJobs(engine).deploy_straight_through()

    client.create_process_instance_with_result(process, tags=["t"], business_id="b-1", request_timeout=5)

    inner = faults.calls("CreateProcessInstanceWithResult")[0].request.request
    assert (list(inner.tags), inner.businessId) == (["t"], "b-1")


def test_created_instances_carry_the_tags_and_business_id_the_gateway_echoes(
    faults: Faults, client: ZeebeClient
) -> None:
    faults.respond(
        "CreateProcessInstance",
        pb.CreateProcessInstanceResponse(processInstanceKey=5, tags=["vip"], businessId="order-42", tenantId="t"),
    )
    faults.respond(
        "CreateProcessInstanceWithResult",
        pb.CreateProcessInstanceWithResultResponse(processInstanceKey=6, variables='{"a":1}', tags=["x"]),
    )

    created = client.create_process_instance("shop")
    finished = client.create_process_instance_with_result("shop")

    assert (created.tags, created.business_id, created.tenant_id) == (("vip",), "order-42", "t")
    assert (finished.tags, finished.business_id, finished.variables) == (("x",), None, {"a": 1})


def test_operation_references_reach_every_command_that_takes_one_even_on_an_older_gateway(
    faults: Faults, jobs: EngineJobs, job_type: str, client: ZeebeClient
) -> None:
    job = jobs.one(job_type)
    instance = job.process_instance_key

    client.update_job_timeout(job.key, 30, operation_reference=1)
    client.update_job_retries(job.key, 2, operation_reference=2)
    client.set_variables(instance, {"a": 1}, operation_reference=3)
    client.modify_process_instance(instance, operation_reference=4)
    client.cancel_process_instance(instance, operation_reference=5)

    sent = {
        rpc: faults.calls(rpc)[0].request.operationReference
        for rpc in (
            "UpdateJobTimeout",
            "UpdateJobRetries",
            "SetVariables",
            "ModifyProcessInstance",
            "CancelProcessInstance",
        )
    }
    assert sent == {
        "UpdateJobTimeout": 1,
        "UpdateJobRetries": 2,
        "SetVariables": 3,
        "ModifyProcessInstance": 4,
        "CancelProcessInstance": 5,
    }
    assert faults.calls("Topology") == []  # nothing to gate: the gateway's version was never asked


def test_modify_sends_move_and_terminate_by_element_instructions(
    faults: Faults, jobs: EngineJobs, job_type: str, client: ZeebeClient
) -> None:
    gateway(faults, "8.9.0")
    faults.respond("ModifyProcessInstance", pb.ModifyProcessInstanceResponse())

    client.modify_process_instance(
        1,
        terminate_elements=["charge"],
        move=[
            MoveInstruction(
                source_element_id="charge",
                target_element_id="ship",
                variables={"": {"moved": True}},
                infer_ancestor_scope=True,
            )
        ],
    )

    request = faults.calls("ModifyProcessInstance")[0].request
    assert [t.elementId for t in request.terminateInstructions] == ["charge"]
    (move,) = request.moveInstructions
    assert (move.sourceElementId, move.targetElementId, move.inferAncestorScopeFromSourceHierarchy) == (
        "charge",
        "ship",
        True,
    )
    assert json.loads(move.variableInstructions[0].variables) == {"moved": True}


def test_a_move_instruction_names_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        MoveInstruction(target_element_id="b")
    with pytest.raises(ValueError, match="exactly one"):
        MoveInstruction(target_element_id="b", source_element_id="a", source_element_instance_key=3)


def test_delete_resource_sends_delete_history_and_reads_the_batch_operation(
    faults: Faults, client: ZeebeClient
) -> None:
    gateway(faults, "8.9.0")
    faults.respond(
        "DeleteResource",
        pb.DeleteResourceResponse(
            resourceKey="42",
            batchOperation=pb.BatchOperationCreatedResult(
                batchOperationKey="99",
                batchOperationType=pb.BatchOperationCreatedResult.DELETE_PROCESS_DEFINITION,
            ),
        ),
    )

    deleted = client.delete_resource(42, delete_history=True, operation_reference=8)

    request = faults.calls("DeleteResource")[0].request
    assert (request.deleteHistory, request.operationReference) == (True, 8)
    assert deleted.resource_key == "42"
    assert deleted.batch_operation == BatchOperation(key="99", type="DELETE_PROCESS_DEFINITION")


def test_evaluate_conditional_sends_its_request_and_reads_the_created_instances(
    faults: Faults, client: ZeebeClient
) -> None:
    gateway(faults, "8.9.0")
    faults.respond(
        "EvaluateConditional",
        pb.EvaluateConditionalResponse(
            conditionalEvaluationKey=3,
            tenantId="<default>",
            processInstances=[pb.ProcessInstanceReference(processDefinitionKey=1, processInstanceKey=2)],
        ),
    )

    evaluation = client.evaluate_conditional({"temperature": 40}, process_definition_key=1)

    request = faults.calls("EvaluateConditional")[0].request
    assert json.loads(request.variables) == {"temperature": 40}
    assert request.processDefinitionKey == 1
    assert evaluation == ConditionalEvaluation(
        key=3, tenant_id="<default>", process_instances=(ProcessInstanceReference(1, 2),)
    )


def test_the_engine_starts_conditional_start_events_through_evaluate_conditional(
    engine: ZeebeEngine, client: ZeebeClient
) -> None:
    (definition,) = engine.runtime.deploy([("hot.bpmn", HOT)]).processes

    evaluation = client.evaluate_conditional({"temperature": 40})
    cold = client.evaluate_conditional({"temperature": 4})

    (started,) = evaluation.process_instances
    assert started.process_definition_key == definition.key
    assert evaluation.key > 0
    assert cold.process_instances == ()


HOT = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="hot" isExecutable="true">
    <bpmn:startEvent id="when"><bpmn:conditionalEventDefinition>
      <bpmn:condition>=temperature &gt; 30</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:startEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f" sourceRef="when" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_topology_reads_the_cluster_id(faults: Faults, client: ZeebeClient) -> None:
    gateway(faults, "8.9.0")

    assert client.topology().cluster_id == "c-1"


def test_decision_evaluations_carry_the_evaluation_keys(faults: Faults, client: ZeebeClient) -> None:
    faults.respond(
        "EvaluateDecision",
        pb.EvaluateDecisionResponse(
            decisionId="d",
            decisionEvaluationKey=12,
            evaluatedDecisions=[pb.EvaluatedDecision(decisionId="d", decisionEvaluationInstanceKey="12-1")],
        ),
    )

    evaluation = client.evaluate_decision("d")

    assert evaluation.decision_evaluation_key == 12
    assert evaluation.evaluated_decisions[0].decision_evaluation_instance_key == "12-1"


@pytest.mark.parametrize("streaming", [False, True], ids=["activate", "stream"])
def test_tenant_filter_assigned_is_sent_for_activation_and_streaming(
    faults: Faults, job_type: str, client: ZeebeClient, streaming: bool
) -> None:
    gateway(faults, "8.9.0")

    if streaming:
        call = client.stream_activated_jobs(job_type, worker="w", timeout=60, tenant_filter="assigned")
        faults.wait_for_calls("StreamActivatedJobs", 1)
        call.cancel()
        list(call)
        rpc = "StreamActivatedJobs"
    else:
        client.activate_jobs(job_type, worker="w", timeout=60, max_jobs=1, request_timeout=-1, tenant_filter="ASSIGNED")
        rpc = "ActivateJobs"

    assert faults.calls(rpc)[0].request.tenantFilter == pb.TenantFilter.ASSIGNED


def test_an_unknown_tenant_filter_is_refused_before_anything_is_sent(
    faults: Faults, job_type: str, client: ZeebeClient
) -> None:
    with pytest.raises(ValueError, match="everyone"):
        client.activate_jobs(job_type, worker="w", timeout=60, max_jobs=1, tenant_filter="everyone")
    with pytest.raises(ValueError, match="give no tenant_ids"):
        client.stream_activated_jobs(job_type, worker="w", timeout=60, tenant_ids=["a"], tenant_filter="assigned")
    assert faults.calls() == []


# -- job results on the wire ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["8.8.0", "8.9.0"])
def test_complete_job_sends_a_denial_as_the_job_result(
    faults: Faults, job_key: int, client: ZeebeClient, version: str
) -> None:
    gateway(faults, version)

    client.complete_job(job_key, result=Deny(reason="no budget"))

    request = faults.calls("CompleteJob")[0].request
    assert request.HasField("result")
    assert (request.result.type, request.result.denied, request.result.deniedReason) == ("userTask", True, "no budget")


def test_complete_job_sends_an_ad_hoc_result_with_its_variables(
    faults: Faults, job_key: int, client: ZeebeClient
) -> None:
    gateway(faults, "8.8.0")

    client.complete_job(
        job_key,
        result=AdHocResult(
            activate=[ActivateElement(element_id="search", variables={"q": "x"}), "summarise"],
            completion_condition_fulfilled=True,
            variables={"plan": 2},
        ),
    )

    request = faults.calls("CompleteJob")[0].request
    assert json.loads(request.variables) == {"plan": 2}
    assert request.result.type == "adHocSubProcess"
    assert [(e.elementId, e.variables) for e in request.result.activateElements] == [
        ("search", '{"q":"x"}'),
        ("summarise", "{}"),
    ]
    assert (request.result.isCompletionConditionFulfilled, request.result.isCancelRemainingInstances) == (True, False)


# -- the version gate ----------------------------------------------------------------------------------


GATED = [
    ("CompleteJob", "8.8", lambda c, key: c.complete_job(key, result=Deny(reason="r"))),
    ("CompleteJob", "8.8", lambda c, key: c.complete_job(key, result=Corrections(assignee="ann"))),
    ("CompleteJob", "8.8", lambda c, key: c.complete_job(key, result=AdHocResult(activate=["a"]))),
    ("CreateProcessInstance", "8.8", lambda c, key: c.create_process_instance("p", tags=["vip"])),
    ("CreateProcessInstance", "8.8", lambda c, key: c.create_process_instance("p", terminate_after=["a"])),
    ("CreateProcessInstance", "8.9", lambda c, key: c.create_process_instance("p", business_id="b")),
    (
        "CreateProcessInstanceWithResult",
        "8.9",
        lambda c, key: c.create_process_instance_with_result("p", business_id="b"),
    ),
    (
        "ActivateJobs",
        "8.9",
        lambda c, key: c.activate_jobs("t", worker="w", timeout=1, max_jobs=1, tenant_filter=TenantFilter.ASSIGNED),
    ),
    (
        "StreamActivatedJobs",
        "8.9",
        lambda c, key: c.stream_activated_jobs("t", worker="w", timeout=1, tenant_filter="assigned"),
    ),
    ("ModifyProcessInstance", "8.9", lambda c, key: c.modify_process_instance(1, terminate_elements=["a"])),
    (
        "ModifyProcessInstance",
        "8.9",
        lambda c, key: c.modify_process_instance(
            1, move=[MoveInstruction(target_element_id="b", source_element_id="a")]
        ),
    ),
    ("DeleteResource", "8.9", lambda c, key: c.delete_resource(1, delete_history=True)),
    ("EvaluateConditional", "8.9", lambda c, key: c.evaluate_conditional({"a": 1})),
]
GATED_IDS = [
    "deny",
    "corrections",
    "ad-hoc",
    "tags",
    "runtime-instructions",
    "business-id",
    "business-id-with-result",
    "tenant-filter",
    "tenant-filter-stream",
    "terminate-by-element",
    "move",
    "delete-history",
    "evaluate-conditional",
]


@pytest.mark.parametrize(("rpc", "needs", "command"), GATED, ids=GATED_IDS)
def test_a_feature_the_gateway_would_ignore_is_refused_naming_the_version_it_needs(
    faults: Faults, job_key: int, client: ZeebeClient, rpc: str, needs: str, command: object
) -> None:
    older = "8.7.3" if needs == "8.8" else "8.8.2"
    gateway(faults, older)

    with pytest.raises(UnsupportedByGatewayError) as caught:
        command(client, job_key)  # type: ignore[operator]

    error = caught.value
    assert isinstance(error, TerminalError)
    assert (error.required, error.gateway_version, error.rpc) == (needs, older, rpc)
    assert f"needs a Camunda {needs} gateway or newer" in str(error)
    assert older in str(error)
    assert faults.calls(rpc) == []  # refused before anything was sent


def test_the_engine_is_an_8_9_gateway_and_a_listener_denies_an_assignment_through_the_client(
    engine: ZeebeEngine, client: ZeebeClient
) -> None:
    engine.runtime.deploy([("review.bpmn", REVIEW)])
    definition = engine.runtime.find_definition(process_id="review")
    root = engine.runtime.create_instance(definition, {})

    (job,) = client.activate_jobs("gate", worker="w", timeout=60, max_jobs=1, request_timeout=-1)
    assert client.topology().gateway_version == "8.9.0"
    assert (job.kind.value, job.listener_event_type.value) == ("TASK_LISTENER", "ASSIGNING")
    assert job.user_task is not None
    assert job.user_task.assignee == "ann"
    client.complete_job(job.key, result=Deny(reason="not ann"))

    (task,) = engine.runtime.active_user_tasks()
    assert task.instance.process_instance_key == root.key
    assert task.values["assignee"] == ""
    assert engine.records.find("USER_TASK", "ASSIGNMENT_DENIED")[0]["value"]["deniedReason"] == "not ann"


REVIEW = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="review" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="task"><bpmn:extensionElements><zeebe:userTask/>
      <zeebe:assignmentDefinition assignee="ann"/>
      <zeebe:taskListeners><zeebe:taskListener eventType="assigning" type="gate"/></zeebe:taskListeners>
    </bpmn:extensionElements></bpmn:userTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task"/>
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_calls_without_new_features_work_on_older_gateways_and_never_ask_the_version(
    faults: Faults, jobs: EngineJobs, job_type: str, client: ZeebeClient
) -> None:
    gateway(faults, "8.5.0")

    created = client.create_process_instance(jobs.process_of(job_type), variables={"n": 1})
    (job,) = client.activate_jobs(job_type, worker="w", timeout=60, max_jobs=1, request_timeout=-1)
    client.complete_job(job.key, {"done": True})

    assert job.process_instance_key == created.process_instance_key
    assert faults.calls("Topology") == []


def test_an_unreadable_gateway_version_is_not_assumed_to_be_new(
    faults: Faults, job_key: int, client: ZeebeClient
) -> None:
    gateway(faults, "dev-build")

    with pytest.raises(UnsupportedByGatewayError, match="dev-build"):
        client.complete_job(job_key, result=Deny())


def test_the_gateway_version_is_asked_once_per_channel(
    faults: Faults, engine: ZeebeEngine, jobs: EngineJobs, job_type: str, client: ZeebeClient
) -> None:
    gateway(faults, "8.9.0")

    for _ in range(3):
        client.complete_job(jobs.one(job_type).key, result=Corrections(priority=80))
    client.with_options(retry_budget=1).create_process_instance(jobs.process_of(job_type), tags=["a"])
    assert client.gateway_version() == "8.9.0"
    assert len(faults.calls("Topology")) == 1

    with ZeebeClient(ZeebeSettings(address=engine.address)) as other:
        other.complete_job(jobs.one(job_type).key, result=Deny())
    assert len(faults.calls("Topology")) == 2


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("8.9.0", (8, 9, 0)), ("8.10.2-alpha1", (8, 10, 2)), ("8.8", (8, 8, 0)), ("", None), ("latest", None)],
)
def test_gateway_versions_are_read_by_major_minor_and_patch(text: str, parsed: tuple[int, int, int] | None) -> None:
    assert parse_version(text) == parsed
