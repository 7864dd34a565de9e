"""ZeebeClient against the engine's fault injection: which failures it retries, which it raises at once,
when it gives up, how it refreshes an OAuth token, and what it puts on the wire. Jobs are real: each test
deploys its own process and creates instances of it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from pydantic import BaseModel

from tests.unit.engine_jobs import EngineJobs
from zeebe_celery.config import ZeebeSettings
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.faults import Faults
from zeebe_celery.engine.state import JobState
from zeebe_celery.errors import (
    AlreadyExistsError,
    BackPressureError,
    CancelledError,
    DeadlineExceededError,
    FailedPreconditionError,
    GatewayError,
    GatewayInternalError,
    GatewayUnavailableError,
    InvalidArgumentError,
    MessageTooLargeError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnknownGatewayError,
)
from zeebe_celery.gateway.client import ZeebeClient, dumps_variables
from zeebe_celery.gateway.retry import MIN_ATTEMPT, RetryPolicy

S = grpc.StatusCode
FAST_RETRY = RetryPolicy(initial=0.001, maximum=0.01, budget=2)
TOO_LARGE = "grpc: received message larger than max (5242880 vs. 4194304)"

pytestmark = pytest.mark.usefixtures("clean_env")


def settings(engine: ZeebeEngine, **extra: Any) -> ZeebeSettings:
    return ZeebeSettings(address=engine.address, **extra)


# -- retried -----------------------------------------------------------------------------------------

Command = Callable[[ZeebeClient, EngineJobs, str], object]


@pytest.mark.parametrize("code", [S.RESOURCE_EXHAUSTED, S.UNAVAILABLE], ids=["back-pressure", "outage"])
@pytest.mark.parametrize(
    ("rpc", "command"),
    [
        ("CompleteJob", lambda c, jobs, t: c.complete_job(jobs.one(t).key, {"done": True})),
        ("CreateProcessInstance", lambda c, jobs, t: c.create_process_instance(jobs.process_of(t))),
        ("PublishMessage", lambda c, jobs, t: c.publish_message("paid", correlation_key=t)),
    ],
    ids=["complete_job", "create_process_instance", "publish_message"],
)
def test_transient_failures_are_retried_until_the_call_succeeds(
    faults: Faults,
    jobs: EngineJobs,
    job_type: str,
    client: ZeebeClient,
    code: grpc.StatusCode,
    rpc: str,
    command: Command,
) -> None:
    faults.fail(rpc, code.name, "try again", times=3)

    command(client, jobs, job_type)

    assert len(faults.calls(rpc)) == 4


def test_a_retried_command_sends_the_same_request_every_time(
    faults: Faults, jobs: EngineJobs, job_key: int, client: ZeebeClient
) -> None:
    faults.fail("FailJob", "RESOURCE_EXHAUSTED", times=2)

    client.fail_job(job_key, retries=1, error_message="boom", retry_backoff=3)

    requests = [call.request for call in faults.calls("FailJob")]
    assert len(requests) == 3
    assert requests[0] == requests[1] == requests[2]
    assert jobs.state(job_key) is JobState.BACKOFF


def test_internal_is_retried_internal_attempts_times_then_raised(
    faults: Faults, engine: ZeebeEngine, job_key: int
) -> None:
    faults.fail("CompleteJob", "INTERNAL", "broker bug", times=10)
    policy = RetryPolicy(initial=0.001, maximum=0.01, budget=2, internal_attempts=3)

    with ZeebeClient(settings(engine), retry=policy) as client, pytest.raises(GatewayInternalError) as caught:
        client.complete_job(job_key)

    assert len(faults.calls("CompleteJob")) == 3
    assert caught.value.details == "broker bug"


def test_internal_within_internal_attempts_recovers(
    faults: Faults, jobs: EngineJobs, job_key: int, client: ZeebeClient
) -> None:
    faults.fail("CompleteJob", "INTERNAL", times=2)

    client.complete_job(job_key)

    assert len(faults.calls("CompleteJob")) == 3
    assert jobs.state(job_key) is None


def test_deadline_exceeded_on_a_job_command_is_retried(
    faults: Faults, engine: ZeebeEngine, jobs: EngineJobs, job_key: int
) -> None:
    faults.delay("CompleteJob", 5.0)

    with ZeebeClient(settings(engine, request_timeout=0.2), retry=FAST_RETRY) as client:
        started = time.monotonic()
        client.complete_job(job_key)

    assert len(faults.calls("CompleteJob")) == 2
    assert 0.2 <= time.monotonic() - started < 2.0
    assert jobs.state(job_key) is None


def test_no_attempt_of_a_report_outlives_the_jobs_deadline(
    faults: Faults, engine: ZeebeEngine, jobs: EngineJobs, job_key: int
) -> None:
    # A gateway that holds every report (a dead link, a stuck broker) far beyond the job's deadline.
    faults.delay("CompleteJob", 10.0)
    until = time.time() + 1.5

    with ZeebeClient(settings(engine, request_timeout=30), retry=FAST_RETRY) as client:
        started = time.monotonic()
        with pytest.raises(GatewayError):
            client.with_options(retry_until=until).complete_job(job_key)

    assert time.time() < until + MIN_ATTEMPT
    assert time.monotonic() - started < 2.5
    faults.clear()


def test_deadline_exceeded_on_create_process_instance_is_raised_at_once(
    faults: Faults, engine: ZeebeEngine, jobs: EngineJobs, job_type: str
) -> None:
    faults.delay("CreateProcessInstance", 5.0)

    with (
        ZeebeClient(settings(engine, request_timeout=0.2), retry=FAST_RETRY) as client,
        pytest.raises(DeadlineExceededError) as caught,
    ):
        client.create_process_instance(jobs.process_of(job_type))

    assert len(faults.calls("CreateProcessInstance")) == 1
    assert caught.value.rpc == "CreateProcessInstance"


# -- raised at once ----------------------------------------------------------------------------------

# Codes the engine does not give CompleteJob on its own; NOT_FOUND and FAILED_PRECONDITION it gives for
# real, below.
TERMINAL = [
    (S.INVALID_ARGUMENT, InvalidArgumentError),
    (S.ALREADY_EXISTS, AlreadyExistsError),
    (S.PERMISSION_DENIED, PermissionDeniedError),
    (S.UNAUTHENTICATED, UnauthenticatedError),
    (S.CANCELLED, CancelledError),
    (S.DATA_LOSS, UnknownGatewayError),
]


@pytest.mark.parametrize(("code", "error"), TERMINAL, ids=[code.name for code, _ in TERMINAL])
def test_terminal_codes_raise_their_error_after_one_attempt_with_the_gateway_details(
    faults: Faults, job_key: int, client: ZeebeClient, code: grpc.StatusCode, error: type[GatewayError]
) -> None:
    details = f"Command 'COMPLETE' rejected with code {code.name}: job {job_key} is gone"
    faults.fail("CompleteJob", code.name, details, times=5)

    with pytest.raises(error) as caught:
        client.complete_job(job_key)

    assert len(faults.calls("CompleteJob")) == 1
    assert caught.value.code is code
    assert caught.value.details == details
    assert details in str(caught.value)


def test_completing_a_job_that_is_gone_raises_not_found_after_one_attempt_with_the_engines_details(
    faults: Faults, jobs: EngineJobs, job_key: int, client: ZeebeClient
) -> None:
    jobs.complete(job_key)

    with pytest.raises(NotFoundError) as caught:
        client.complete_job(job_key)

    assert len(faults.calls("CompleteJob")) == 1
    assert caught.value.code is S.NOT_FOUND
    assert str(job_key) in caught.value.details
    assert caught.value.details in str(caught.value)


def test_completing_a_failed_job_raises_failed_precondition_after_one_attempt_with_the_engines_details(
    faults: Faults, jobs: EngineJobs, job_key: int, client: ZeebeClient
) -> None:
    jobs.fail(job_key, retries=0)

    with pytest.raises(FailedPreconditionError) as caught:
        client.complete_job(job_key)

    assert len(faults.calls("CompleteJob")) == 1
    assert caught.value.code is S.FAILED_PRECONDITION
    assert "FAILED" in caught.value.details
    assert caught.value.details in str(caught.value)


def test_message_too_large_is_not_retried(faults: Faults, job_key: int, client: ZeebeClient) -> None:
    faults.fail("CompleteJob", "RESOURCE_EXHAUSTED", TOO_LARGE, times=5)

    with pytest.raises(MessageTooLargeError, match="larger than max"):
        client.complete_job(job_key)

    assert len(faults.calls("CompleteJob")) == 1


def test_a_request_over_the_size_limit_fails_as_too_large_without_reaching_the_gateway(
    faults: Faults, job_key: int, client: ZeebeClient
) -> None:
    with pytest.raises(MessageTooLargeError):
        client.complete_job(job_key, {"blob": "x" * (5 * 1024 * 1024)})

    assert faults.calls("CompleteJob") == []


# -- giving up ---------------------------------------------------------------------------------------


def test_retries_stop_when_the_budget_is_spent_and_the_last_error_is_raised(
    faults: Faults, engine: ZeebeEngine, job_key: int
) -> None:
    for attempt in range(1, 2_000):
        faults.fail("CompleteJob", "UNAVAILABLE", f"outage {attempt}")
    policy = RetryPolicy(initial=0.001, maximum=0.01, budget=0.3)

    with ZeebeClient(settings(engine), retry=policy) as client:
        started = time.monotonic()
        with pytest.raises(GatewayUnavailableError) as caught:
            client.complete_job(job_key)
        elapsed = time.monotonic() - started

    attempts = len(faults.calls("CompleteJob"))
    assert attempts > 2
    assert caught.value.details == f"outage {attempts}"
    assert 0.3 <= elapsed < 1.5


def test_with_options_retry_until_stops_retrying_before_that_time(
    faults: Faults, engine: ZeebeEngine, jobs: EngineJobs, job_key: int
) -> None:
    faults.fail("FailJob", "RESOURCE_EXHAUSTED", times=10_000)
    policy = RetryPolicy(initial=0.01, maximum=0.05, budget=30)

    with ZeebeClient(settings(engine), retry=policy) as client:
        until = time.time() + 0.3
        with pytest.raises(BackPressureError):
            client.with_options(retry_until=until).fail_job(job_key, retries=2)
        ended = time.time()
        attempts = len(faults.calls("FailJob"))

        # The view's bound does not leak into the client it came from.
        faults.clear("FailJob")
        faults.fail("FailJob", "RESOURCE_EXHAUSTED", times=1)
        client.fail_job(job_key, retries=2)

    assert attempts > 2
    assert ended < until + 0.1
    assert jobs.state(job_key) is JobState.ACTIVATABLE


def test_retry_until_in_the_past_allows_a_single_attempt(faults: Faults, job_key: int, client: ZeebeClient) -> None:
    faults.fail("CompleteJob", "UNAVAILABLE", times=10)

    with pytest.raises(GatewayUnavailableError):
        client.with_options(retry_until=time.time() - 1).complete_job(job_key)

    assert len(faults.calls("CompleteJob")) == 1


def test_a_late_report_is_still_sent_once_and_learns_the_job_is_gone(
    faults: Faults, jobs: EngineJobs, job_key: int, client: ZeebeClient
) -> None:
    jobs.complete(job_key)

    with pytest.raises(NotFoundError):
        client.with_options(retry_until=time.time() - 60, retry_budget=0).complete_job(job_key, {"done": True})

    assert len(faults.calls("CompleteJob")) == 1


# -- what goes on the wire ---------------------------------------------------------------------------


def test_fail_job_request_carries_retries_message_backoff_in_ms_and_variables(
    faults: Faults, job_key: int, client: ZeebeClient
) -> None:
    client.fail_job(job_key, retries=2, error_message="ValueError: no stock", retry_backoff="1.5s", variables={"n": 1})

    (call,) = faults.calls("FailJob")
    request = call.request
    assert (request.jobKey, request.retries, request.errorMessage, request.retryBackOff) == (
        job_key,
        2,
        "ValueError: no stock",
        1500,
    )
    assert json.loads(request.variables) == {"n": 1}


@pytest.mark.parametrize(
    ("given", "expected_ms"),
    [
        (0, 0),
        ("500ms", 500),
        ("2m", 120_000),
        (0.25, 250),
        ("4007ms", 4007),
        (1.001, 1001),
        (0.0015, 2),
        (0.0014, 1),
        (0.0001, 1),
    ],
)
def test_durations_are_sent_as_exact_milliseconds(
    faults: Faults, job_key: int, client: ZeebeClient, given: float | str, expected_ms: int
) -> None:
    client.fail_job(job_key, retries=1, retry_backoff=given)

    assert faults.calls("FailJob")[0].request.retryBackOff == expected_ms


class Order(BaseModel):
    order_id: str
    amount: float


@pytest.mark.parametrize(
    "variables",
    [{"order_id": "o-1", "amount": 9.5}, Order(order_id="o-1", amount=9.5), '{"order_id":"o-1","amount":9.5}'],
    ids=["dict", "model", "encoded-json"],
)
def test_complete_job_variables_are_json_encoded_exactly_once(
    faults: Faults, job_key: int, client: ZeebeClient, variables: object
) -> None:
    client.complete_job(job_key, variables)  # type: ignore[arg-type]

    (call,) = faults.calls("CompleteJob")
    assert json.loads(call.request.variables) == {"order_id": "o-1", "amount": 9.5}


def test_complete_job_without_variables_sends_none(faults: Faults, job_key: int, client: ZeebeClient) -> None:
    client.complete_job(job_key)

    assert faults.calls("CompleteJob")[0].request.variables == ""


def test_a_variable_that_is_not_json_is_named_and_nothing_is_sent(
    faults: Faults, job_key: int, client: ZeebeClient
) -> None:
    with pytest.raises(TypeError, match="variable 'when' is not JSON-serialisable"):
        client.complete_job(job_key, {"ok": 1, "when": object()})

    assert faults.calls("CompleteJob") == []


def test_dumps_variables_names_the_bad_variable() -> None:
    with pytest.raises(TypeError, match="'when'"):
        dumps_variables({"ok": 1, "when": {1, 2}})


def test_every_call_has_a_deadline_of_the_request_timeout(faults: Faults, engine: ZeebeEngine, job_key: int) -> None:
    with ZeebeClient(settings(engine, request_timeout=7), retry=FAST_RETRY) as client:
        client.complete_job(job_key)
        client.topology()

    calls = faults.calls()
    assert [call.rpc for call in calls] == ["CompleteJob", "Topology"]
    for call in calls:
        assert call.time_remaining is not None
        assert 5 < call.time_remaining < 7.1


def test_calls_name_the_client_in_the_user_agent(faults: Faults, client: ZeebeClient) -> None:
    client.topology()

    user_agent = faults.calls("Topology")[0].metadata.get("user-agent")
    assert isinstance(user_agent, str)
    assert user_agent.startswith("zeebe-celery/")


def test_topology_of_the_engine_is_one_healthy_leader(client: ZeebeClient) -> None:
    topology = client.topology()

    assert topology.is_healthy
    assert topology.healthy_leaders() == {1}


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")], ids=["inf", "-inf", "nan"])
def test_dumps_variables_refuses_non_finite_numbers_naming_the_variable(value: float) -> None:
    with pytest.raises(TypeError, match="variable 'total' is not JSON-serialisable: Out of range float"):
        dumps_variables({"ok": 1.5, "total": [value]})
