"""The engine's wire where Zeebe's gateway fixes its shape: the order of DeployResource's answer, and the
standard gRPC health service."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.unit.engine.bpmn_builders import end_event, flows, process, service_task, start_event
from tests.unit.engine.dmn_builders import document, literal_decision
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub

ONE_TASK = process("one", start_event(), service_task("task", "work"), end_event(), flows("start", "task", "end"))
TWO_DECISIONS = document(literal_decision("first", '"one"'), literal_decision("second", '"two"'))
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
def engine() -> Iterator[ZeebeEngine]:
    with ZeebeEngine() as running:
        yield running


@pytest.fixture
def channel(engine: ZeebeEngine) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(engine.address) as opened:
        yield opened


def test_deploy_resource_lists_processes_then_decisions_then_decision_requirements(channel: grpc.Channel) -> None:
    # The DMN comes first in the request: the answer still follows Zeebe's gateway, not the request.
    resources = [pb.Resource(name="rules.dmn", content=TWO_DECISIONS), pb.Resource(name="one.bpmn", content=ONE_TASK)]

    answer = GatewayStub(channel).DeployResource(pb.DeployResourceRequest(resources=resources))

    kinds = [item.WhichOneof("Metadata") for item in answer.deployments]
    assert kinds == ["process", "decision", "decision", "decisionRequirements"]
    assert [item.decision.dmnDecisionId for item in answer.deployments[1:3]] == ["first", "second"]


def test_a_dmn_alone_lists_its_decisions_before_its_decision_requirements(channel: grpc.Channel) -> None:
    resources = [pb.Resource(name="rules.dmn", content=TWO_DECISIONS)]

    answer = GatewayStub(channel).DeployResource(pb.DeployResourceRequest(resources=resources))

    first = answer.deployments[0]
    assert first.WhichOneof("Metadata") == "decision"
    assert answer.deployments[-1].decisionRequirements.decisionRequirementsKey == first.decision.decisionRequirementsKey


@pytest.mark.parametrize("service", ["", "gateway_protocol.Gateway"], ids=["server", "gateway"])
def test_the_health_service_answers_serving_while_the_engine_serves(channel: grpc.Channel, service: str) -> None:
    answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5)

    assert answer.status == SERVING


def test_the_health_service_does_not_know_other_services(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)

    assert raised.value.code() is grpc.StatusCode.NOT_FOUND


def test_a_health_watch_sees_not_serving_when_the_engine_stops() -> None:
    engine = ZeebeEngine().start()
    try:
        with grpc.insecure_channel(engine.address) as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(
                health_pb2.HealthCheckRequest(service="gateway_protocol.Gateway"), timeout=15
            )
            assert next(watch).status == SERVING
            engine.stop(grace=2.0)
            assert next(watch).status == NOT_SERVING
    finally:
        engine.stop()
