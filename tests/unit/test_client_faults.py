"""ZeebeClient against the fault-injecting fake gateway: which failures it retries, which it raises at
once, when it gives up, how it refreshes an OAuth token, and what it puts on the wire."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from pydantic import BaseModel

from zeebe_celery.config import ZeebeSettings
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
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub
from zeebe_celery.gateway.retry import RetryPolicy
from zeebe_celery.testing.fake_gateway import FakeGateway, make_job

if TYPE_CHECKING:
    from conftest import TokenServer

S = grpc.StatusCode
FAST_RETRY = RetryPolicy(initial=0.001, maximum=0.01, budget=2)
TOO_LARGE = "grpc: received message larger than max (5242880 vs. 4194304)"

pytestmark = pytest.mark.usefixtures("clean_env")


def settings(fake: FakeGateway, **extra: Any) -> ZeebeSettings:
    return ZeebeSettings(address=fake.address, **extra)


# -- retried -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [S.RESOURCE_EXHAUSTED, S.UNAVAILABLE], ids=["back-pressure", "outage"])
@pytest.mark.parametrize(
    ("rpc", "command"),
    [
        ("CompleteJob", lambda c: c.complete_job(1, {"done": True})),
        ("CreateProcessInstance", lambda c: c.create_process_instance("order")),
        ("PublishMessage", lambda c: c.publish_message("paid", correlation_key="o-1")),
    ],
    ids=["complete_job", "create_process_instance", "publish_message"],
)
def test_transient_failures_are_retried_until_the_call_succeeds(
    fake: FakeGateway, client: ZeebeClient, code: grpc.StatusCode, rpc: str, command: object
) -> None:
    fake.fail_next(rpc, code, "try again", times=3)

    command(client)  # type: ignore[operator]

    assert fake.call_count(rpc) == 4


def test_a_retried_command_sends_the_same_request_every_time(fake: FakeGateway, client: ZeebeClient) -> None:
    fake.fail_next("FailJob", S.RESOURCE_EXHAUSTED, times=2)

    client.fail_job(5, retries=1, error_message="boom", retry_backoff=3)

    requests = [call.request for call in fake.calls_to("FailJob")]
    assert len(requests) == 3
    assert requests[0] == requests[1] == requests[2]


def test_internal_is_retried_internal_attempts_times_then_raised(fake: FakeGateway, clean_env: Path) -> None:
    fake.fail_next("CompleteJob", S.INTERNAL, "broker bug", times=10)
    policy = RetryPolicy(initial=0.001, maximum=0.01, budget=2, internal_attempts=3)

    with ZeebeClient(settings(fake), retry=policy) as client, pytest.raises(GatewayInternalError) as caught:
        client.complete_job(1)

    assert fake.call_count("CompleteJob") == 3
    assert caught.value.details == "broker bug"


def test_internal_within_internal_attempts_recovers(fake: FakeGateway, client: ZeebeClient) -> None:
    fake.fail_next("CompleteJob", S.INTERNAL, times=2)

    client.complete_job(1)

    assert fake.call_count("CompleteJob") == 3


def test_deadline_exceeded_on_a_job_command_is_retried(fake: FakeGateway, clean_env: Path) -> None:
    fake.delay_next("CompleteJob", 5.0)

    with ZeebeClient(settings(fake, request_timeout=0.2), retry=FAST_RETRY) as client:
        started = time.monotonic()
        client.complete_job(1)

    assert fake.call_count("CompleteJob") == 2
    assert 0.2 <= time.monotonic() - started < 2.0


def test_deadline_exceeded_on_create_process_instance_is_raised_at_once(fake: FakeGateway, clean_env: Path) -> None:
    fake.delay_next("CreateProcessInstance", 5.0)

    with (
        ZeebeClient(settings(fake, request_timeout=0.2), retry=FAST_RETRY) as client,
        pytest.raises(DeadlineExceededError) as caught,
    ):
        client.create_process_instance("order")

    assert fake.call_count("CreateProcessInstance") == 1
    assert caught.value.rpc == "CreateProcessInstance"


# -- raised at once ----------------------------------------------------------------------------------

TERMINAL = [
    (S.NOT_FOUND, NotFoundError),
    (S.FAILED_PRECONDITION, FailedPreconditionError),
    (S.INVALID_ARGUMENT, InvalidArgumentError),
    (S.ALREADY_EXISTS, AlreadyExistsError),
    (S.PERMISSION_DENIED, PermissionDeniedError),
    (S.UNAUTHENTICATED, UnauthenticatedError),
    (S.CANCELLED, CancelledError),
    (S.DATA_LOSS, UnknownGatewayError),
]


@pytest.mark.parametrize(("code", "error"), TERMINAL, ids=[code.name for code, _ in TERMINAL])
def test_terminal_codes_raise_their_error_after_one_attempt_with_the_gateway_details(
    fake: FakeGateway, client: ZeebeClient, code: grpc.StatusCode, error: type[GatewayError]
) -> None:
    details = f"Command 'COMPLETE' rejected with code {code.name}: job 1 is gone"
    fake.fail_next("CompleteJob", code, details, times=5)

    with pytest.raises(error) as caught:
        client.complete_job(1)

    assert fake.call_count("CompleteJob") == 1
    assert caught.value.code is code
    assert caught.value.details == details
    assert details in str(caught.value)


def test_message_too_large_is_not_retried(fake: FakeGateway, client: ZeebeClient) -> None:
    fake.fail_next("CompleteJob", S.RESOURCE_EXHAUSTED, TOO_LARGE, times=5)

    with pytest.raises(MessageTooLargeError, match="larger than max"):
        client.complete_job(1)

    assert fake.call_count("CompleteJob") == 1


def test_a_request_over_the_size_limit_fails_as_too_large_without_reaching_the_gateway(
    fake: FakeGateway, client: ZeebeClient
) -> None:
    with pytest.raises(MessageTooLargeError):
        client.complete_job(1, {"blob": "x" * (5 * 1024 * 1024)})

    assert fake.call_count("CompleteJob") == 0


# -- giving up ---------------------------------------------------------------------------------------


def test_retries_stop_when_the_budget_is_spent_and_the_last_error_is_raised(fake: FakeGateway, clean_env: Path) -> None:
    for attempt in range(1, 2_000):
        fake.fail_next("CompleteJob", S.UNAVAILABLE, f"outage {attempt}")
    policy = RetryPolicy(initial=0.001, maximum=0.01, budget=0.3)

    with ZeebeClient(settings(fake), retry=policy) as client:
        started = time.monotonic()
        with pytest.raises(GatewayUnavailableError) as caught:
            client.complete_job(1)
        elapsed = time.monotonic() - started

    attempts = fake.call_count("CompleteJob")
    assert attempts > 2
    assert caught.value.details == f"outage {attempts}"
    assert 0.3 <= elapsed < 1.5


def test_with_options_retry_until_stops_retrying_before_that_time(fake: FakeGateway, clean_env: Path) -> None:
    fake.fail_next("FailJob", S.RESOURCE_EXHAUSTED, times=10_000)
    policy = RetryPolicy(initial=0.01, maximum=0.05, budget=30)

    with ZeebeClient(settings(fake), retry=policy) as client:
        until = time.time() + 0.3
        with pytest.raises(BackPressureError):
            client.with_options(retry_until=until).fail_job(1, retries=2)
        ended = time.time()
        attempts = fake.call_count("FailJob")

        # The view's bound does not leak into the client it came from.
        fake.clear_script("FailJob")
        fake.fail_next("FailJob", S.RESOURCE_EXHAUSTED, times=1)
        client.fail_job(1, retries=2)

    assert attempts > 2
    assert ended < until + 0.1


def test_retry_until_in_the_past_allows_a_single_attempt(fake: FakeGateway, client: ZeebeClient) -> None:
    fake.fail_next("CompleteJob", S.UNAVAILABLE, times=10)

    with pytest.raises(GatewayUnavailableError):
        client.with_options(retry_until=time.time() - 1).complete_job(1)

    assert fake.call_count("CompleteJob") == 1


def test_a_late_report_is_still_sent_once_and_learns_the_job_is_gone(fake: FakeGateway, client: ZeebeClient) -> None:
    fake.fail_next("CompleteJob", S.NOT_FOUND, "job 1 not found")

    with pytest.raises(NotFoundError):
        client.with_options(retry_until=time.time() - 60, retry_budget=0).complete_job(1, {"done": True})

    assert fake.call_count("CompleteJob") == 1


# -- what goes on the wire ---------------------------------------------------------------------------


def test_fail_job_request_carries_retries_message_backoff_in_ms_and_variables(
    fake: FakeGateway, client: ZeebeClient
) -> None:
    client.fail_job(42, retries=2, error_message="ValueError: no stock", retry_backoff="1.5s", variables={"n": 1})

    (call,) = fake.calls_to("FailJob")
    request = call.request
    assert (request.jobKey, request.retries, request.errorMessage, request.retryBackOff) == (
        42,
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
    fake: FakeGateway, client: ZeebeClient, given: float | str, expected_ms: int
) -> None:
    client.fail_job(1, retries=1, retry_backoff=given)

    assert fake.calls_to("FailJob")[0].request.retryBackOff == expected_ms


class Order(BaseModel):
    order_id: str
    amount: float


@pytest.mark.parametrize(
    "variables",
    [{"order_id": "o-1", "amount": 9.5}, Order(order_id="o-1", amount=9.5), '{"order_id":"o-1","amount":9.5}'],
    ids=["dict", "model", "encoded-json"],
)
def test_complete_job_variables_are_json_encoded_exactly_once(
    fake: FakeGateway, client: ZeebeClient, variables: object
) -> None:
    client.complete_job(7, variables)  # type: ignore[arg-type]

    (call,) = fake.calls_to("CompleteJob")
    assert json.loads(call.request.variables) == {"order_id": "o-1", "amount": 9.5}


def test_complete_job_without_variables_sends_none(fake: FakeGateway, client: ZeebeClient) -> None:
    client.complete_job(7)

    assert fake.calls_to("CompleteJob")[0].request.variables == ""


def test_a_variable_that_is_not_json_is_named_and_nothing_is_sent(fake: FakeGateway, client: ZeebeClient) -> None:
    with pytest.raises(TypeError, match="variable 'when' is not JSON-serialisable"):
        client.complete_job(7, {"ok": 1, "when": object()})

    assert fake.call_count("CompleteJob") == 0


def test_dumps_variables_names_the_bad_variable() -> None:
    with pytest.raises(TypeError, match="'when'"):
        dumps_variables({"ok": 1, "when": {1, 2}})


def test_every_call_has_a_deadline_of_the_request_timeout(fake: FakeGateway, clean_env: Path) -> None:
    with ZeebeClient(settings(fake, request_timeout=7), retry=FAST_RETRY) as client:
        client.complete_job(1)
        client.topology()

    for call in fake.calls:
        assert call.time_remaining is not None
        assert 5 < call.time_remaining < 7.1


def test_calls_name_the_client_in_the_user_agent(fake: FakeGateway, client: ZeebeClient) -> None:
    client.topology()

    user_agent = fake.calls_to("Topology")[0].header("user-agent")
    assert isinstance(user_agent, str)
    assert user_agent.startswith("zeebe-celery/")


def test_topology_of_the_fake_is_one_healthy_leader(client: ZeebeClient) -> None:
    topology = client.topology()

    assert topology.is_healthy
    assert topology.healthy_leaders() == {1}


# -- activating jobs ---------------------------------------------------------------------------------


def test_activate_jobs_returns_queued_jobs_with_parsed_variables_and_headers(
    fake: FakeGateway, client: ZeebeClient
) -> None:
    fake.add_jobs(
        "charge",
        [make_job(n, "charge", variables={"n": n}, custom_headers={"tier": "gold"}) for n in range(1, 4)],
    )

    jobs = client.activate_jobs("charge", worker="w", timeout="1m", max_jobs=2, fetch_variables=["n"])

    assert [(job.key, job.variables, job.custom_headers) for job in jobs] == [
        (1, {"n": 1}, {"tier": "gold"}),
        (2, {"n": 2}, {"tier": "gold"}),
    ]
    request = fake.calls_to("ActivateJobs")[0].request
    assert (request.type, request.worker, request.timeout, request.maxJobsToActivate) == ("charge", "w", 60_000, 2)
    assert list(request.fetchVariable) == ["n"]
    assert fake.pending_jobs("charge") == 1


def test_activate_jobs_long_poll_answers_with_jobs_added_while_it_waits(fake: FakeGateway, client: ZeebeClient) -> None:
    timer = threading.Timer(0.2, fake.add_jobs, ("charge", [make_job(9, "charge")]))
    timer.start()
    try:
        started = time.monotonic()
        jobs = client.activate_jobs("charge", worker="w", timeout=60, max_jobs=5, request_timeout=10)
    finally:
        timer.join()

    assert [job.key for job in jobs] == [9]
    assert time.monotonic() - started < 5


def test_activate_jobs_without_jobs_answers_empty_after_its_request_timeout(
    fake: FakeGateway, client: ZeebeClient
) -> None:
    started = time.monotonic()
    jobs = client.activate_jobs("charge", worker="w", timeout=60, max_jobs=5, request_timeout=0.2)

    assert jobs == []
    assert 0.2 <= time.monotonic() - started < 2


def test_activate_jobs_with_a_negative_request_timeout_answers_at_once(fake: FakeGateway, client: ZeebeClient) -> None:
    started = time.monotonic()
    jobs = client.activate_jobs("charge", worker="w", timeout=60, max_jobs=5, request_timeout=-1)

    assert jobs == []
    assert time.monotonic() - started < 1
    assert fake.calls_to("ActivateJobs")[0].request.requestTimeout < 0


def test_activate_jobs_with_a_zero_request_timeout_waits_the_gateway_default_plus_slack(
    fake: FakeGateway, client: ZeebeClient
) -> None:
    fake.add_jobs("charge", [make_job(1, "charge")])

    client.activate_jobs("charge", worker="w", timeout=60, max_jobs=5, request_timeout=0)

    (call,) = fake.calls_to("ActivateJobs")
    assert call.request.requestTimeout == 0
    assert call.time_remaining is not None
    assert 15 < call.time_remaining <= 20.1


def test_a_long_poll_deadline_is_its_request_timeout_plus_slack(fake: FakeGateway, client: ZeebeClient) -> None:
    call = client.open_activate_jobs("charge", worker="w", timeout=60, max_jobs=5, request_timeout="1ms")
    assert list(call) == []

    (recorded,) = fake.calls_to("ActivateJobs")
    assert recorded.request.requestTimeout == 1
    assert recorded.time_remaining is not None
    assert 5 < recorded.time_remaining <= 10.1


def test_activate_jobs_refuses_a_malformed_request_timeout(fake: FakeGateway, client: ZeebeClient) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        client.activate_jobs("charge", worker="w", timeout=60, max_jobs=5, request_timeout="-1s")

    assert fake.call_count("ActivateJobs") == 0


def test_activate_jobs_is_retried_through_back_pressure(fake: FakeGateway, client: ZeebeClient) -> None:
    fake.fail_next("ActivateJobs", S.RESOURCE_EXHAUSTED, times=2)
    fake.add_jobs("charge", [make_job(1, "charge")])

    jobs = client.activate_jobs("charge", worker="w", timeout=60, max_jobs=5)

    assert [job.key for job in jobs] == [1]
    assert fake.call_count("ActivateJobs") == 3


def test_an_open_activation_can_be_cancelled_from_another_thread(fake: FakeGateway, client: ZeebeClient) -> None:
    call = client.open_activate_jobs("charge", worker="w", timeout=60, max_jobs=5, request_timeout=30)
    timer = threading.Timer(0.2, call.cancel)
    timer.start()
    try:
        started = time.monotonic()
        assert list(call) == []
    finally:
        timer.join()

    assert time.monotonic() - started < 5


def test_a_job_stream_pushes_jobs_as_they_are_added(fake: FakeGateway, client: ZeebeClient) -> None:
    stream = client.stream_activated_jobs("charge", worker="w", timeout=60)
    jobs = iter(stream)
    fake.add_jobs("charge", [make_job(1, "charge"), make_job(2, "charge")])

    assert [next(jobs).key, next(jobs).key] == [1, 2]
    stream.cancel()
    assert list(jobs) == []


# -- OAuth -------------------------------------------------------------------------------------------


@pytest.fixture
def oauth_client(fake: FakeGateway, token_server: TokenServer, clean_env: Path) -> Iterator[ZeebeClient]:
    oauth = settings(
        fake,
        client_id="id",
        client_secret="s3cr3t",
        authorization_server_url=token_server.url,
        insecure_connection=True,
    )
    with ZeebeClient(oauth, retry=FAST_RETRY) as zeebe:
        yield zeebe


def test_every_call_carries_the_cached_bearer_token(
    fake: FakeGateway, token_server: TokenServer, oauth_client: ZeebeClient
) -> None:
    oauth_client.topology()
    oauth_client.complete_job(1)

    assert [call.header("authorization") for call in fake.calls] == ["Bearer token-1", "Bearer token-1"]
    assert token_server.fetches == 1
    assert token_server.forms[0]["client_secret"] == "s3cr3t"


def test_unauthenticated_fetches_a_fresh_token_and_retries_once(
    fake: FakeGateway, token_server: TokenServer, oauth_client: ZeebeClient
) -> None:
    fake.fail_next("CompleteJob", S.UNAUTHENTICATED, "token revoked")

    oauth_client.complete_job(1)

    assert token_server.fetches == 2
    assert [call.header("authorization") for call in fake.calls_to("CompleteJob")] == [
        "Bearer token-1",
        "Bearer token-2",
    ]


def test_unauthenticated_twice_in_a_row_raises(
    fake: FakeGateway, token_server: TokenServer, oauth_client: ZeebeClient
) -> None:
    fake.fail_next("CompleteJob", S.UNAUTHENTICATED, "token revoked", times=2)

    with pytest.raises(UnauthenticatedError, match="token revoked"):
        oauth_client.complete_job(1)

    assert token_server.fetches == 2
    assert fake.call_count("CompleteJob") == 2


def test_a_refused_client_secret_is_unauthenticated_and_never_reaches_the_gateway(
    fake: FakeGateway, token_server: TokenServer, oauth_client: ZeebeClient
) -> None:
    token_server.status = 401

    with pytest.raises(UnauthenticatedError) as caught:
        oauth_client.complete_job(1)

    assert "s3cr3t" not in str(caught.value)
    assert fake.call_count("CompleteJob") == 0
    assert token_server.fetches == 1


def test_a_refused_client_secret_is_fetched_once_per_call(
    fake: FakeGateway, token_server: TokenServer, oauth_client: ZeebeClient
) -> None:
    token_server.status = 401

    with pytest.raises(UnauthenticatedError) as caught:
        oauth_client.activate_jobs("charge", worker="w", timeout=60, max_jobs=5)

    assert caught.value.code is S.UNAUTHENTICATED
    assert token_server.fetches == 1
    assert fake.call_count("ActivateJobs") == 0


def test_unauthenticated_activation_gets_a_fresh_token_and_retries_once(
    fake: FakeGateway, token_server: TokenServer, oauth_client: ZeebeClient
) -> None:
    fake.fail_next("ActivateJobs", S.UNAUTHENTICATED, "token revoked")
    fake.add_jobs("charge", [make_job(1, "charge")])

    jobs = oauth_client.activate_jobs("charge", worker="w", timeout=60, max_jobs=5)

    assert [job.key for job in jobs] == [1]
    assert [call.header("authorization") for call in fake.calls_to("ActivateJobs")] == [
        "Bearer token-1",
        "Bearer token-2",
    ]
    assert token_server.fetches == 2


def test_unauthenticated_activation_twice_in_a_row_raises(
    fake: FakeGateway, token_server: TokenServer, oauth_client: ZeebeClient
) -> None:
    fake.fail_next("ActivateJobs", S.UNAUTHENTICATED, "token revoked", times=2)

    with pytest.raises(UnauthenticatedError, match="token revoked"):
        oauth_client.activate_jobs("charge", worker="w", timeout=60, max_jobs=5)

    assert fake.call_count("ActivateJobs") == 2
    assert token_server.fetches == 2


@pytest.mark.parametrize(
    ("rpc", "open_call"),
    [
        (
            "ActivateJobs",
            lambda c: c.open_activate_jobs("charge", worker="w", timeout=60, max_jobs=5, request_timeout=-1),
        ),
        ("StreamActivatedJobs", lambda c: c.stream_activated_jobs("charge", worker="w", timeout=60)),
    ],
    ids=["open_activate_jobs", "stream_activated_jobs"],
)
def test_an_open_job_call_refused_as_unauthenticated_raises_and_forgets_the_token(
    fake: FakeGateway, token_server: TokenServer, oauth_client: ZeebeClient, rpc: str, open_call: object
) -> None:
    fake.fail_next(rpc, S.UNAUTHENTICATED, "token revoked")

    with pytest.raises(UnauthenticatedError, match="token revoked"):
        list(open_call(oauth_client))  # type: ignore[operator]
    call = open_call(oauth_client)  # type: ignore[operator]
    if rpc == "StreamActivatedJobs":
        fake.wait_for(rpc, 2)
        call.cancel()
    list(call)

    assert [c.header("authorization") for c in fake.calls_to(rpc)] == ["Bearer token-1", "Bearer token-2"]


def test_a_token_another_thread_already_renewed_is_not_dropped_again(
    fake: FakeGateway, token_server: TokenServer, oauth_client: ZeebeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = oauth_client._tokens
    assert tokens is not None
    renew = tokens.invalidate

    def renewed_by_another_thread_first(token: str | None = None) -> None:
        # Another thread got the same refusal a moment earlier and has fetched token-2 already.
        renew()
        tokens.token()
        renew(token)

    monkeypatch.setattr(tokens, "invalidate", renewed_by_another_thread_first)
    fake.fail_next("CompleteJob", S.UNAUTHENTICATED, "token revoked")

    oauth_client.complete_job(1)

    assert [call.header("authorization") for call in fake.calls_to("CompleteJob")] == [
        "Bearer token-1",
        "Bearer token-2",
    ]
    assert token_server.fetches == 2


# -- the fake's own promises -------------------------------------------------------------------------


def test_fake_gateway_refuses_an_unknown_rpc_name(fake: FakeGateway) -> None:
    with pytest.raises(ValueError, match="unknown RPC 'CompleteJobs'"):
        fake.fail_next("CompleteJobs", S.UNAVAILABLE)


def test_fake_gateway_serves_a_set_response(fake: FakeGateway, client: ZeebeClient) -> None:
    fake.set_response(
        "CreateProcessInstance",
        lambda request: pb.CreateProcessInstanceResponse(processInstanceKey=11, bpmnProcessId=request.bpmnProcessId),
    )

    instance = client.create_process_instance("order")

    assert (instance.process_instance_key, instance.bpmn_process_id) == (11, "order")


def test_fake_gateway_answers_a_negative_request_timeout_at_once(fake: FakeGateway) -> None:
    request = pb.ActivateJobsRequest(type="charge", worker="w", timeout=1000, maxJobsToActivate=5, requestTimeout=-1)

    with grpc.insecure_channel(fake.address) as channel:
        started = time.monotonic()
        responses = list(GatewayStub(channel).ActivateJobs(request, timeout=5))

    assert responses == []
    assert time.monotonic() - started < 1


def test_fake_gateway_splits_a_queued_batch_to_honour_max_jobs(fake: FakeGateway, client: ZeebeClient) -> None:
    fake.add_jobs("charge", [make_job(n, "charge") for n in range(5)])
    fake.add_jobs("charge", [make_job(n, "charge") for n in range(5, 7)])

    sizes = [len(client.activate_jobs("charge", worker="w", timeout=60, max_jobs=3)) for _ in range(3)]

    assert sizes == [3, 2, 2]
    assert fake.pending_jobs("charge") == 0


def test_fake_gateway_takes_jobs_from_a_factory_when_none_are_queued(fake: FakeGateway, client: ZeebeClient) -> None:
    fake.set_job_factory("charge", lambda request: [make_job(n, request.type) for n in range(100)])

    jobs = client.activate_jobs("charge", worker="w", timeout=60, max_jobs=4)

    assert [job.key for job in jobs] == [0, 1, 2, 3]


def test_fake_gateway_stop_ends_an_open_long_poll(clean_env: Path) -> None:
    fake = FakeGateway().start()
    with ZeebeClient(settings(fake), retry=FAST_RETRY) as client:
        call = client.open_activate_jobs("charge", worker="w", timeout=60, max_jobs=5, request_timeout=30)
        fake.wait_for("ActivateJobs")

        started = time.monotonic()
        fake.stop()
        assert list(call) == []

    assert time.monotonic() - started < 2
    fake.stop()
    with pytest.raises(RuntimeError, match="stopped"):
        fake.start()


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"max_jobs": 0}, "maxJobsToActivate must be greater than zero"),
        ({"worker": " "}, "worker must not be blank"),
        ({"timeout": 0}, "timeout must be greater than zero"),
    ],
)
def test_fake_gateway_refuses_an_activation_the_real_one_refuses(
    fake: FakeGateway, client: ZeebeClient, options: dict[str, object], problem: str
) -> None:
    fake.add_jobs("charge", [make_job(1, "charge")])
    arguments: dict[str, object] = {"worker": "w", "timeout": 60, "max_jobs": 5, **options}

    with pytest.raises(InvalidArgumentError, match=problem):
        client.activate_jobs("charge", **arguments)  # type: ignore[arg-type]

    assert fake.pending_jobs("charge") == 1


def test_fake_gateway_long_poll_wakes_for_jobs_added_after_an_empty_factory(
    fake: FakeGateway, client: ZeebeClient
) -> None:
    fake.set_job_factory("charge", lambda request: [])
    timer = threading.Timer(0.2, fake.add_jobs, ("charge", [make_job(3, "charge")]))
    timer.start()
    try:
        started = time.monotonic()
        jobs = client.activate_jobs("charge", worker="w", timeout=60, max_jobs=5, request_timeout=10)
    finally:
        timer.join()

    assert [job.key for job in jobs] == [3]
    assert time.monotonic() - started < 5


def test_fake_gateway_stop_cuts_a_delayed_call_short(clean_env: Path) -> None:
    fake = FakeGateway().start()
    fake.delay_next("Topology", 30.0)
    with ZeebeClient(settings(fake), retry=FAST_RETRY) as client:
        caller = threading.Thread(target=lambda: client.topology(retry=False), daemon=True)
        caller.start()
        fake.wait_for("Topology")

        started = time.monotonic()
        fake.stop(grace=10.0)
        caller.join(timeout=5)

    assert time.monotonic() - started < 2
    assert not caller.is_alive()


def test_create_with_result_and_a_zero_request_timeout_waits_the_gateways_request_timeout_plus_slack(
    fake: FakeGateway, client: ZeebeClient
) -> None:
    client.create_process_instance_with_result("order", request_timeout=0)

    (call,) = fake.calls_to("CreateProcessInstanceWithResult")
    assert call.request.requestTimeout == 0
    assert call.time_remaining is not None
    assert 20 < call.time_remaining <= 25.1
