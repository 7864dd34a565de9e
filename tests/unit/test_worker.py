"""The worker side: a registered ``@zeebe_task`` runs its handler for one job and reports the outcome
through a real ZeebeClient to the engine, releasing its flow-control slot on a real Redis whatever
happens. Jobs are real jobs of the test's own process; faults come from the engine's fault injection."""

from __future__ import annotations

import json
import logging
import time
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

from tests.unit.engine_jobs import EngineJobs
from zeebe_celery import handler as handler_module
from zeebe_celery import worker
from zeebe_celery.config import BridgeSettings, ZeebeSettings
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.faults import Faults
from zeebe_celery.engine.state import JobState
from zeebe_celery.errors import BpmnError
from zeebe_celery.flow import InflightStore
from zeebe_celery.job import Job
from zeebe_celery.task import zeebe_task

S = grpc.StatusCode
TOO_LARGE = "grpc: received message larger than max (5242880 vs. 4194304)"


class Order(BaseModel):
    order_id: str
    amount: float


class Receipt(BaseModel):
    charged: bool
    amount: float


@pytest.fixture
def job_type(jobs: EngineJobs) -> str:
    """This test's own job type, with a one-task process deployed for it."""
    return jobs.new_type("charge-card")


@pytest.fixture
def app(engine: ZeebeEngine, redis_url: str, clean_env: Path) -> Iterator[Celery]:
    """A Celery app whose workers report to the engine and release slots on the real Redis."""
    app = Celery("worker-tests", set_as_current=False)
    worker.configure(
        app,
        zeebe=ZeebeSettings(address=engine.address),
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


def payload(
    jobs: EngineJobs,
    job_type: str,
    variables: dict[str, Any] | None = None,
    *,
    retries: int | None = None,
    seconds_left: float = 60.0,
) -> dict[str, Any]:
    """The task message of a new instance's job, activated for ``seconds_left`` seconds; a negative
    ``seconds_left`` makes a message whose job's deadline passed before a worker took it."""
    jobs.create(job_type, variables=variables)
    timeout_ms = int(seconds_left * 1000) if seconds_left > 0 else 60_000
    (activated,) = jobs.activate(job_type, timeout_ms=timeout_ms, retries=retries)
    job = Job.from_activated(activated)
    if seconds_left <= 0:
        job = job.model_copy(update={"deadline": int((time.time() + seconds_left) * 1000)})
    return job.model_dump(mode="json")


def register(app: Celery, job_type: str, handler: Callable[..., Any], **options: Any) -> Any:
    return zeebe_task(job_type, app=app, **options)(handler)


def only_call(faults: Faults) -> tuple[str, Any]:
    """The one RPC the worker made, as (name, request)."""
    calls = faults.calls()
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


def test_returned_dict_completes_the_job_with_those_variables(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    def charge(order: Order) -> dict[str, Any]:
        return {"charged": True, "amount": order.amount}

    task = register(app, job_type, charge)

    job = payload(jobs, job_type, {"order": {"order_id": "o-1", "amount": 12.5}})
    outcome = task.run(job)

    assert outcome == "completed"
    rpc, request = only_call(faults)
    assert rpc == "CompleteJob"
    assert request.jobKey == job["key"]
    assert jobs.state(job["key"]) is None
    assert json.loads(request.variables) == {"charged": True, "amount": 12.5}


def test_returned_model_completes_the_job_with_its_fields(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    def charge(amount: float) -> Receipt:
        return Receipt(charged=True, amount=amount)

    task = register(app, job_type, charge)

    assert task.run(payload(jobs, job_type, {"amount": 3})) == "completed"
    rpc, request = only_call(faults)
    assert rpc == "CompleteJob"
    assert json.loads(request.variables) == {"charged": True, "amount": 3.0}


def test_returning_none_completes_the_job_without_variables(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    def charge() -> None:
        return None

    task = register(app, job_type, charge)

    assert task.run(payload(jobs, job_type)) == "completed"
    rpc, request = only_call(faults)
    assert rpc == "CompleteJob"
    assert request.variables == ""


def test_the_celery_task_can_be_applied_like_any_task(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    def charge(amount: float) -> dict[str, float]:
        return {"doubled": amount * 2}

    task = register(app, job_type, charge)

    result = task.apply(args=(payload(jobs, job_type, {"amount": 2}),))

    assert result.get() == "completed"
    assert json.loads(faults.calls("CompleteJob")[0].request.variables) == {"doubled": 4.0}


# -- BPMN errors ---------------------------------------------------------------------------------------


def test_bpmn_error_throws_the_error_with_code_message_and_variables(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    def charge(amount: float) -> None:
        raise BpmnError("AMOUNT_TOO_HIGH", "needs manual approval", {"limit": 10_000})

    task = register(app, job_type, charge)

    job = payload(jobs, job_type, {"amount": 20_000})
    assert task.run(job) == "thrown"
    rpc, request = only_call(faults)
    assert rpc == "ThrowError"
    assert (request.jobKey, request.errorCode, request.errorMessage) == (
        job["key"],
        "AMOUNT_TOO_HIGH",
        "needs manual approval",
    )
    assert json.loads(request.variables) == {"limit": 10_000}


# -- failing -------------------------------------------------------------------------------------------


def test_handler_exception_fails_the_job_with_one_retry_less_and_the_tasks_backoff(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    def charge() -> None:
        raise ConnectionError("card service down")

    task = register(app, job_type, charge, retry_backoff="10s")

    job = payload(jobs, job_type, retries=3)
    assert task.run(job) == "failed"
    rpc, request = only_call(faults)
    assert rpc == "FailJob"
    assert (request.jobKey, request.retries, request.retryBackOff) == (job["key"], 2, 10_000)
    assert jobs.state(job["key"]) is JobState.BACKOFF
    assert request.errorMessage == "ConnectionError: card service down"


def test_handler_exception_without_a_task_backoff_uses_the_bridge_default(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    def charge() -> None:
        raise ValueError

    task = register(app, job_type, charge)

    assert task.run(payload(jobs, job_type)) == "failed"
    _, request = only_call(faults)
    assert request.retryBackOff == 3_000
    assert request.errorMessage == "ValueError"


def test_handler_exception_on_the_last_retry_leaves_no_retries(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    def charge() -> None:
        raise RuntimeError("again")

    task = register(app, job_type, charge)

    task.run(payload(jobs, job_type, retries=1))

    assert faults.calls("FailJob")[0].request.retries == 0


def test_long_failure_message_is_truncated_to_1000_characters(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    def charge() -> None:
        raise RuntimeError("x" * 5000)

    task = register(app, job_type, charge)

    task.run(payload(jobs, job_type))

    message = faults.calls("FailJob")[0].request.errorMessage
    assert len(message) == 1000
    assert message.startswith("RuntimeError: xxx")


# -- incidents -----------------------------------------------------------------------------------------


def test_invalid_input_raises_an_incident_naming_the_variable_and_field(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    called: list[Order] = []

    def charge(order: Order) -> None:
        called.append(order)

    task = register(app, job_type, charge)

    assert task.run(payload(jobs, job_type, {"order": {"order_id": "o-1", "amount": "lots"}})) == "incident"
    assert called == []
    rpc, request = only_call(faults)
    assert rpc == "FailJob"
    assert request.retries == 0
    assert "'order'" in request.errorMessage
    assert "amount" in request.errorMessage


def test_missing_variable_raises_an_incident_naming_it(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    def charge(order: Order) -> None:
        raise AssertionError("the handler must not run without its variable")

    task = register(app, job_type, charge)

    assert task.run(payload(jobs, job_type, {})) == "incident"
    _, request = only_call(faults)
    assert request.retries == 0
    assert "'order' is missing" in request.errorMessage


def test_output_that_is_not_json_raises_an_incident_naming_the_field(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    def charge() -> dict[str, Any]:
        return {"ok": True, "when": datetime(2024, 1, 1, tzinfo=UTC)}

    task = register(app, job_type, charge)

    assert task.run(payload(jobs, job_type)) == "incident"
    rpc, request = only_call(faults)
    assert rpc == "FailJob"
    assert request.retries == 0
    assert "when" in request.errorMessage


def test_output_that_is_not_a_dict_model_or_none_raises_an_incident(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    def charge() -> list[int]:
        return [1, 2]

    task = register(app, job_type, charge)

    assert task.run(payload(jobs, job_type)) == "incident"
    _, request = only_call(faults)
    assert request.retries == 0
    assert "list" in request.errorMessage


@pytest.mark.parametrize(
    ("code", "details", "stated"),
    [
        (
            S.RESOURCE_EXHAUSTED,
            TOO_LARGE,
            "the completed report is 5,242,880 bytes, over the gateway's maximum message size of 4,194,304 bytes",
        ),
        (S.INVALID_ARGUMENT, "bad variables", "bad variables"),
    ],
)
def test_completion_refused_for_good_becomes_an_incident(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str, code: grpc.StatusCode, details: str, stated: str
) -> None:
    faults.fail("CompleteJob", code.name, details)

    def charge() -> dict[str, str]:
        return {"big": "x"}

    task = register(app, job_type, charge)

    job = payload(jobs, job_type)
    assert task.run(job) == "incident"
    assert len(faults.calls("CompleteJob")) == 1
    (fail,) = faults.calls("FailJob")
    assert fail.request.retries == 0
    assert stated in fail.request.errorMessage
    assert jobs.state(job["key"]) is JobState.FAILED


def test_an_incident_that_is_refused_too_leaves_the_job_unreported(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    faults.fail("CompleteJob", "INVALID_ARGUMENT", "bad variables")
    faults.fail("FailJob", "INVALID_ARGUMENT", "bad message")
    task = register(app, job_type, _return({"a": 1}))
    before = metric("zeebe_celery_jobs_unreported_total", job_type)

    assert task.run(payload(jobs, job_type)) == "unreported"
    assert metric("zeebe_celery_jobs_unreported_total", job_type) == before + 1


# -- deadlines -----------------------------------------------------------------------------------------


def test_job_past_deadline_is_not_run(app: Celery, faults: Faults, jobs: EngineJobs, job_type: str) -> None:
    called: list[bool] = []

    def charge() -> None:
        called.append(True)

    task = register(app, job_type, charge)

    outcome = task.run(payload(jobs, job_type, seconds_left=-1))

    assert outcome == "expired"
    assert called == []
    assert faults.calls() == []
    assert metric("zeebe_celery_jobs_expired_total", job_type) == 1


# -- refused reports -----------------------------------------------------------------------------------


def _completed_elsewhere(jobs: EngineJobs, key: int) -> None:
    jobs.complete(key)  # the engine now answers NOT_FOUND


def _failed_elsewhere(jobs: EngineJobs, key: int) -> None:
    jobs.fail(key, retries=0)  # the engine now answers FAILED_PRECONDITION


@pytest.mark.parametrize(
    "make_gone", [_completed_elsewhere, _failed_elsewhere], ids=["NOT_FOUND", "FAILED_PRECONDITION"]
)
def test_report_refused_because_the_job_is_gone_is_logged_and_not_raised(
    app: Celery,
    faults: Faults,
    jobs: EngineJobs,
    job_type: str,
    make_gone: Callable[[EngineJobs, int], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    task = register(app, job_type, _return(None))
    job = payload(jobs, job_type)
    make_gone(jobs, job["key"])

    with caplog.at_level(logging.INFO, logger="zeebe_celery.worker"):
        outcome = task.run(job)

    assert outcome == "gone"
    assert len(faults.calls("CompleteJob")) == 1
    assert len(faults.calls("FailJob")) == 0
    gone = [r for r in caplog.records if "gone" in r.getMessage()]
    assert [r.levelno for r in gone] == [logging.INFO]
    assert str(job["key"]) in gone[0].getMessage()
    assert metric("zeebe_celery_jobs_gone_total", job_type) == 1


def test_fail_refused_because_the_job_is_gone_is_not_raised(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    def charge() -> None:
        raise RuntimeError("boom")

    task = register(app, job_type, charge)
    job = payload(jobs, job_type)
    jobs.complete(job["key"])  # by another worker, while this one ran the handler

    assert task.run(job) == "gone"
    assert len(faults.calls("FailJob")) == 1


@pytest.mark.parametrize("code", [S.RESOURCE_EXHAUSTED, S.UNAVAILABLE], ids=["back-pressure", "outage"])
def test_transient_report_failures_are_retried_and_counted(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str, code: grpc.StatusCode
) -> None:
    faults.fail("CompleteJob", code.name, "try again", times=2)
    task = register(app, job_type, _return({"done": True}))
    before = metric("zeebe_celery_report_retries_total", job_type)

    assert task.run(payload(jobs, job_type)) == "completed"
    assert len(faults.calls("CompleteJob")) == 3
    assert metric("zeebe_celery_report_retries_total", job_type) == before + 2


def test_report_retries_stop_before_the_jobs_deadline(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    faults.fail("CompleteJob", "UNAVAILABLE", "down", times=10_000)
    task = register(app, job_type, _return({"done": True}))
    job = payload(jobs, job_type, seconds_left=1.0)

    started = time.monotonic()
    outcome = task.run(job)
    elapsed = time.monotonic() - started

    assert outcome == "unreported"
    assert elapsed < 1.5
    assert time.time() * 1000 < job["deadline"]
    assert len(faults.calls("CompleteJob")) > 1


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
        (_return(None), 60, "gone", "gone"),
        (_return(None), 1.0, "unavailable", "unreported"),
    ],
    ids=["completed", "handler-exception", "bpmn-error", "incident", "gone", "unreported"],
)
def test_the_flow_control_slot_is_released_on_every_path(
    app: Celery,
    faults: Faults,
    jobs: EngineJobs,
    store: InflightStore,
    job_type: str,
    handler: Callable[[], Any],
    seconds_left: float,
    script: str | None,
    outcome: str,
) -> None:
    if script == "unavailable":
        faults.fail("CompleteJob", "UNAVAILABLE", times=10_000)
    task = register(app, job_type, handler)
    job = payload(jobs, job_type, seconds_left=seconds_left)
    if script == "gone":
        jobs.complete(job["key"])
    _reserve_for(store, job)
    assert store.in_flight(job_type) == 1

    assert task.run(job) == outcome

    assert store.in_flight(job_type) == 0


def test_the_slot_of_a_job_past_its_deadline_is_removed_too(
    app: Celery, jobs: EngineJobs, store: InflightStore, raw: redis.Redis, job_type: str
) -> None:
    task = register(app, job_type, _return(None))
    job = payload(jobs, job_type, seconds_left=-1)
    _reserve_for(store, job)
    assert raw.zcard(store.key(job_type)) == 1

    assert task.run(job) == "expired"

    assert raw.zcard(store.key(job_type)) == 0


def test_the_slot_is_released_when_the_handler_raises_something_unexpected(
    app: Celery, faults: Faults, jobs: EngineJobs, store: InflightStore, job_type: str
) -> None:
    def charge() -> None:
        raise KeyError("missing")

    task = register(app, job_type, charge)
    job = payload(jobs, job_type)
    _reserve_for(store, job)

    assert task.run(job) == "failed"
    assert store.in_flight(job_type) == 0


def test_release_frees_only_this_activation_of_the_job(
    app: Celery, jobs: EngineJobs, store: InflightStore, job_type: str
) -> None:
    task = register(app, job_type, _return(None))
    current = payload(jobs, job_type, seconds_left=90)
    # The same job, as an earlier activation that timed out had it.
    earlier = {**current, "deadline": current["deadline"] - 60_000}
    _reserve_for(store, current)

    task.run(earlier)

    assert store.in_flight(job_type) == 1


# -- the worker process --------------------------------------------------------------------------------


def test_malformed_payload_is_refused_without_any_report(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    task = register(app, job_type, _return(None))

    with pytest.raises(ValidationError):
        task.run({"key": "not-a-key", "type": job_type})

    assert faults.calls() == []


def test_one_process_reports_every_job_through_one_client(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    task = register(app, job_type, _return(None))

    one, two = payload(jobs, job_type), payload(jobs, job_type)
    task.run(one)
    first = worker.context_for(app)
    task.run(two)

    assert worker.context_for(app) is first
    assert [c.request.jobKey for c in faults.calls("CompleteJob")] == [one["key"], two["key"]]


def test_bound_handler_receives_the_running_task(app: Celery, faults: Faults, jobs: EngineJobs, job_type: str) -> None:
    seen: list[str] = []

    def charge(self: Any, amount: float) -> None:
        seen.append(self.name)

    task = register(app, job_type, charge, bind=True)

    assert task.run(payload(jobs, job_type, {"amount": 1})) == "completed"
    assert seen == [task.name]


def test_async_handler_result_completes_the_job(app: Celery, faults: Faults, jobs: EngineJobs, job_type: str) -> None:
    async def charge(amount: float) -> dict[str, float]:
        return {"doubled": amount * 2}

    task = register(app, job_type, charge)

    try:
        assert task.run(payload(jobs, job_type, {"amount": 4})) == "completed"
    finally:
        # Each thread keeps one loop for async handlers; a closed one is replaced on next use.
        handler_module.event_loop().close()
    assert json.loads(faults.calls("CompleteJob")[0].request.variables) == {"doubled": 8.0}


def test_long_bpmn_error_message_is_truncated_to_1000_characters(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    task = register(app, job_type, _raise(BpmnError("CODE", "m" * 3000)))

    assert task.run(payload(jobs, job_type)) == "thrown"
    assert len(faults.calls("ThrowError")[0].request.errorMessage) == 1000


def test_bpmn_error_refused_for_good_becomes_an_incident(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    faults.fail("ThrowError", "INVALID_ARGUMENT", "no catch event")
    task = register(app, job_type, _raise(BpmnError("CODE", "msg")))

    assert task.run(payload(jobs, job_type)) == "incident"
    (fail,) = faults.calls("FailJob")
    assert fail.request.retries == 0
    assert "no catch event" in fail.request.errorMessage


# -- BpmnError variables are output too ----------------------------------------------------------------


def test_bpmn_error_variables_that_are_not_json_raise_an_incident_naming_the_field(
    app: Celery, faults: Faults, jobs: EngineJobs, store: InflightStore, job_type: str
) -> None:
    task = register(app, job_type, _raise(BpmnError("CODE", "msg", {"when": datetime(2024, 1, 1, tzinfo=UTC)})))
    job = payload(jobs, job_type)
    _reserve_for(store, job)

    assert task.run(job) == "incident"
    (fail,) = faults.calls("FailJob")
    assert fail.request.retries == 0
    assert "when" in fail.request.errorMessage
