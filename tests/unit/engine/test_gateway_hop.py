"""A parked poll gets a new job a gateway hop after it joined the pool, as Zeebe's gateway re-sends a parked
poll's activation after a jobs-available notification; a poll that finds jobs as it arrives takes them all.

The hop is what lets pyzeebe's own suite cancel an instance it has just created while its worker, on the same
event loop, polls for the instance's job (answers.py). Each timing below is a lower bound the hop guarantees
(the job joined the pool after ``before`` was read), or an answer a poll without the hop would also give.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.unit.engine.bpmn_builders import end_event, flows, process, service_task, start_event
from tests.unit.engine.grpc_stub import deployed_stub, eventually
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.answers import GATEWAY_HOP_SECONDS
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub

ONE_TASK = process("one", start_event(), service_task("task", "work"), end_event(), flows("start", "task", "end"))


@pytest.fixture
def engine() -> Iterator[ZeebeEngine]:
    with ZeebeEngine(rest_port=0) as running:
        yield running


@pytest.fixture
def stub(engine: ZeebeEngine) -> Iterator[GatewayStub]:
    yield from deployed_stub(engine, ("one.bpmn", ONE_TASK))


def _create(stub: GatewayStub) -> int:
    return stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(bpmnProcessId="one")).processInstanceKey


def _activate(stub: GatewayStub, request_timeout: int) -> list[pb.ActivatedJob]:
    request = pb.ActivateJobsRequest(
        type="work", worker="w", timeout=60_000, maxJobsToActivate=10, requestTimeout=request_timeout
    )
    return [job for response in stub.ActivateJobs(request, timeout=30) for job in response.jobs]


def _parked_poll(engine: ZeebeEngine, stub: GatewayStub) -> tuple[threading.Thread, list[tuple[float, int]]]:
    """A long poll waiting for jobs of type ``work``; the list gets (when it answered, how many jobs)."""
    got: list[tuple[float, int]] = []

    def long_poll() -> None:
        jobs = _activate(stub, 20_000)
        got.append((time.monotonic(), len(jobs)))

    poll = threading.Thread(target=long_poll)
    poll.start()
    engine.faults.wait_for_calls("ActivateJobs")
    return poll, got


def test_a_parked_poll_gets_a_new_job_a_gateway_hop_after_it_was_made(engine: ZeebeEngine, stub: GatewayStub) -> None:
    poll, got = _parked_poll(engine, stub)
    before = time.monotonic()
    _create(stub)
    poll.join(timeout=15)
    [(answered, jobs)] = got
    assert jobs == 1
    assert answered - before >= GATEWAY_HOP_SECONDS


def test_a_parked_poll_sleeps_until_the_job_is_its_own_not_until_its_next_wake_up(
    engine: ZeebeEngine, stub: GatewayStub
) -> None:
    poll, got = _parked_poll(engine, stub)
    before = time.monotonic()
    _create(stub)
    poll.join(timeout=15)
    [(answered, _)] = got
    # A parked poll otherwise sleeps half a second between looks.
    assert answered - before < 0.4


def test_a_poll_takes_every_job_there_is_as_it_arrives(stub: GatewayStub) -> None:
    # As Zeebe hands an activation every job committed before it: the hop is a parked poll's only.
    for _ in range(3):
        _create(stub)
    assert len(_activate(stub, 20_000)) == 3
    _create(stub)
    assert len(_activate(stub, -1)) == 1


def test_a_parked_rest_poll_waits_out_the_hop_too(engine: ZeebeEngine, stub: GatewayStub) -> None:
    poll = {"type": "work", "worker": "w", "timeout": 60_000, "maxJobsToActivate": 10, "requestTimeout": 20_000}
    got: list[tuple[float, int]] = []

    def long_poll() -> None:
        answer = httpx.post(f"{engine.rest_address}/jobs/activation", json=poll, timeout=30)
        got.append((time.monotonic(), len(answer.json()["jobs"])))

    poller = threading.Thread(target=long_poll)
    poller.start()
    rest = engine._rest
    assert rest is not None
    eventually(lambda: rest.served.waiting == 1)
    before = time.monotonic()
    _create(stub)
    poller.join(timeout=15)
    [(answered, jobs)] = got
    assert jobs == 1
    assert answered - before >= GATEWAY_HOP_SECONDS
