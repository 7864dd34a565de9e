"""ZeebeClient activating jobs on the engine: long polls and their deadlines, streams, retries through
back-pressure, and the activations the engine refuses. Jobs are real: each test deploys its own process."""

from __future__ import annotations

import threading
import time

import grpc
import pytest

from tests.unit.engine_jobs import EngineJobs
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.faults import Faults
from zeebe_celery.errors import (
    InvalidArgumentError,
)
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub

pytestmark = pytest.mark.usefixtures("clean_env")


# -- activating jobs ---------------------------------------------------------------------------------


def test_activate_jobs_returns_activatable_jobs_with_parsed_variables_and_headers(
    faults: Faults, jobs: EngineJobs, job_type: str, client: ZeebeClient
) -> None:
    instances = [jobs.create(job_type, variables={"n": n, "other": n})[0] for n in range(1, 4)]

    activated = client.activate_jobs(job_type, worker="w", timeout="1m", max_jobs=2, fetch_variables=["n"])

    assert [(job.process_instance_key, job.variables, job.custom_headers) for job in activated] == [
        (instances[0], {"n": 1}, {"tier": "gold"}),
        (instances[1], {"n": 2}, {"tier": "gold"}),
    ]
    request = faults.calls("ActivateJobs")[0].request
    assert (request.type, request.worker, request.timeout, request.maxJobsToActivate) == (job_type, "w", 60_000, 2)
    assert list(request.fetchVariable) == ["n"]
    assert jobs.activatable(job_type) == 1


def test_activate_jobs_long_poll_answers_with_jobs_added_while_it_waits(
    jobs: EngineJobs, job_type: str, client: ZeebeClient
) -> None:
    timer = threading.Timer(0.2, jobs.create, (job_type,))
    timer.start()
    try:
        started = time.monotonic()
        activated = client.activate_jobs(job_type, worker="w", timeout=60, max_jobs=5, request_timeout=10)
    finally:
        timer.join()

    assert len(activated) == 1
    assert time.monotonic() - started < 5


def test_activate_jobs_without_jobs_answers_empty_after_its_request_timeout(job_type: str, client: ZeebeClient) -> None:
    started = time.monotonic()
    activated = client.activate_jobs(job_type, worker="w", timeout=60, max_jobs=5, request_timeout=0.2)

    assert activated == []
    assert 0.2 <= time.monotonic() - started < 2


def test_activate_jobs_with_a_negative_request_timeout_answers_at_once(
    faults: Faults, job_type: str, client: ZeebeClient
) -> None:
    started = time.monotonic()
    activated = client.activate_jobs(job_type, worker="w", timeout=60, max_jobs=5, request_timeout=-1)

    assert activated == []
    assert time.monotonic() - started < 1
    assert faults.calls("ActivateJobs")[0].request.requestTimeout < 0


def test_activate_jobs_with_a_zero_request_timeout_waits_the_gateway_default_plus_slack(
    faults: Faults, jobs: EngineJobs, job_type: str, client: ZeebeClient
) -> None:
    jobs.create(job_type)

    client.activate_jobs(job_type, worker="w", timeout=60, max_jobs=5, request_timeout=0)

    (call,) = faults.calls("ActivateJobs")
    assert call.request.requestTimeout == 0
    assert call.time_remaining is not None
    assert 15 < call.time_remaining <= 20.1


def test_a_long_poll_deadline_is_its_request_timeout_plus_slack(
    faults: Faults, job_type: str, client: ZeebeClient
) -> None:
    call = client.open_activate_jobs(job_type, worker="w", timeout=60, max_jobs=5, request_timeout="1ms")
    assert list(call) == []

    (recorded,) = faults.calls("ActivateJobs")
    assert recorded.request.requestTimeout == 1
    assert recorded.time_remaining is not None
    # gRPC rounds a deadline up on the wire (a few significant digits, for header compression), so the
    # server may see 10.001 s as up to about 10.2 s.
    assert 5 < recorded.time_remaining <= 10.5


def test_activate_jobs_refuses_a_malformed_request_timeout(faults: Faults, job_type: str, client: ZeebeClient) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        client.activate_jobs(job_type, worker="w", timeout=60, max_jobs=5, request_timeout="-1s")

    assert faults.calls("ActivateJobs") == []


def test_activate_jobs_is_retried_through_back_pressure(
    faults: Faults, jobs: EngineJobs, job_type: str, client: ZeebeClient
) -> None:
    faults.fail("ActivateJobs", "RESOURCE_EXHAUSTED", times=2)
    (instance,) = jobs.create(job_type)

    activated = client.activate_jobs(job_type, worker="w", timeout=60, max_jobs=5)

    assert [job.process_instance_key for job in activated] == [instance]
    assert len(faults.calls("ActivateJobs")) == 3


def test_an_open_activation_can_be_cancelled_from_another_thread(job_type: str, client: ZeebeClient) -> None:
    call = client.open_activate_jobs(job_type, worker="w", timeout=60, max_jobs=5, request_timeout=30)
    timer = threading.Timer(0.2, call.cancel)
    timer.start()
    try:
        started = time.monotonic()
        assert list(call) == []
    finally:
        timer.join()

    assert time.monotonic() - started < 5


def test_a_job_stream_pushes_jobs_as_they_are_added(jobs: EngineJobs, job_type: str, client: ZeebeClient) -> None:
    stream = client.stream_activated_jobs(job_type, worker="w", timeout=60)
    pushed = iter(stream)
    instances: list[int] = []
    received: list[int] = []
    for _ in range(2):
        jobs.wait_for_stream(job_type)
        instances += jobs.create(job_type)
        received.append(next(pushed).process_instance_key)

    assert received == instances
    stream.cancel()
    assert list(pushed) == []


# -- the engine's activation, as the client relies on it ------------------------------------------


def test_the_engine_answers_a_negative_request_timeout_at_once(engine: ZeebeEngine, job_type: str) -> None:
    request = pb.ActivateJobsRequest(type=job_type, worker="w", timeout=1000, maxJobsToActivate=5, requestTimeout=-1)

    with grpc.insecure_channel(engine.address) as channel:
        started = time.monotonic()
        responses = list(GatewayStub(channel).ActivateJobs(request, timeout=5))

    assert responses == []
    assert time.monotonic() - started < 1


def test_activation_hands_out_no_more_than_max_jobs_at_a_time(
    jobs: EngineJobs, job_type: str, client: ZeebeClient
) -> None:
    jobs.create(job_type, 7)

    sizes = [len(client.activate_jobs(job_type, worker="w", timeout=60, max_jobs=3)) for _ in range(3)]

    assert sizes == [3, 3, 1]
    assert jobs.activatable(job_type) == 0


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"max_jobs": 0}, "maximum amount was 0"),
        ({"worker": " "}, "non-empty worker"),
        ({"timeout": 0}, "timeout of at least 1 ms"),
    ],
)
def test_the_engine_refuses_an_activation_the_real_one_refuses(
    jobs: EngineJobs, job_type: str, client: ZeebeClient, options: dict[str, object], problem: str
) -> None:
    jobs.create(job_type)
    arguments: dict[str, object] = {"worker": "w", "timeout": 60, "max_jobs": 5, **options}

    with pytest.raises(InvalidArgumentError, match=problem):
        client.activate_jobs(job_type, **arguments)  # type: ignore[arg-type]

    assert jobs.activatable(job_type) == 1


def test_create_with_result_and_a_zero_request_timeout_waits_the_gateways_request_timeout_plus_slack(
    faults: Faults, jobs: EngineJobs, client: ZeebeClient
) -> None:
    client.create_process_instance_with_result(jobs.deploy_straight_through(), request_timeout=0)

    (call,) = faults.calls("CreateProcessInstanceWithResult")
    assert call.request.requestTimeout == 0
    assert call.time_remaining is not None
    assert 20 < call.time_remaining <= 25.1
