"""The bridge lane on RabbitMQ: a RabbitMQ node of its own per queue type (classic, quorum), Redis for flow
control, the bridge test app's prefork workers and a ``zeebe-celery poller`` process, all on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.integration.bridge.conftest import APP, HERE, QUEUES, prefork_pair
from zeebe_celery.stack.fleet import CeleryWorker, PollerProcess, stack_env
from zeebe_celery.stack.rabbitmq import RabbitMQServer
from zeebe_celery.stack.redis import RedisServer

POLLED = ("sum-numbers", "flaky", "check-stock", "quick", "pipelined", "poison-target")


@pytest.fixture(scope="package", params=["classic", "quorum"])
def queue_type(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="package")
def rabbitmq(queue_type: str) -> Iterator[RabbitMQServer]:
    with RabbitMQServer() as server:
        yield server


@pytest.fixture(scope="package")
def flow_redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="package")
def rabbit_env(
    zeebe_address: str, rabbitmq: RabbitMQServer, flow_redis: RedisServer, queue_type: str
) -> dict[str, str]:
    env = stack_env(zeebe_address=zeebe_address, redis_url=flow_redis.url)
    env["ZEEBE_CELERY_BROKER_URL"] = rabbitmq.url
    env["ZEEBE_CELERY_TEST_QUEUE_TYPE"] = queue_type
    return env


@pytest.fixture(scope="package")
def rabbit_fleet(rabbit_env: dict[str, str]) -> Iterator[list[CeleryWorker]]:
    """Two prefork workers consuming every queue of the bridge test app from RabbitMQ."""
    with prefork_pair(QUEUES, rabbit_env) as workers:
        yield workers


@pytest.fixture
def rabbit_poller(rabbit_env: dict[str, str], rabbit_fleet: list[CeleryWorker]) -> Iterator[PollerProcess]:
    """``zeebe-celery poller`` for the lane's job types, its jobs expiring after 8 s (so that a job whose
    message a broker lost comes back soon)."""
    env = {**rabbit_env, "ZEEBE_CELERY_JOB_TIMEOUT": "8s", "ZEEBE_CELERY_POLL_TIMEOUT": "5s"}
    with PollerProcess(APP, env=env, args=["--types", ",".join(POLLED)], cwd=HERE) as poller:
        yield poller


@pytest.fixture
def flow_store(flow_redis: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(flow_redis.url)
    yield client
    client.close()
