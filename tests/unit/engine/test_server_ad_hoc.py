"""CompleteJob's JobResult for an ad-hoc sub-process's job, over gRPC as Zeebe's gateway takes it."""

from __future__ import annotations

import grpc

from tests.unit.engine.bpmn_builders import ad_hoc_sub_process, end_event, flows, process, service_task, start_event
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub


def _one(gateway: GatewayStub, job_type: str) -> pb.ActivatedJob:
    (response,) = list(
        gateway.ActivateJobs(
            pb.ActivateJobsRequest(type=job_type, worker="w", timeout=60_000, maxJobsToActivate=1, requestTimeout=5000)
        )
    )
    (job,) = response.jobs
    return job


def test_a_job_result_activates_the_elements_it_names_with_their_variables() -> None:
    tools = ad_hoc_sub_process(
        "tools", service_task("search", "search"), service_task("reply", "reply"), job_type="planner"
    )
    model = process("agent", start_event(), tools, end_event(), flows("start", "tools", "end"))
    with ZeebeEngine() as engine, grpc.insecure_channel(engine.address) as channel:
        gateway = GatewayStub(channel)
        gateway.DeployResource(pb.DeployResourceRequest(resources=[pb.Resource(name="agent.bpmn", content=model)]))
        gateway.CreateProcessInstance(pb.CreateProcessInstanceRequest(bpmnProcessId="agent"))

        plan = _one(gateway, "planner")
        assert plan.kind == pb.ActivatedJob.JobKind.AD_HOC_SUB_PROCESS
        result = pb.JobResult(
            type="adHocSubProcess",
            activateElements=[pb.JobResultActivateElement(elementId="search", variables='{"query": "refund"}')],
        )
        gateway.CompleteJob(pb.CompleteJobRequest(jobKey=plan.key, variables="{}", result=result))

        search = _one(gateway, "search")
        assert '"query": "refund"' in search.variables or '"query":"refund"' in search.variables
        assert search.kind == pb.ActivatedJob.JobKind.BPMN_ELEMENT
        assert search.listenerEventType == pb.ActivatedJob.ListenerEventType.UNSPECIFIED
