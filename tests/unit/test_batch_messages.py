"""Batch messages (``@zeebe_task(batch=N)``): how the poller's dispatcher cuts and publishes them, and the
poison guard's view of them: a batch of valid jobs passes, anything else is poison that names the job."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from celery import Celery

from tests.unit.builders import make_job
from tests.unit.test_dispatch import BOTH_PATHS, body, dispatcher_for, messages, spec
from tests.unit.test_poison import EMBED, JOB, TASK, encoded, envelope, message
from zeebe_celery.config import BridgeSettings
from zeebe_celery.job import Job
from zeebe_celery.poison import PoisonKind, inspect
from zeebe_celery.spec import MAX_BATCH


@pytest.fixture
def broker_app(redis_url: str) -> Any:
    app = Celery("batch-dispatch", broker=redis_url, set_as_current=False)
    yield app
    app.close()


def publish_batches(app: Celery, raw: redis.Redis, *, direct: bool, batch: int, count: int) -> list[dict[str, Any]]:
    job_type = f"batch-{uuid.uuid4().hex[:8]}"
    dispatcher = dispatcher_for(app, replace(spec(job_type), batch=batch), direct=direct)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    # Deadlines differ within a batch: its message expires at the latest.
    jobs = [make_job(key=k, job_type=job_type, deadline=now_ms + 60_000 + k * 1000) for k in range(count)]
    try:
        dispatcher.publish(job_type, jobs)
        queue = dispatcher.queue(job_type)
        published = messages(raw, queue)
        for item in raw.lrange(queue, 0, -1):
            assert inspect(item, tasks={f"shop.{job_type}"}) is None
        raw.delete(queue)
    finally:
        dispatcher.close()
    return published


@BOTH_PATHS
def test_jobs_of_one_activation_go_out_in_batches_of_the_types_size(
    broker_app: Celery, raw: redis.Redis, direct: bool
) -> None:
    published = publish_batches(broker_app, raw, direct=direct, batch=3, count=7)

    batches = [body(m)[0][0] for m in published]
    assert [[job["key"] for job in jobs] for jobs in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    for jobs, item in zip(batches, published, strict=True):
        parsed = [Job.model_validate(job) for job in jobs]
        latest = max(job.deadline for job in parsed)
        assert datetime.fromisoformat(item["headers"]["expires"]) == datetime.fromtimestamp(latest / 1000, tz=UTC)
        assert item["headers"]["id"] == f"zeebe-batch-{parsed[0].key}-{parsed[0].deadline}-{len(parsed)}"
        assert body(item)[1:] == [{}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]


def test_a_type_without_batch_still_sends_each_job_alone(broker_app: Celery, raw: redis.Redis) -> None:
    published = publish_batches(broker_app, raw, direct=True, batch=1, count=3)

    assert [body(m)[0][0]["key"] for m in published] == [0, 1, 2]


def test_the_bridges_default_batch_size_applies_to_types_without_their_own() -> None:
    assert spec("t").resolve(BridgeSettings(batch_size=16)).batch == 16
    assert replace(spec("t"), batch=4).resolve(BridgeSettings(batch_size=16)).batch == 4
    assert spec("t").resolve(BridgeSettings()).batch == 1


def batch_message(jobs: list[Any]) -> bytes:
    return message(envelope(encoded([[jobs], {}, EMBED])))


def test_a_batch_of_valid_jobs_is_not_poison() -> None:
    assert inspect(batch_message([JOB, {**JOB, "key": 43}]), tasks={TASK}) is None
    assert inspect(batch_message([JOB] * MAX_BATCH), tasks={TASK}) is None


@pytest.mark.parametrize(
    ("jobs", "reason"),
    [
        ([], f"a batch holds 1 to {MAX_BATCH} jobs, not 0"),
        ([JOB] * (MAX_BATCH + 1), f"a batch holds 1 to {MAX_BATCH} jobs, not {MAX_BATCH + 1}"),
        ([JOB, {**JOB, "key": "x"}], "job 1 of the batch is not a job: key: Input should be a valid integer"),
        ([JOB, [JOB]], "job 1 of the batch is not a job"),
        ([JOB, None], "job 1 of the batch is not a job"),
    ],
    ids=["empty", "too-large", "bad-field", "nested-batch", "null"],
)
def test_a_batch_with_anything_but_valid_jobs_is_poison_naming_the_job(jobs: list[Any], reason: str) -> None:
    poison = inspect(batch_message(jobs), tasks={TASK})

    assert poison is not None
    assert poison.kind is PoisonKind.BAD_BODY
    assert reason in poison.reason


def test_a_batch_next_to_another_argument_is_poison() -> None:
    poison = inspect(message(envelope(encoded([[[JOB], JOB], {}, EMBED]))), tasks={TASK})

    assert poison is not None
    assert "the arguments are not exactly one job or one batch of jobs" in poison.reason


def test_the_batch_body_is_what_celery_hands_the_task(broker_app: Celery, raw: redis.Redis) -> None:
    (item,) = publish_batches(broker_app, raw, direct=True, batch=4, count=2)

    args, kwargs, _ = json.loads(base64.b64decode(item["body"]))
    assert len(args) == 1
    assert kwargs == {}
    assert [Job.model_validate(job).key for job in args[0]] == [0, 1]
    # The variables stay out of the repr that monitoring tools show.
    assert item["headers"]["argsrepr"].startswith("(<zeebe batch of 2 ")
