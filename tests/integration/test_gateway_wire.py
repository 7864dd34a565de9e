"""The wire where Zeebe's gateway fixes its shape, written as Zeebe 8.5 behaves: the order of DeployResource's
answer, the standard gRPC health service, and job push to a stream that is busy."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.integration.conftest import WORKER, UniqueNames
from zeebe_celery.config import ZeebeSettings
from zeebe_celery.gateway.channel import build_channel, build_token_provider
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub
from zeebe_celery.job import Job

pytestmark = pytest.mark.integration

BURST = 10


@pytest.fixture
def channel(zeebe_settings: ZeebeSettings) -> Iterator[grpc.Channel]:
    """A raw channel to the gateway, for what the project's client does not show (order, other services)."""
    opened = build_channel(zeebe_settings, build_token_provider(zeebe_settings))
    try:
        yield opened
    finally:
        opened.close()


def test_deploy_resource_lists_processes_then_decisions_then_decision_requirements(
    channel: grpc.Channel, unique: UniqueNames
) -> None:
    # The DMN comes first in the request; the answer follows the gateway's order, not the request's.
    dmn = unique.resource("discount.dmn", "discount", "discount-rules")
    bpmn = unique.resource("one_task.bpmn", "one-task", "test-work")
    resources = [pb.Resource(name=name, content=content) for name, content in (dmn, bpmn)]

    answer = GatewayStub(channel).DeployResource(pb.DeployResourceRequest(resources=resources), timeout=30)

    assert [item.WhichOneof("Metadata") for item in answer.deployments] == [
        "process",
        "decision",
        "decisionRequirements",
    ]
    process, decision, drg = answer.deployments
    assert process.process.bpmnProcessId == unique("one-task")
    assert decision.decision.dmnDecisionId == unique("discount")
    assert drg.decisionRequirements.decisionRequirementsKey == decision.decision.decisionRequirementsKey


@pytest.mark.parametrize("service", ["", "gateway_protocol.Gateway"], ids=["server", "gateway"])
def test_the_standard_health_service_reports_serving(channel: grpc.Channel, service: str) -> None:
    answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=10)

    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_a_busy_job_stream_gets_every_job_created_while_it_is_open(
    zeebe_client: ZeebeClient, unique: UniqueNames
) -> None:
    zeebe_client.deploy_resource(unique.resource("one_task.bpmn", "one-task", "test-work"))
    job_type = unique("test-work")
    call = zeebe_client.stream_activated_jobs(job_type, worker="streamer", timeout=60)
    pushed: list[Job] = []
    arrived = threading.Condition()

    def consume() -> None:
        for job in call:
            with arrived:
                pushed.append(job)
                arrived.notify_all()

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    try:
        # The broker registers a stream asynchronously and pushes only jobs created after that.
        with arrived:
            for _ in range(20):
                zeebe_client.create_process_instance(unique("one-task"))
                if arrived.wait_for(lambda: pushed, timeout=0.5):
                    break
            assert pushed, "no job was pushed over the stream"
        # Then a burst: most are created while the stream is still writing an earlier job.
        keys = {zeebe_client.create_process_instance(unique("one-task")).process_instance_key for _ in range(BURST)}
        with arrived:
            assert arrived.wait_for(lambda: keys <= {job.process_instance_key for job in pushed}, timeout=30)
        # None of them is left for polling (jobs created before the stream was registered may be).
        polled = zeebe_client.activate_jobs(job_type, worker=WORKER, timeout=30, max_jobs=50, request_timeout=0.5)
        assert keys.isdisjoint(job.process_instance_key for job in polled)
    finally:
        call.cancel()
        consumer.join(timeout=10)
