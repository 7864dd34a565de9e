"""Reports in the background (ZEEBE_CELERY_REPORT_CONCURRENCY > 1): pipelined, bounded, slot freed after.
Jobs are real jobs on the engine; slow or refused reports come from its fault injection. Each test runs on
the process's report loop (``grpc.aio``) and on the report queue's threads, which a green pool gets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from prometheus_client import REGISTRY

from tests.unit.engine_jobs import EngineJobs
from tests.unit.test_worker import _reserve_for, metric, payload, register
from zeebe_celery import worker
from zeebe_celery.config import BridgeSettings, ZeebeSettings
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.faults import Faults
from zeebe_celery.flow import InflightStore
from zeebe_celery.report_loop import ReportLoop
from zeebe_celery.report_queue import ReportQueue


@pytest.fixture(params=["loop", "threads"], autouse=True)
def handoff(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "threads":
        monkeypatch.setattr(worker, "green_threads", lambda: True)
    return str(request.param)


@pytest.fixture
def job_type(jobs: EngineJobs) -> str:
    """This test's own job type, with a one-task process deployed for it."""
    return jobs.new_type("pipelined")


def make_app(engine: ZeebeEngine, redis_url: str, concurrency: int) -> Celery:
    app = Celery("report-queue-tests", set_as_current=False)
    worker.configure(
        app,
        zeebe=ZeebeSettings(address=engine.address),
        bridge=BridgeSettings(redis_url=redis_url, report_concurrency=concurrency),
    )
    return app


@pytest.fixture
def apps(engine: ZeebeEngine, redis_url: str, clean_env: Path) -> Iterator[list[Celery]]:
    made: list[Celery] = []
    yield made
    for app in made:
        worker.close_contexts(app)


@pytest.fixture
def store(redis_url: str) -> Iterator[InflightStore]:
    store = InflightStore.from_url(redis_url)
    yield store
    store.close()


def pipelined(apps: list[Celery], engine: ZeebeEngine, redis_url: str, concurrency: int) -> Celery:
    app = make_app(engine, redis_url, concurrency)
    apps.append(app)
    return app


def flush(app: Celery) -> None:
    reports = worker.context_for(app).reports
    assert reports is not None
    reports.flush()


def ok(**_: Any) -> dict[str, Any]:
    return {"ok": True}


@dataclass
class Reserved:
    """A pool process's app that keeps 2 reports in flight, the task of a no-op handler on it, and a job of
    that handler's type holding its slot."""

    app: Celery
    task: Any
    job: dict[str, Any]


@pytest.fixture
def reserved(
    apps: list[Celery], engine: ZeebeEngine, jobs: EngineJobs, redis_url: str, job_type: str, store: InflightStore
) -> Reserved:
    app = pipelined(apps, engine, redis_url, 2)
    task = register(app, job_type, ok)
    job = payload(jobs, job_type)
    _reserve_for(store, job)
    return Reserved(app, task, job)


def test_reports_overlap_so_a_process_runs_the_next_job_while_the_gateway_answers(
    apps: list[Celery],
    engine: ZeebeEngine,
    faults: Faults,
    jobs: EngineJobs,
    redis_url: str,
    job_type: str,
    handoff: str,
) -> None:
    app = pipelined(apps, engine, redis_url, 4)
    assert isinstance(worker.context_for(app).reports, ReportLoop if handoff == "loop" else ReportQueue)
    task = register(app, job_type, ok)
    faults.delay("CompleteJob", 0.5, times=4)
    messages = [payload(jobs, job_type) for _ in range(4)]
    started = time.monotonic()
    outcomes = [task.run(message) for message in messages]
    handed_over = time.monotonic() - started
    flush(app)
    assert outcomes == ["completed"] * 4
    assert handed_over < 0.4, "each job waited for its report"
    assert sorted(c.request.jobKey for c in faults.calls("CompleteJob")) == sorted(m["key"] for m in messages)
    assert (
        REGISTRY.get_sample_value("zeebe_celery_jobs_reported_total", {"type": job_type, "outcome": "completed"}) == 4.0
    )


def test_the_slot_stays_taken_until_the_report_is_done(
    reserved: Reserved, faults: Faults, jobs: EngineJobs, job_type: str, store: InflightStore
) -> None:
    app, task, job = reserved.app, reserved.task, reserved.job
    faults.delay("CompleteJob", 0.6)
    assert task.run(job) == "completed"
    assert store.in_flight(job_type) == 1
    flush(app)
    assert store.in_flight(job_type) == 0


def test_a_full_queue_makes_the_next_report_wait(
    apps: list[Celery], engine: ZeebeEngine, faults: Faults, jobs: EngineJobs, redis_url: str, job_type: str
) -> None:
    app = pipelined(apps, engine, redis_url, 2)
    task = register(app, job_type, ok)
    faults.delay("CompleteJob", 0.6, times=3)
    messages = [payload(jobs, job_type) for _ in range(3)]
    started = time.monotonic()
    for message in messages:
        task.run(message)
    # Two reports in flight; the third had to wait for one of them.
    assert time.monotonic() - started >= 0.5
    flush(app)
    assert len(faults.calls("CompleteJob")) == 3


def test_a_background_report_of_a_gone_job_is_counted_and_frees_the_slot(
    reserved: Reserved, faults: Faults, jobs: EngineJobs, job_type: str, store: InflightStore
) -> None:
    app, task, job = reserved.app, reserved.task, reserved.job
    jobs.complete(job["key"])  # by another worker: the engine answers NOT_FOUND
    task.run(job)
    flush(app)
    assert metric("zeebe_celery_jobs_gone_total", job_type) == 1.0
    assert store.in_flight(job_type) == 0


def test_a_refused_background_report_becomes_an_incident(
    apps: list[Celery], engine: ZeebeEngine, faults: Faults, jobs: EngineJobs, redis_url: str, job_type: str
) -> None:
    app = pipelined(apps, engine, redis_url, 2)
    task = register(app, job_type, ok)
    faults.fail("CompleteJob", "INVALID_ARGUMENT", "variables are not a JSON object")
    task.run(payload(jobs, job_type))
    flush(app)
    (fail,) = faults.calls("FailJob")
    assert fail.request.retries == 0
    assert "could not report the job as completed" in fail.request.errorMessage


def test_pool_process_shutdown_sends_the_reports_in_flight(
    apps: list[Celery],
    engine: ZeebeEngine,
    faults: Faults,
    jobs: EngineJobs,
    redis_url: str,
    job_type: str,
    store: InflightStore,
) -> None:
    app = pipelined(apps, engine, redis_url, 4)
    task = register(app, job_type, ok)
    messages = [payload(jobs, job_type), payload(jobs, job_type)]
    reservation = store.reserve(job_type, want=2, bound=2, hold=30)
    assert reservation is not None
    store.commit(reservation, [(job["key"], job["deadline"]) for job in messages])
    faults.delay("CompleteJob", 0.5, times=2)
    for job in messages:
        task.run(job)
    assert store.in_flight(job_type) == 2  # both reports still in flight
    worker._flush_reports()
    assert store.in_flight(job_type) == 0
    assert sorted(c.request.jobKey for c in faults.calls("CompleteJob")) == sorted(m["key"] for m in messages)


def test_a_report_after_the_queue_was_flushed_is_sent_inline(
    reserved: Reserved, faults: Faults, jobs: EngineJobs, job_type: str, store: InflightStore
) -> None:
    app, task, job = reserved.app, reserved.task, reserved.job
    flush(app)
    assert task.run(job) == "completed"
    assert [c.request.jobKey for c in faults.calls("CompleteJob")] == [job["key"]]
    assert store.in_flight(job_type) == 0


def test_slots_of_reports_that_finish_together_are_freed_in_one_call(store: InflightStore) -> None:
    reservation = store.reserve("together", want=8, bound=8, hold=30)
    assert reservation is not None
    deadline = int((time.time() + 60) * 1000)
    store.commit(reservation, [(key, deadline) for key in range(8)])
    calls: list[int] = []
    release = store.release

    def slow_release(job_type: str, jobs: Any) -> int:
        calls.append(len(jobs))
        time.sleep(0.2)  # while the first call is under way, the other reports finish
        return release(job_type, jobs)

    store.release = slow_release  # type: ignore[method-assign]
    queue = worker.ReportQueue(8)
    for key in range(8):
        queue.submit(lambda key=key: queue.release(store, "together", (key, deadline)))
    queue.flush()

    assert sum(calls) == 8
    assert len(calls) < 8
    assert store.in_flight("together") == 0


def test_a_release_that_fails_is_tried_again_in_the_background(store: InflightStore) -> None:
    reservation = store.reserve("retried", want=1, bound=1, hold=30)
    assert reservation is not None
    deadline = int((time.time() + 60) * 1000)
    store.commit(reservation, [(1, deadline)])
    release = store.release
    failures = [RuntimeError("redis blinked")]

    def flaky_release(job_type: str, jobs: Any) -> int:
        if failures:
            raise failures.pop()
        return release(job_type, jobs)

    store.release = flaky_release  # type: ignore[method-assign]
    queue = worker.ReportQueue(2)
    queue.submit(lambda: queue.release(store, "retried", (1, deadline)))
    queue.flush()

    waited = time.monotonic() + 5
    while store.in_flight("retried") and time.monotonic() < waited:
        time.sleep(0.05)
    assert store.in_flight("retried") == 0


def test_a_report_whose_first_attempt_meets_an_outage_is_sent_again(
    reserved: Reserved, faults: Faults, jobs: EngineJobs, job_type: str, store: InflightStore
) -> None:
    app, task, job = reserved.app, reserved.task, reserved.job
    faults.fail("CompleteJob", "UNAVAILABLE", "the gateway restarts", times=1)
    assert task.run(job) == "completed"
    flush(app)
    assert [c.request.jobKey for c in faults.calls("CompleteJob")] == [job["key"]] * 2
    assert jobs.state(job["key"]) is None  # completed: the engine no longer has it
    assert store.in_flight(job_type) == 0
    reported = REGISTRY.get_sample_value("zeebe_celery_jobs_reported_total", {"type": job_type, "outcome": "completed"})
    assert reported == 1.0
