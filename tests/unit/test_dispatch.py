"""Publishing jobs to Celery: JSON only, one queue per job type, one task id per activation, and the
messages as a Celery worker reads them from a real Redis broker."""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import Celery
from kombu.exceptions import OperationalError

from tests.unit.builders import make_job
from zeebe_celery.config import BridgeSettings
from zeebe_celery.dispatch import CeleryDispatcher, queue_name, task_id
from zeebe_celery.errors import ConfigurationError
from zeebe_celery.job import Job
from zeebe_celery.spec import ZeebeTaskSpec

pytestmark = pytest.mark.usefixtures("clean_env")


def spec(job_type: str = "charge-card", *, queue: str | None = None) -> ZeebeTaskSpec:
    return ZeebeTaskSpec(
        job_type=job_type,
        task_name=f"shop.{job_type}",
        timeout=None,
        retry_backoff=None,
        max_jobs=None,
        fetch_variables=None,
        queue=queue,
        tenant_ids=(),
    )


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def job_type() -> str:
    return f"charge-card-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def broker_app(redis_url: str) -> Iterator[Celery]:
    app = Celery("dispatch-tests", broker=redis_url, set_as_current=False)
    yield app
    app.close()


@pytest.fixture
def down_app() -> Iterator[Celery]:
    app = Celery("dispatch-down", broker=f"redis://127.0.0.1:{unused_port()}/0", set_as_current=False)
    app.conf.broker_connection_timeout = 1
    yield app
    app.close()


def dispatcher_for(
    app: Celery, *specs: ZeebeTaskSpec, bridge: BridgeSettings | None = None, direct: bool | None = None
) -> CeleryDispatcher:
    bridge = bridge or BridgeSettings()
    return CeleryDispatcher(app, {s.job_type: s.resolve(bridge) for s in specs}, bridge, direct=direct)


# Both ways to a Redis broker: one direct LPUSH of ready-made messages, and kombu's producer.
BOTH_PATHS = pytest.mark.parametrize("direct", [True, False], ids=["direct", "kombu"])


def messages(raw: redis.Redis, queue: str) -> list[dict[str, Any]]:
    """The kombu envelopes waiting in ``queue``, oldest first (kombu LPUSHes and a worker BRPOPs)."""
    return [json.loads(m) for m in reversed(raw.lrange(queue, 0, -1))]


def body(message: dict[str, Any]) -> Any:
    return json.loads(base64.b64decode(message["body"]))


# -- names ---------------------------------------------------------------------------------------------


def test_queue_is_the_prefix_and_the_job_type() -> None:
    assert queue_name(spec("charge-card"), BridgeSettings()) == "zeebe.charge-card"


def test_queue_prefix_is_configurable() -> None:
    assert queue_name(spec("charge-card"), BridgeSettings(queue_prefix="jobs-")) == "jobs-charge-card"


def test_handlers_queue_overrides_the_prefix() -> None:
    assert queue_name(spec("charge-card", queue="payments"), BridgeSettings(queue_prefix="jobs-")) == "payments"


def test_task_id_is_derived_from_job_key_and_deadline() -> None:
    assert task_id(make_job(42, "t", deadline=1_700_000_000_000)) == "zeebe-42-1700000000000"


def test_task_id_is_the_same_for_one_activation_and_differs_for_the_next() -> None:
    first = make_job(42, "t", deadline=1_700_000_000_000)
    same = make_job(42, "t", deadline=1_700_000_000_000, variables={"other": True})
    next_activation = make_job(42, "t", deadline=1_700_000_300_000)

    assert task_id(first) == task_id(same)
    assert task_id(first) != task_id(next_activation)


# -- publishing on a real Celery broker -------------------------------------------------------------------


@BOTH_PATHS
def test_published_jobs_wait_as_json_messages_on_their_types_queue(
    broker_app: Celery, raw: redis.Redis, job_type: str, direct: bool
) -> None:
    dispatcher = dispatcher_for(broker_app, spec(job_type), direct=direct)
    jobs = [make_job(1, job_type, variables={"amount": 3}), make_job(2, job_type)]

    dispatcher.publish(job_type, jobs)
    dispatcher.close()

    queue = f"zeebe.{job_type}"
    assert raw.llen(queue) == 2
    first, second = messages(raw, queue)
    assert first["content-type"] == "application/json"
    assert first["headers"]["id"] == task_id(jobs[0])
    assert first["headers"]["task"] == f"shop.{job_type}"
    assert first["headers"]["expires"] == jobs[0].deadline_at.isoformat()
    args, kwargs, _embed = body(first)
    assert args == [jobs[0].model_dump(mode="json")]
    assert kwargs == {}
    assert Job.model_validate(args[0]) == jobs[0]
    assert second["headers"]["id"] == task_id(jobs[1])


@BOTH_PATHS
def test_jobs_are_published_on_the_handlers_own_queue(
    broker_app: Celery, raw: redis.Redis, job_type: str, direct: bool
) -> None:
    own = f"payments-{job_type}"
    dispatcher = dispatcher_for(broker_app, spec(job_type, queue=own), direct=direct)

    dispatcher.publish(job_type, [make_job(1, job_type)])
    dispatcher.close()

    assert dispatcher.queue(job_type) == own
    assert raw.llen(own) == 1
    assert raw.llen(f"zeebe.{job_type}") == 0


def test_each_type_goes_to_its_own_queue(broker_app: Celery, raw: redis.Redis, job_type: str) -> None:
    other = f"{job_type}-ship"
    dispatcher = dispatcher_for(broker_app, spec(job_type), spec(other))

    dispatcher.publish(job_type, [make_job(1, job_type)])
    dispatcher.publish(other, [make_job(2, other), make_job(3, other)])
    dispatcher.close()

    assert raw.llen(f"zeebe.{job_type}") == 1
    assert raw.llen(f"zeebe.{other}") == 2


def test_publishing_no_jobs_sends_nothing(broker_app: Celery, raw: redis.Redis, job_type: str) -> None:
    dispatcher = dispatcher_for(broker_app, spec(job_type))

    dispatcher.publish(job_type, [])
    dispatcher.close()

    assert raw.llen(f"zeebe.{job_type}") == 0


def test_queue_depth_counts_the_waiting_messages(broker_app: Celery, job_type: str) -> None:
    dispatcher = dispatcher_for(broker_app, spec(job_type))
    assert dispatcher.queue_depth(job_type) == 0

    dispatcher.publish(job_type, [make_job(k, job_type) for k in range(1, 6)])

    assert dispatcher.queue_depth(job_type) == 5
    dispatcher.close()


def test_the_app_serializer_does_not_change_the_json_messages(
    broker_app: Celery, raw: redis.Redis, job_type: str
) -> None:
    broker_app.conf.task_serializer = "yaml"
    dispatcher = dispatcher_for(broker_app, spec(job_type))

    dispatcher.publish(job_type, [make_job(1, job_type)])
    dispatcher.close()

    (message,) = messages(raw, f"zeebe.{job_type}")
    assert message["content-type"] == "application/json"


def test_a_reachable_broker_answers_the_ping(broker_app: Celery, job_type: str) -> None:
    dispatcher = dispatcher_for(broker_app, spec(job_type))

    assert dispatcher.ping() is True
    dispatcher.close()


def test_publish_goes_to_the_bridges_broker_url_that_ping_and_queue_depth_use(
    down_app: Celery, redis_url: str, raw: redis.Redis, job_type: str
) -> None:
    dispatcher = dispatcher_for(down_app, spec(job_type), bridge=BridgeSettings(broker_url=redis_url))
    assert dispatcher.ping() is True

    dispatcher.publish(job_type, [make_job(1, job_type)])
    dispatcher.close()

    assert raw.llen(f"zeebe.{job_type}") == 1


# -- broker down ---------------------------------------------------------------------------------------


@BOTH_PATHS
def test_publish_raises_when_the_broker_is_down(down_app: Celery, job_type: str, direct: bool) -> None:
    dispatcher = dispatcher_for(down_app, spec(job_type), direct=direct)
    started = time.monotonic()

    # kombu's OperationalError on other brokers; redis-py's ConnectionError from a direct LPUSH on Redis.
    with pytest.raises((OperationalError, redis.exceptions.ConnectionError), match="onnect"):
        dispatcher.publish(job_type, [make_job(1, job_type), make_job(2, job_type)])
    dispatcher.close()

    assert time.monotonic() - started < 8


def test_a_broker_that_is_down_fails_the_ping(down_app: Celery, job_type: str) -> None:
    dispatcher = dispatcher_for(down_app, spec(job_type))

    assert dispatcher.ping() is False
    dispatcher.close()


def test_queue_depth_of_a_broker_that_is_not_redis_is_asked_of_the_broker(job_type: str) -> None:
    app = Celery("memory", broker="memory://", set_as_current=False)
    dispatcher = dispatcher_for(app, spec(job_type))

    assert dispatcher.queue_depth(job_type) == 0  # no queue yet: nothing waits
    dispatcher.publish(job_type, [make_job(key=k, job_type=job_type) for k in (1, 2, 3)])
    assert dispatcher.queue_depth(job_type) == 3
    assert dispatcher.ping()
    dispatcher.close()
    app.close()


def test_direct_publishing_is_refused_for_a_broker_that_is_not_redis(job_type: str) -> None:
    app = Celery("memory-direct", broker="memory://", set_as_current=False)

    with pytest.raises(ConfigurationError, match="Redis broker"):
        dispatcher_for(app, spec(job_type), direct=True)
    app.close()
