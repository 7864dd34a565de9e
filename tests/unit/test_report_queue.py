"""Reports in the background (ZEEBE_CELERY_REPORT_CONCURRENCY > 1): pipelined, bounded, slot freed after."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from celery import Celery
from prometheus_client import REGISTRY

from tests.unit.test_worker import _reserve_for, metric, payload, register
from zeebe_celery import worker
from zeebe_celery.config import BridgeSettings, ZeebeSettings
from zeebe_celery.flow import InflightStore
from zeebe_celery.testing.fake_gateway import FakeGateway

S = grpc.StatusCode


@pytest.fixture
def job_type(request: pytest.FixtureRequest) -> str:
    return f"pipelined-{request.node.name[-40:]}-{time.monotonic_ns()}"


def make_app(fake: FakeGateway, redis_url: str, concurrency: int) -> Celery:
    app = Celery("report-queue-tests", set_as_current=False)
    worker.configure(
        app,
        zeebe=ZeebeSettings(address=fake.address),
        bridge=BridgeSettings(redis_url=redis_url, report_concurrency=concurrency),
    )
    return app


@pytest.fixture
def apps(fake: FakeGateway, redis_url: str, clean_env: Path) -> Iterator[list[Celery]]:
    made: list[Celery] = []
    yield made
    for app in made:
        worker.close_contexts(app)


@pytest.fixture
def store(redis_url: str) -> Iterator[InflightStore]:
    store = InflightStore.from_url(redis_url)
    yield store
    store.close()


def pipelined(apps: list[Celery], fake: FakeGateway, redis_url: str, concurrency: int) -> Celery:
    app = make_app(fake, redis_url, concurrency)
    apps.append(app)
    return app


def flush(app: Celery) -> None:
    reports = worker.context_for(app).reports
    assert reports is not None
    reports.flush()


def ok(**_: Any) -> dict[str, Any]:
    return {"ok": True}


def test_reports_overlap_so_a_process_runs_the_next_job_while_the_gateway_answers(
    apps: list[Celery], fake: FakeGateway, redis_url: str, job_type: str
) -> None:
    app = pipelined(apps, fake, redis_url, 4)
    task = register(app, job_type, ok)
    fake.delay_next("CompleteJob", 0.5, times=4)
    started = time.monotonic()
    outcomes = [task.run(payload(job_type, key=100 + i)) for i in range(4)]
    handed_over = time.monotonic() - started
    flush(app)
    assert outcomes == ["completed"] * 4
    assert handed_over < 0.4, "each job waited for its report"
    assert sorted(c.request.jobKey for c in fake.calls_to("CompleteJob")) == [100, 101, 102, 103]
    assert (
        REGISTRY.get_sample_value("zeebe_celery_jobs_reported_total", {"type": job_type, "outcome": "completed"}) == 4.0
    )


def test_the_slot_stays_taken_until_the_report_is_done(
    apps: list[Celery], fake: FakeGateway, redis_url: str, job_type: str, store: InflightStore
) -> None:
    app = pipelined(apps, fake, redis_url, 2)
    task = register(app, job_type, ok)
    job = payload(job_type, key=7)
    _reserve_for(store, job)
    fake.delay_next("CompleteJob", 0.6)
    assert task.run(job) == "completed"
    assert store.in_flight(job_type) == 1
    flush(app)
    assert store.in_flight(job_type) == 0


def test_a_full_queue_makes_the_next_report_wait(
    apps: list[Celery], fake: FakeGateway, redis_url: str, job_type: str
) -> None:
    app = pipelined(apps, fake, redis_url, 2)
    task = register(app, job_type, ok)
    fake.delay_next("CompleteJob", 0.6, times=3)
    started = time.monotonic()
    for i in range(3):
        task.run(payload(job_type, key=200 + i))
    # Two reports in flight; the third had to wait for one of them.
    assert time.monotonic() - started >= 0.5
    flush(app)
    assert len(fake.calls_to("CompleteJob")) == 3


def test_a_background_report_of_a_gone_job_is_counted_and_frees_the_slot(
    apps: list[Celery], fake: FakeGateway, redis_url: str, job_type: str, store: InflightStore
) -> None:
    app = pipelined(apps, fake, redis_url, 2)
    task = register(app, job_type, ok)
    job = payload(job_type, key=9)
    _reserve_for(store, job)
    fake.fail_next("CompleteJob", S.NOT_FOUND, "job not found")
    task.run(job)
    flush(app)
    assert metric("zeebe_celery_jobs_gone_total", job_type) == 1.0
    assert store.in_flight(job_type) == 0


def test_a_refused_background_report_becomes_an_incident(
    apps: list[Celery], fake: FakeGateway, redis_url: str, job_type: str
) -> None:
    app = pipelined(apps, fake, redis_url, 2)
    task = register(app, job_type, ok)
    fake.fail_next("CompleteJob", S.INVALID_ARGUMENT, "variables are not a JSON object")
    task.run(payload(job_type, key=11))
    flush(app)
    (fail,) = fake.calls_to("FailJob")
    assert fail.request.retries == 0
    assert "could not report the job as completed" in fail.request.errorMessage


def test_pool_process_shutdown_sends_the_reports_in_flight(
    apps: list[Celery], fake: FakeGateway, redis_url: str, job_type: str, store: InflightStore
) -> None:
    app = pipelined(apps, fake, redis_url, 4)
    task = register(app, job_type, ok)
    jobs = [payload(job_type, key=301), payload(job_type, key=302)]
    reservation = store.reserve(job_type, want=2, bound=2, hold=30)
    assert reservation is not None
    store.commit(reservation, [(job["key"], job["deadline"]) for job in jobs])
    fake.delay_next("CompleteJob", 0.5, times=2)
    for job in jobs:
        task.run(job)
    assert store.in_flight(job_type) == 2  # both reports still in flight
    worker._flush_reports()
    assert store.in_flight(job_type) == 0
    assert sorted(c.request.jobKey for c in fake.calls_to("CompleteJob")) == [301, 302]


def test_a_report_after_the_queue_was_flushed_is_sent_inline(
    apps: list[Celery], fake: FakeGateway, redis_url: str, job_type: str, store: InflightStore
) -> None:
    app = pipelined(apps, fake, redis_url, 2)
    task = register(app, job_type, ok)
    flush(app)
    job = payload(job_type, key=401)
    _reserve_for(store, job)
    assert task.run(job) == "completed"
    assert [c.request.jobKey for c in fake.calls_to("CompleteJob")] == [401]
    assert store.in_flight(job_type) == 0
