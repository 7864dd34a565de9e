"""The worker at the edges: output over the gateway's maximum message size, exception messages that are huge
or not UTF-8, and a handler stopped at its job's deadline. Real jobs on the engine, real gRPC limits, slots
on the real Redis."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from billiard.exceptions import SoftTimeLimitExceeded
from celery import Celery
from prometheus_client import REGISTRY

from tests.unit.engine_jobs import EngineJobs
from tests.unit.test_worker import _reserve_for, _return, metric, payload, register
from zeebe_celery import worker
from zeebe_celery.config import BridgeSettings, ZeebeSettings
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.faults import Faults
from zeebe_celery.engine.state import JobState
from zeebe_celery.errors import BpmnError
from zeebe_celery.flow import InflightStore
from zeebe_celery.report import too_large
from zeebe_celery.time_limits import HARD_LIMIT_GRACE, job_time_limits

MiB = 1024 * 1024
GRPC_DEFAULT_LIMIT = 4 * MiB


@pytest.fixture
def job_type(jobs: EngineJobs) -> str:
    return jobs.new_type("edge")


def make_app(engine: ZeebeEngine, redis_url: str, **zeebe: Any) -> Celery:
    app = Celery("worker-limit-tests", set_as_current=False)
    worker.configure(
        app,
        zeebe=ZeebeSettings(address=engine.address, **zeebe),
        bridge=BridgeSettings(redis_url=redis_url, retry_backoff="1s"),
    )
    return app


@pytest.fixture
def apps(engine: ZeebeEngine, redis_url: str, clean_env: Path) -> Iterator[list[Celery]]:
    made: list[Celery] = []
    yield made
    for app in made:
        worker.close_contexts(app)


@pytest.fixture
def app(apps: list[Celery], engine: ZeebeEngine, redis_url: str) -> Celery:
    apps.append(make_app(engine, redis_url))
    return apps[-1]


@pytest.fixture
def store(redis_url: str) -> Iterator[InflightStore]:
    store = InflightStore.from_url(redis_url)
    yield store
    store.close()


def retries_counted(job_type: str) -> float:
    return REGISTRY.get_sample_value("zeebe_celery_report_retries_total", {"type": job_type}) or 0.0


# -- output over the maximum message size ----------------------------------------------------------------


def test_output_over_the_maximum_message_size_raises_an_incident_stating_size_and_limit(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    output = {"report": "x" * (5 * MiB)}
    size = len(json.dumps(output, separators=(",", ":")))
    task = register(app, job_type, _return(output))
    job = payload(jobs, job_type)

    assert task.run(job) == "incident"

    assert faults.calls("CompleteJob") == []
    (fail,) = faults.calls("FailJob")
    assert fail.request.retries == 0
    assert fail.request.errorMessage == (
        f"the output is {size:,} bytes, over the gateway's maximum message size of 4,194,304 bytes"
    )
    assert jobs.state(job["key"]) is JobState.FAILED


def test_a_report_the_engine_refuses_as_too_large_raises_an_incident_stating_size_and_limit(
    apps: list[Celery], engine: ZeebeEngine, redis_url: str, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    # This client would send up to 16 MiB; the engine's gRPC server takes 4 MiB, as Zeebe's gateway does.
    app = make_app(engine, redis_url, max_message_size=16 * MiB)
    apps.append(app)
    task = register(app, job_type, _return({"report": "x" * (5 * MiB)}))
    job = payload(jobs, job_type)
    retried = retries_counted(job_type)

    assert task.run(job) == "incident"

    assert faults.calls("CompleteJob") == []  # refused by gRPC before the engine saw it, and never repeated
    assert retries_counted(job_type) == retried
    (fail,) = faults.calls("FailJob")
    assert fail.request.retries == 0
    message = fail.request.errorMessage
    assert message.startswith("the completed report is 5,")
    assert message.endswith(f"bytes, over the gateway's maximum message size of {GRPC_DEFAULT_LIMIT:,} bytes")
    assert jobs.state(job["key"]) is JobState.FAILED


def test_bpmn_error_variables_over_the_maximum_message_size_raise_an_incident(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    def charge() -> None:
        raise BpmnError("TOO_MUCH", variables={"dump": "y" * (5 * MiB)})

    task = register(app, job_type, charge)

    assert task.run(payload(jobs, job_type)) == "incident"

    assert faults.calls("ThrowError") == []
    (fail,) = faults.calls("FailJob")
    assert fail.request.errorMessage.startswith("the variables of BpmnError 'TOO_MUCH' is 5,")


def test_output_just_under_the_limit_completes_the_job(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    task = register(app, job_type, _return({"report": "x" * (3 * MiB)}))

    assert task.run(payload(jobs, job_type)) == "completed"
    assert len(faults.calls("CompleteJob")) == 1


# -- exception messages ------------------------------------------------------------------------------------


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ValueError(b"caf\xe9 \xff".decode("utf-8", "surrogateescape")), "ValueError: caf\\udce9 \\udcff"),
        (Unprintable(), "Unprintable: (its message could not be read)"),
        (OSError("\x00nul and \u2603 are fine"), "OSError: \x00nul and \u2603 are fine"),
    ],
    ids=["not-utf8", "broken-str", "nul-and-unicode"],
)
def test_exception_messages_are_made_safe_to_send(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str, error: Exception, expected: str
) -> None:
    def charge() -> None:
        raise error

    task = register(app, job_type, charge)

    assert task.run(payload(jobs, job_type)) == "failed"
    (fail,) = faults.calls("FailJob")
    assert fail.request.errorMessage == expected
    assert fail.request.retries == 2


def test_huge_exception_message_that_is_not_utf8_is_truncated_and_escaped(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    def charge() -> None:
        raise RuntimeError("\udcff" * 2_000_000)

    task = register(app, job_type, charge)

    assert task.run(payload(jobs, job_type)) == "failed"
    message = faults.calls("FailJob")[0].request.errorMessage
    assert len(message) == 1000
    assert message.startswith("RuntimeError: \\udcff\\udcff")
    assert message.endswith("…")


def test_bpmn_error_message_and_code_that_are_not_utf8_are_escaped(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    def charge() -> None:
        raise BpmnError("NO_\udcff", "bad \udcfe")

    task = register(app, job_type, charge)

    task.run(payload(jobs, job_type))
    (throw,) = faults.calls("ThrowError")
    assert (throw.request.errorCode, throw.request.errorMessage) == ("NO_\\udcff", "bad \\udcfe")


# -- stopped at the deadline --------------------------------------------------------------------------------


def test_handler_stopped_past_its_deadline_reports_nothing_and_frees_its_slot(
    app: Celery, faults: Faults, jobs: EngineJobs, store: InflightStore, raw: redis.Redis, job_type: str
) -> None:
    job = payload(jobs, job_type, seconds_left=1.0)

    def hangs() -> None:
        # What Celery's soft time limit does to a handler still running at its job's deadline.
        time.sleep(max(job["deadline"] / 1000 - time.time(), 0) + 0.05)
        raise SoftTimeLimitExceeded()

    task = register(app, job_type, hangs)
    _reserve_for(store, job)
    gone = metric("zeebe_celery_jobs_gone_total", job_type)

    assert task.run(job) == "gone"

    assert faults.calls("FailJob") == []  # no retry spent on a job that belongs to Zeebe again
    assert raw.zscore(store.key(job_type), f"{job['key']}:{job['deadline']}") is None  # freed, not lapsed
    assert metric("zeebe_celery_jobs_gone_total", job_type) == gone + 1


def test_a_soft_time_limit_of_the_task_before_the_deadline_fails_the_job(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    def charge() -> None:
        raise SoftTimeLimitExceeded()

    task = register(app, job_type, charge)

    assert task.run(payload(jobs, job_type, seconds_left=60)) == "failed"
    assert faults.calls("FailJob")[0].request.errorMessage.startswith("SoftTimeLimitExceeded")


@pytest.mark.parametrize(
    ("left", "hard", "soft", "limits"),
    [
        (30.0, None, None, (30.0 + HARD_LIMIT_GRACE, 30.0)),
        (30.0, 10.0, 5.0, (10.0, 5.0)),
        (30.0, 60.0, 40.0, (30.0 + HARD_LIMIT_GRACE, 30.0)),
        (-2.0, None, None, (0.1 + HARD_LIMIT_GRACE, 0.1)),
    ],
    ids=["deadline", "shorter-task-limits", "longer-task-limits", "already-late"],
)
def test_time_limits_end_at_the_deadline_unless_the_task_sets_shorter_ones(
    left: float, hard: float | None, soft: float | None, limits: tuple[float, float]
) -> None:
    assert job_time_limits(left, hard, soft) == pytest.approx(limits)


def test_too_large_states_the_size_and_the_limit_with_separators() -> None:
    assert too_large("the output", 5_242_893, 4_194_304) == (
        "the output is 5,242,893 bytes, over the gateway's maximum message size of 4,194,304 bytes"
    )
