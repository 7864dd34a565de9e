"""What the engine's gRPC tests share: a stub with their processes deployed, and waiting for a condition."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import grpc

from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub


def deployed_stub(engine: ZeebeEngine, *resources: tuple[str, bytes]) -> Iterator[GatewayStub]:
    """For a fixture: a stub on ``engine``'s gRPC address, the (name, content) ``resources`` deployed first."""
    with grpc.insecure_channel(engine.address) as channel:
        stub = GatewayStub(channel)
        deployed = [pb.Resource(name=name, content=content) for name, content in resources]
        stub.DeployResource(pb.DeployResourceRequest(resources=deployed))
        yield stub


def eventually(condition: Callable[[], bool], *, within: float = 5.0) -> None:
    """Wait until ``condition`` holds, checking every 5 ms; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the condition did not become true in time"
        time.sleep(0.005)
