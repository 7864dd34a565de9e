"""The 8.6-8.9 additions to the gateway protocol, through gRPC as a client sends them: Topology's version and
cluster id, tags, business ids and runtime instructions on creation, the job kinds and user task properties
of ActivatedJob, CompleteJob's JobResult for task listeners, tenantFilter, terminate by element id and
move instructions, deleteHistory and operationReference."""

from __future__ import annotations

import json
from collections.abc import Iterator

import grpc
import pytest

from tests.unit.engine.bpmn_builders import (
    end_event,
    flows,
    native_user_task,
    process,
    service_task,
    start_event,
)
from tests.unit.engine.grpc_stub import deployed_stub
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub

TWO_TASKS = process(
    "two",
    start_event(),
    service_task("first", "first"),
    service_task("second", "second"),
    end_event(),
    flows("start", "first", "second", "end"),
)
REVIEW = process(
    "review",
    start_event(),
    native_user_task("task", assignee="ann", candidate_groups="g", priority="40", listeners=[("assigning", "gate")]),
    end_event(),
    flows("start", "task", "end"),
)


@pytest.fixture
def engine() -> Iterator[ZeebeEngine]:
    with ZeebeEngine() as running:
        yield running


@pytest.fixture
def stub(engine: ZeebeEngine) -> Iterator[GatewayStub]:
    yield from deployed_stub(engine, ("two.bpmn", TWO_TASKS), ("r.bpmn", REVIEW))


def _activate(stub: GatewayStub, job_type: str, **fields: object) -> list[pb.ActivatedJob]:
    request = pb.ActivateJobsRequest(
        **{"type": job_type, "worker": "w", "timeout": 60_000, "maxJobsToActivate": 10, "requestTimeout": -1, **fields}
    )
    return [job for response in stub.ActivateJobs(request, timeout=30) for job in response.jobs]


def _create(stub: GatewayStub, process_id: str = "two", **fields: object) -> pb.CreateProcessInstanceResponse:
    return stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(bpmnProcessId=process_id, version=-1, **fields))


def _code(call: object) -> grpc.StatusCode:
    assert isinstance(call, grpc.RpcError)
    code: grpc.StatusCode = call.code()  # type: ignore[attr-defined]
    return code


def test_topology_reports_gateway_8_9_0_and_a_stable_cluster_id(stub: GatewayStub) -> None:
    first = stub.Topology(pb.TopologyRequest())
    second = stub.Topology(pb.TopologyRequest())
    assert first.gatewayVersion == "8.9.0"
    assert {b.version for b in first.brokers} == {"8.9.0"}
    assert first.clusterId
    assert first.clusterId == second.clusterId


def test_tags_and_a_business_id_are_kept_and_returned_and_jobs_carry_the_tags(stub: GatewayStub) -> None:
    created = _create(stub, tags=["order:7", "vip", "vip"], businessId="order-7")
    assert list(created.tags) == ["order:7", "vip"]
    assert created.businessId == "order-7"
    (job,) = _activate(stub, "first")
    assert list(job.tags) == ["order:7", "vip"]
    assert job.kind == pb.ActivatedJob.JobKind.BPMN_ELEMENT
    assert job.listenerEventType == pb.ActivatedJob.ListenerEventType.UNSPECIFIED
    assert not job.HasField("userTask")


def test_a_business_id_is_unique_among_active_instances_of_the_process(engine: ZeebeEngine, stub: GatewayStub) -> None:
    first = _create(stub, businessId="b-1")
    with pytest.raises(grpc.RpcError) as refused:
        _create(stub, businessId="b-1")
    assert _code(refused.value) is grpc.StatusCode.ALREADY_EXISTS
    assert "business id 'b-1'" in refused.value.details()  # type: ignore[attr-defined]
    _create(stub, businessId="b-2")
    stub.CancelProcessInstance(pb.CancelProcessInstanceRequest(processInstanceKey=first.processInstanceKey))
    assert _create(stub, businessId="b-1").businessId == "b-1"


@pytest.mark.parametrize(
    ("tags", "message"),
    [(["1st"], "the tags '1st' are invalid"), ([f"t{i}" for i in range(11)], "exceeds the limit of 10")],
)
def test_bad_tags_are_an_invalid_argument(stub: GatewayStub, tags: list[str], message: str) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        _create(stub, tags=tags)
    assert _code(refused.value) is grpc.StatusCode.INVALID_ARGUMENT
    assert message in refused.value.details()  # type: ignore[attr-defined]


def test_a_terminate_runtime_instruction_ends_the_instance_after_its_element(
    engine: ZeebeEngine, stub: GatewayStub
) -> None:
    instruction = pb.ProcessInstanceCreationRuntimeInstruction(
        terminate=pb.TerminateProcessInstanceInstruction(afterElementId="first")
    )
    key = _create(stub, runtimeInstructions=[instruction], operationReference=42).processInstanceKey
    (job,) = _activate(stub, "first")
    stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key))
    engine.records.wait_for("PROCESS_INSTANCE", "ELEMENT_TERMINATED", processInstanceKey=key, bpmnElementType="PROCESS")
    assert _activate(stub, "second") == []
    with pytest.raises(grpc.RpcError) as refused:
        _create(
            stub,
            runtimeInstructions=[
                pb.ProcessInstanceCreationRuntimeInstruction(
                    terminate=pb.TerminateProcessInstanceInstruction(afterElementId="x")
                )
            ],
        )
    assert _code(refused.value) is grpc.StatusCode.INVALID_ARGUMENT


def test_a_task_listener_job_carries_its_kind_event_type_and_the_user_task(stub: GatewayStub) -> None:
    _create(stub, "review", tags=["t"])
    (job,) = _activate(stub, "gate")
    assert job.kind == pb.ActivatedJob.JobKind.TASK_LISTENER
    assert job.listenerEventType == pb.ActivatedJob.ListenerEventType.ASSIGNING
    task = job.userTask
    assert task.assignee == "ann"
    assert list(task.candidateGroups) == ["g"]
    assert list(task.changedAttributes) == ["assignee"]
    assert task.priority == 40
    assert task.userTaskKey > 0
    assert not task.HasField("dueDate")
    assert list(job.tags) == ["t"]


def test_a_listener_denies_with_a_job_result_and_corrects_the_next_time(engine: ZeebeEngine, stub: GatewayStub) -> None:
    _create(stub, "review")
    (job,) = _activate(stub, "gate")
    task_key = job.userTask.userTaskKey
    stub.CompleteJob(
        pb.CompleteJobRequest(jobKey=job.key, result=pb.JobResult(type="userTask", denied=True, deniedReason="no"))
    )
    assert engine.runtime.user_task(task_key).values["assignee"] == ""
    engine.runtime.assign_user_task(task_key, "bob")
    (job,) = _activate(stub, "gate")
    corrections = pb.JobResultCorrections(assignee="carl", candidateUsers=pb.StringList(values=["x", "y"]), priority=5)
    stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key, result=pb.JobResult(corrections=corrections)))
    values = engine.runtime.user_task(task_key).values
    assert (values["assignee"], values["candidateUsersList"], values["priority"]) == ("carl", ["x", "y"], 5)
    assert values["candidateGroupsList"] == ["g"]  # not corrected: not set in the message


def test_a_denial_a_creating_listener_cannot_give_is_an_invalid_argument(stub: GatewayStub) -> None:
    stub.DeployResource(
        pb.DeployResourceRequest(
            resources=[
                pb.Resource(
                    name="c.bpmn",
                    content=process(
                        "c",
                        start_event(),
                        native_user_task("t", listeners=[("creating", "on-create")]),
                        end_event(),
                        flows("start", "t", "end"),
                    ),
                )
            ]
        )
    )
    _create(stub, "c")
    (job,) = _activate(stub, "on-create")
    with pytest.raises(grpc.RpcError) as refused:
        stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key, result=pb.JobResult(denied=True)))
    assert _code(refused.value) is grpc.StatusCode.INVALID_ARGUMENT
    assert "Denying result is not supported for 'CREATING' task listener jobs" in refused.value.details()  # type: ignore[attr-defined]


def test_tenant_filter_assigned_takes_the_jobs_of_every_tenant(stub: GatewayStub) -> None:
    stub.DeployResource(
        pb.DeployResourceRequest(resources=[pb.Resource(name="t.bpmn", content=TWO_TASKS)], tenantId="acme")
    )
    _create(stub, tenantId="acme")
    assert _activate(stub, "first", tenantIds=["other"]) == []
    assert _activate(stub, "first", tenantIds=["other"], tenantFilter=pb.TenantFilter.PROVIDED) == []
    (job,) = _activate(stub, "first", tenantIds=["other"], tenantFilter=pb.TenantFilter.ASSIGNED)
    assert job.tenantId == "acme"


def test_terminate_by_element_id_and_move_instructions(engine: ZeebeEngine, stub: GatewayStub) -> None:
    key = _create(stub).processInstanceKey
    move = pb.ModifyProcessInstanceRequest.MoveInstruction(
        sourceElementId="first",
        targetElementId="second",
        variableInstructions=[pb.ModifyProcessInstanceRequest.VariableInstruction(variables='{"moved": true}')],
    )
    stub.ModifyProcessInstance(pb.ModifyProcessInstanceRequest(processInstanceKey=key, moveInstructions=[move]))
    assert _activate(stub, "first") == []
    (job,) = _activate(stub, "second")
    assert json.loads(job.variables) == {"moved": True}
    terminate = pb.ModifyProcessInstanceRequest.TerminateInstruction(elementId="second")
    stub.ModifyProcessInstance(
        pb.ModifyProcessInstanceRequest(processInstanceKey=key, terminateInstructions=[terminate])
    )
    engine.records.wait_for("PROCESS_INSTANCE", "ELEMENT_TERMINATED", processInstanceKey=key, bpmnElementType="PROCESS")
    live = _create(stub).processInstanceKey
    bad = pb.ModifyProcessInstanceRequest.TerminateInstruction(elementId="nope")
    with pytest.raises(grpc.RpcError) as refused:
        stub.ModifyProcessInstance(
            pb.ModifyProcessInstanceRequest(processInstanceKey=live, terminateInstructions=[bad])
        )
    assert _code(refused.value) is grpc.StatusCode.INVALID_ARGUMENT
    assert "'nope'" in refused.value.details()  # type: ignore[attr-defined]


def test_delete_history_answers_with_the_batch_operation(stub: GatewayStub) -> None:
    deployed = stub.DeployResource(
        pb.DeployResourceRequest(resources=[pb.Resource(name="d.bpmn", content=TWO_TASKS.replace(b'"two"', b'"del"'))])
    )
    key = deployed.deployments[0].process.processDefinitionKey
    answer = stub.DeleteResource(pb.DeleteResourceRequest(resourceKey=key, deleteHistory=True, operationReference=7))
    assert answer.resourceKey == str(key)
    assert answer.HasField("batchOperation")
    assert answer.batchOperation.batchOperationType == pb.BatchOperationCreatedResult.DELETE_PROCESS_DEFINITION
    assert int(answer.batchOperation.batchOperationKey) > 0
    other = stub.DeployResource(
        pb.DeployResourceRequest(resources=[pb.Resource(name="e.bpmn", content=TWO_TASKS.replace(b'"two"', b'"e"'))])
    )
    plain = stub.DeleteResource(pb.DeleteResourceRequest(resourceKey=other.deployments[0].process.processDefinitionKey))
    assert not plain.HasField("batchOperation")


CONDITIONAL_START = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="cond" isExecutable="true">
    <bpmn:startEvent id="when"><bpmn:conditionalEventDefinition>
      <bpmn:condition>=amount &gt; 100</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:startEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f" sourceRef="when" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_evaluate_conditional_starts_the_instances_whose_condition_holds(
    engine: ZeebeEngine, stub: GatewayStub
) -> None:
    deployed = stub.DeployResource(
        pb.DeployResourceRequest(resources=[pb.Resource(name="c.bpmn", content=CONDITIONAL_START)])
    )
    definition_key = deployed.deployments[0].process.processDefinitionKey
    answer = stub.EvaluateConditional(pb.EvaluateConditionalRequest(variables='{"amount": 150}'))
    assert answer.conditionalEvaluationKey > 0
    assert answer.tenantId == "<default>"
    (started,) = answer.processInstances
    assert started.processDefinitionKey == definition_key
    engine.records.wait_for(
        "PROCESS_INSTANCE",
        "ELEMENT_COMPLETED",
        processInstanceKey=started.processInstanceKey,
        bpmnElementType="PROCESS",
    )
    assert (
        list(stub.EvaluateConditional(pb.EvaluateConditionalRequest(variables='{"amount": 1}')).processInstances) == []
    )
    with pytest.raises(grpc.RpcError) as refused:
        stub.EvaluateConditional(pb.EvaluateConditionalRequest(processDefinitionKey=999, variables="{}"))
    assert _code(refused.value) is grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as invalid:
        stub.EvaluateConditional(pb.EvaluateConditionalRequest(variables="[1]"))
    assert _code(invalid.value) is grpc.StatusCode.INVALID_ARGUMENT


def test_set_variables_on_a_user_task_answers_once_its_updating_listener_completes(
    engine: ZeebeEngine, stub: GatewayStub
) -> None:
    stub.DeployResource(
        pb.DeployResourceRequest(
            resources=[
                pb.Resource(
                    name="u.bpmn",
                    content=process(
                        "u",
                        start_event(),
                        native_user_task("t", listeners=[("updating", "on-update")]),
                        end_event(),
                        flows("start", "t", "end"),
                    ),
                )
            ]
        )
    )
    _create(stub, "u")
    (task,) = engine.runtime.active_user_tasks()
    answer = stub.SetVariables.future(
        pb.SetVariablesRequest(elementInstanceKey=task.instance.key, variables='{"a": 1}', local=True), timeout=10
    )
    # The call above is on its way, not yet processed: wait for the listener's job it makes.
    (job,) = _activate(stub, "on-update", requestTimeout=10_000)
    assert not answer.done()
    stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key, result=pb.JobResult(denied=True, deniedReason="no")))
    with pytest.raises(grpc.RpcError) as refused:
        answer.result()
    assert _code(refused.value) is grpc.StatusCode.FAILED_PRECONDITION
    assert "Variable update for user task instance" in refused.value.details()  # type: ignore[attr-defined]

    answer = stub.SetVariables.future(
        pb.SetVariablesRequest(elementInstanceKey=task.instance.key, variables='{"a": 2}', local=True), timeout=10
    )
    (job,) = _activate(stub, "on-update", requestTimeout=10_000)
    stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key))
    assert answer.result().key > 0
    assert task.instance.variables == {"a": 2}
