"""The worker side: a registered ``@zeebe_task`` runs its handler for one job and reports the outcome
through a real ZeebeClient to the fault-injecting fake gateway, releasing its flow-control slot on a
real Redis whatever happens."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
import redis
from celery import Celery
from prometheus_client import REGISTRY
from pydantic import BaseModel, ValidationError

from zeebe_celery import handler as handler_module
from zeebe_celery import worker
from zeebe_celery.config import BridgeSettings, ZeebeSettings
from zeebe_celery.errors import BpmnError
from zeebe_celery.flow import InflightStore
from zeebe_celery.job import Job
from zeebe_celery.task import zeebe_task
from zeebe_celery.testing.fake_gateway import FakeGateway

S = grpc.StatusCode
TOO_LARGE = "grpc: received message larger than max (5242880 vs. 4194304)"


class Order(BaseModel):
    order_id: str
    amount: float


class Receipt(BaseModel):
    charged: bool
    amount: float


@pytest.fixture
def job_type() -> str:
    return f"charge-card-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def app(fake: FakeGateway, redis_url: str, clean_env: Path) -> Iterator[Celery]:
    """A Celery app whose workers report to the fake gateway and release slots on the real Redis."""
    app = Celery("worker-tests", set_as_current=False)
    worker.configure(
        app,
        zeebe=ZeebeSettings(address=fake.address),
        bridge=BridgeSettings(redis_url=redis_url, retry_backoff="3s"),
    )
    yield app
    worker.close_contexts(app)


@pytest.fixture
def store(redis_url: str) -> Iterator[InflightStore]:
    """The flow-control store a poller shares with the workers (same Redis, default namespace)."""
    store = InflightStore.from_url(redis_url)
    yield store
    store.close()


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def payload(
    job_type: str,
    variables: dict[str, Any] | None = None,
    *,
    key: int = 4242,
    retries: int = 3,
    seconds_left: float = 60.0,
) -> dict[str, Any]:
    return Job(
        key=key,
        type=job_type,
        process_instance_key=22,
        bpmn_process_id="shop",
        process_definition_version=1,
        process_definition_key=33,
        element_id="charge",
        element_instance_key=44,
        retries=retries,
        deadline=int((time.time() + seconds_left) * 1000),
        variables=variables or {},
    ).model_dump(mode="json")


def register(app: Celery, job_type: str, handler: Callable[..., Any], **options: Any) -> Any:
    return zeebe_task(job_type, app=app, **options)(handler)


def only_call(fake: FakeGateway) -> tuple[str, Any]:
    """The one RPC the worker made, as (name, request)."""
    calls = fake.calls
    assert len(calls) == 1, [c.rpc for c in calls]
    return calls[0].rpc, calls[0].request


def metric(name: str, job_type: str) -> float:
    return REGISTRY.get_sample_value(name, {"type": job_type}) or 0.0


def _raise(exc: BaseException) -> Callable[[], None]:
    def handler() -> None:
        raise exc

    return handler


def _return(value: Any) -> Callable[[], Any]:
    def handler() -> Any:
        return value

    return handler


# -- completing ----------------------------------------------------------------------------------------


def test_returned_dict_completes_the_job_with_those_variables(app: Celery, fake: FakeGateway, job_type: str) -> None:
    def charge(order: Order) -> dict[str, Any]:
        return {"charged": True, "amount": order.amount}

    task = register(app, job_type, charge)

    outcome = task.run(payload(job_type, {"order": {"order_id": "o-1", "amount": 12.5}}, key=77))

    assert outcome == "completed"
    rpc, request = only_call(fake)
    assert rpc == "CompleteJob"
    assert request.jobKey == 77
    assert json.loads(request.variables) == {"charged": True, "amount": 12.5}


def test_returned_model_completes_the_job_with_its_fields(app: Celery, fake: FakeGateway, job_type: str) -> None:
    def charge(amount: float) -> Receipt:
        return Receipt(charged=True, amount=amount)

    task = register(app, job_type, charge)

    assert task.run(payload(job_type, {"amount": 3})) == "completed"
    rpc, request = only_call(fake)
    assert rpc == "CompleteJob"
    assert json.loads(request.variables) == {"charged": True, "amount": 3.0}


def test_returning_none_completes_the_job_without_variables(app: Celery, fake: FakeGateway, job_type: str) -> None:
    def charge() -> None:
        return None

    task = register(app, job_type, charge)

    assert task.run(payload(job_type)) == "completed"
    rpc, request = only_call(fake)
    assert rpc == "CompleteJob"
    assert request.variables == ""


def test_the_celery_task_can_be_applied_like_any_task(app: Celery, fake: FakeGateway, job_type: str) -> None:
    def charge(amount: float) -> dict[str, float]:
        return {"doubled": amount * 2}

    task = register(app, job_type, charge)

    result = task.apply(args=(payload(job_type, {"amount": 2}),))

    assert result.get() == "completed"
    assert json.loads(fake.calls_to("CompleteJob")[0].request.variables) == {"doubled": 4.0}


# -- BPMN errors ---------------------------------------------------------------------------------------


def test_bpmn_error_throws_the_error_with_code_message_and_variables(
    app: Celery, fake: FakeGateway, job_type: str
) -> None:
    def charge(amount: float) -> None:
        raise BpmnError("AMOUNT_TOO_HIGH", "needs manual approval", {"limit": 10_000})

    task = register(app, job_type, charge)

    assert task.run(payload(job_type, {"amount": 20_000}, key=78)) == "thrown"
    rpc, request = only_call(fake)
    assert rpc == "ThrowError"
    assert (request.jobKey, request.errorCode, request.errorMessage) == (78, "AMOUNT_TOO_HIGH", "needs manual approval")
    assert json.loads(request.variables) == {"limit": 10_000}


# -- failing -------------------------------------------------------------------------------------------


def test_handler_exception_fails_the_job_with_one_retry_less_and_the_tasks_backoff(
    app: Celery, fake: FakeGateway, job_type: str
) -> None:
    def charge() -> None:
        raise ConnectionError("card service down")

    task = register(app, job_type, charge, retry_backoff="10s")

    assert task.run(payload(job_type, retries=3, key=79)) == "failed"
    rpc, request = only_call(fake)
    assert rpc == "FailJob"
    assert (request.jobKey, request.retries, request.retryBackOff) == (79, 2, 10_000)
    assert request.errorMessage == "ConnectionError: card service down"


def test_handler_exception_without_a_task_backoff_uses_the_bridge_default(
    app: Celery, fake: FakeGateway, job_type: str
) -> None:
    def charge() -> None:
        raise ValueError

    task = register(app, job_type, charge)

    assert task.run(payload(job_type)) == "failed"
    _, request = only_call(fake)
    assert request.retryBackOff == 3_000
    assert request.errorMessage == "ValueError"


def test_handler_exception_on_the_last_retry_leaves_no_retries(app: Celery, fake: FakeGateway, job_type: str) -> None:
    def charge() -> None:
        raise RuntimeError("again")

    task = register(app, job_type, charge)

    task.run(payload(job_type, retries=1))

    assert fake.calls_to("FailJob")[0].request.retries == 0


def test_long_failure_message_is_truncated_to_1000_characters(app: Celery, fake: FakeGateway, job_type: str) -> None:
    def charge() -> None:
        raise RuntimeError("x" * 5000)

    task = register(app, job_type, charge)

    task.run(payload(job_type))

    message = fake.calls_to("FailJob")[0].request.errorMessage
    assert len(message) == 1000
    assert message.startswith("RuntimeError: xxx")


# -- incidents -----------------------------------------------------------------------------------------


def test_invalid_input_raises_an_incident_naming_the_variable_and_field(
    app: Celery, fake: FakeGateway, job_type: str
) -> None:
    called: list[Order] = []

    def charge(order: Order) -> None:
        called.append(order)

    task = register(app, job_type, charge)

    assert task.run(payload(job_type, {"order": {"order_id": "o-1", "amount": "lots"}})) == "incident"
    assert called == []
    rpc, request = only_call(fake)
    assert rpc == "FailJob"
    assert request.retries == 0
    assert "'order'" in request.errorMessage
    assert "amount" in request.errorMessage


def test_missing_variable_raises_an_incident_naming_it(app: Celery, fake: FakeGateway, job_type: str) -> None:
    def charge(order: Order) -> None:
        raise AssertionError("the handler must not run without its variable")

    task = register(app, job_type, charge)

    assert task.run(payload(job_type, {})) == "incident"
    _, request = only_call(fake)
    assert request.retries == 0
    assert "'order' is missing" in request.errorMessage


def test_output_that_is_not_json_raises_an_incident_naming_the_field(
    app: Celery, fake: FakeGateway, job_type: str
) -> None:
    def charge() -> dict[str, Any]:
        return {"ok": True, "when": datetime(2024, 1, 1, tzinfo=UTC)}

    task = register(app, job_type, charge)

    assert task.run(payload(job_type)) == "incident"
    rpc, request = only_call(fake)
    assert rpc == "FailJob"
    assert request.retries == 0
    assert "when" in request.errorMessage


def test_output_that_is_not_a_dict_model_or_none_raises_an_incident(
    app: Celery, fake: FakeGateway, job_type: str
) -> None:
    def charge() -> list[int]:
        return [1, 2]

    task = register(app, job_type, charge)

    assert task.run(payload(job_type)) == "incident"
    _, request = only_call(fake)
    assert request.retries == 0
    assert "list" in request.errorMessage


@pytest.mark.parametrize(
    ("code", "details"), [(S.RESOURCE_EXHAUSTED, TOO_LARGE), (S.INVALID_ARGUMENT, "bad variables")]
)
def test_completion_refused_for_good_becomes_an_incident(
    app: Celery, fake: FakeGateway, job_type: str, code: grpc.StatusCode, details: str
) -> None:
    fake.fail_next("CompleteJob", code, details)

    def charge() -> dict[str, str]:
        return {"big": "x"}

    task = register(app, job_type, charge)

    assert task.run(payload(job_type)) == "incident"
    assert fake.call_count("CompleteJob") == 1
    (fail,) = fake.calls_to("FailJob")
    assert fail.request.retries == 0
    assert details in fail.request.errorMessage


def test_an_incident_that_is_refused_too_leaves_the_job_unreported(
    app: Celery, fake: FakeGateway, job_type: str
) -> None:
    fake.fail_next("CompleteJob", S.INVALID_ARGUMENT, "bad variables")
    fake.fail_next("FailJob", S.INVALID_ARGUMENT, "bad message")
    task = register(app, job_type, _return({"a": 1}))
    before = metric("zeebe_celery_jobs_unreported_total", job_type)

    assert task.run(payload(job_type)) == "unreported"
    assert metric("zeebe_celery_jobs_unreported_total", job_type) == before + 1


# -- deadlines -----------------------------------------------------------------------------------------


def test_job_past_deadline_is_not_run(app: Celery, fake: FakeGateway, job_type: str) -> None:
    called: list[bool] = []

    def charge() -> None:
        called.append(True)

    task = register(app, job_type, charge)

    outcome = task.run(payload(job_type, seconds_left=-1))

    assert outcome == "expired"
    assert called == []
    assert fake.calls == []
    assert metric("zeebe_celery_jobs_expired_total", job_type) == 1


# -- refused reports -----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [S.NOT_FOUND, S.FAILED_PRECONDITION])
def test_report_refused_because_the_job_is_gone_is_logged_and_not_raised(
    app: Celery, fake: FakeGateway, job_type: str, code: grpc.StatusCode, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail_next("CompleteJob", code, "job not activated")
    task = register(app, job_type, _return(None))

    with caplog.at_level(logging.INFO, logger="zeebe_celery.worker"):
        outcome = task.run(payload(job_type, key=80))

    assert outcome == "gone"
    assert fake.call_count("CompleteJob") == 1
    assert fake.call_count("FailJob") == 0
    gone = [r for r in caplog.records if "gone" in r.getMessage()]
    assert [r.levelno for r in gone] == [logging.INFO]
    assert "80" in gone[0].getMessage()
    assert metric("zeebe_celery_jobs_gone_total", job_type) == 1


def test_fail_refused_because_the_job_is_gone_is_not_raised(app: Celery, fake: FakeGateway, job_type: str) -> None:
    fake.fail_next("FailJob", S.NOT_FOUND, "no such job")

    def charge() -> None:
        raise RuntimeError("boom")

    task = register(app, job_type, charge)

    assert task.run(payload(job_type)) == "gone"


@pytest.mark.parametrize("code", [S.RESOURCE_EXHAUSTED, S.UNAVAILABLE], ids=["back-pressure", "outage"])
def test_transient_report_failures_are_retried_and_counted(
    app: Celery, fake: FakeGateway, job_type: str, code: grpc.StatusCode
) -> None:
    fake.fail_next("CompleteJob", code, "try again", times=2)
    task = register(app, job_type, _return({"done": True}))
    before = metric("zeebe_celery_report_retries_total", job_type)

    assert task.run(payload(job_type)) == "completed"
    assert fake.call_count("CompleteJob") == 3
    assert metric("zeebe_celery_report_retries_total", job_type) == before + 2


def test_report_retries_stop_before_the_jobs_deadline(app: Celery, fake: FakeGateway, job_type: str) -> None:
    fake.fail_next("CompleteJob", S.UNAVAILABLE, "down", times=10_000)
    task = register(app, job_type, _return({"done": True}))
    job = payload(job_type, seconds_left=1.0)

    started = time.monotonic()
    outcome = task.run(job)
    elapsed = time.monotonic() - started

    assert outcome == "unreported"
    assert elapsed < 1.5
    assert time.time() * 1000 < job["deadline"]
    assert fake.call_count("CompleteJob") > 1


# -- flow-control slots --------------------------------------------------------------------------------


def _reserve_for(store: InflightStore, job: dict[str, Any]) -> None:
    reservation = store.reserve(job["type"], want=1, bound=1, hold=30)
    assert reservation is not None
    store.commit(reservation, [(job["key"], job["deadline"])])


@pytest.mark.parametrize(
    ("handler", "seconds_left", "script", "outcome"),
    [
        (_return({"a": 1}), 60, None, "completed"),
        (_raise(RuntimeError("boom")), 60, None, "failed"),
        (_raise(BpmnError("CODE")), 60, None, "thrown"),
        (_return([1]), 60, None, "incident"),
        (_return(None), 60, ("CompleteJob", S.NOT_FOUND), "gone"),
        (_return(None), 1.0, ("CompleteJob", S.UNAVAILABLE), "unreported"),
    ],
    ids=["completed", "handler-exception", "bpmn-error", "incident", "gone", "unreported"],
)
def test_the_flow_control_slot_is_released_on_every_path(
    app: Celery,
    fake: FakeGateway,
    store: InflightStore,
    job_type: str,
    handler: Callable[[], Any],
    seconds_left: float,
    script: tuple[str, grpc.StatusCode] | None,
    outcome: str,
) -> None:
    if script is not None:
        fake.fail_next(*script, times=10_000)
    task = register(app, job_type, handler)
    job = payload(job_type, seconds_left=seconds_left)
    _reserve_for(store, job)
    assert store.in_flight(job_type) == 1

    assert task.run(job) == outcome

    assert store.in_flight(job_type) == 0


def test_the_slot_of_a_job_past_its_deadline_is_removed_too(
    app: Celery, store: InflightStore, raw: redis.Redis, job_type: str
) -> None:
    task = register(app, job_type, _return(None))
    job = payload(job_type, seconds_left=-1)
    _reserve_for(store, job)
    assert raw.zcard(store.key(job_type)) == 1

    assert task.run(job) == "expired"

    assert raw.zcard(store.key(job_type)) == 0


def test_the_slot_is_released_when_the_handler_raises_something_unexpected(
    app: Celery, fake: FakeGateway, store: InflightStore, job_type: str
) -> None:
    def charge() -> None:
        raise KeyError("missing")

    task = register(app, job_type, charge)
    job = payload(job_type)
    _reserve_for(store, job)

    assert task.run(job) == "failed"
    assert store.in_flight(job_type) == 0


def test_release_frees_only_this_activation_of_the_job(app: Celery, store: InflightStore, job_type: str) -> None:
    task = register(app, job_type, _return(None))
    earlier = payload(job_type, key=5, seconds_left=30)
    current = payload(job_type, key=5, seconds_left=90)
    _reserve_for(store, current)

    task.run(earlier)

    assert store.in_flight(job_type) == 1


# -- the worker process --------------------------------------------------------------------------------


def test_malformed_payload_is_refused_without_any_report(app: Celery, fake: FakeGateway, job_type: str) -> None:
    task = register(app, job_type, _return(None))

    with pytest.raises(ValidationError):
        task.run({"key": "not-a-key", "type": job_type})

    assert fake.calls == []


def test_one_process_reports_every_job_through_one_client(app: Celery, fake: FakeGateway, job_type: str) -> None:
    task = register(app, job_type, _return(None))

    task.run(payload(job_type, key=1))
    first = worker.context_for(app)
    task.run(payload(job_type, key=2))

    assert worker.context_for(app) is first
    assert [c.request.jobKey for c in fake.calls_to("CompleteJob")] == [1, 2]


def test_bound_handler_receives_the_running_task(app: Celery, fake: FakeGateway, job_type: str) -> None:
    seen: list[str] = []

    def charge(self: Any, amount: float) -> None:
        seen.append(self.name)

    task = register(app, job_type, charge, bind=True)

    assert task.run(payload(job_type, {"amount": 1})) == "completed"
    assert seen == [task.name]


def test_async_handler_result_completes_the_job(app: Celery, fake: FakeGateway, job_type: str) -> None:
    async def charge(amount: float) -> dict[str, float]:
        return {"doubled": amount * 2}

    task = register(app, job_type, charge)

    try:
        assert task.run(payload(job_type, {"amount": 4})) == "completed"
    finally:
        # The worker process keeps one loop for async handlers; a closed one is replaced on next use.
        if handler_module._loop is not None:
            handler_module._loop.close()
    assert json.loads(fake.calls_to("CompleteJob")[0].request.variables) == {"doubled": 8.0}


def test_long_bpmn_error_message_is_truncated_to_1000_characters(app: Celery, fake: FakeGateway, job_type: str) -> None:
    task = register(app, job_type, _raise(BpmnError("CODE", "m" * 3000)))

    assert task.run(payload(job_type)) == "thrown"
    assert len(fake.calls_to("ThrowError")[0].request.errorMessage) == 1000


def test_bpmn_error_refused_for_good_becomes_an_incident(app: Celery, fake: FakeGateway, job_type: str) -> None:
    fake.fail_next("ThrowError", S.INVALID_ARGUMENT, "no catch event")
    task = register(app, job_type, _raise(BpmnError("CODE", "msg")))

    assert task.run(payload(job_type)) == "incident"
    (fail,) = fake.calls_to("FailJob")
    assert fail.request.retries == 0
    assert "no catch event" in fail.request.errorMessage


# -- BpmnError variables are output too ----------------------------------------------------------------


def test_bpmn_error_variables_that_are_not_json_raise_an_incident_naming_the_field(
    app: Celery, fake: FakeGateway, store: InflightStore, job_type: str
) -> None:
    task = register(app, job_type, _raise(BpmnError("CODE", "msg", {"when": datetime(2024, 1, 1, tzinfo=UTC)})))
    job = payload(job_type)
    _reserve_for(store, job)

    assert task.run(job) == "incident"
    (fail,) = fake.calls_to("FailJob")
    assert fail.request.retries == 0
    assert "when" in fail.request.errorMessage
