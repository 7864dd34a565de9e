"""The connector lane: the connector app on real prefork Celery workers, a poller, the engine and Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from zeebe_celery.config import BridgeSettings, ZeebeSettings
from zeebe_celery.flow import InflightStore
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.poller import Poller
from zeebe_celery.stack.fleet import CeleryWorker, stack_env
from zeebe_celery.stack.redis import RedisServer

HERE = Path(__file__).resolve().parent
APP = "connectors_app"


@pytest.fixture(scope="package")
def connector_redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="package")
def connector_env(zeebe_address: str, connector_redis: RedisServer) -> dict[str, str]:
    return stack_env(zeebe_address=zeebe_address, redis_url=connector_redis.url)


@pytest.fixture(scope="package")
def app_module(connector_redis: RedisServer) -> Iterator[Any]:
    import sys

    sys.path.insert(0, str(HERE))
    try:
        import connectors_app

        connectors_app.app.conf.broker_url = connector_redis.url
        yield connectors_app
    finally:
        sys.path.remove(str(HERE))


def start_workers(env: dict[str, str], queues: list[str], count: int = 2) -> list[CeleryWorker]:
    workers = [CeleryWorker(APP, queues, env=env, concurrency=2, cwd=HERE) for _ in range(count)]
    for worker in workers:
        worker.start(wait=False)
    for worker in workers:
        worker.wait_ready()
    return workers


@pytest.fixture(scope="package")
def queues(app_module: Any) -> list[str]:
    return [f"zeebe.{t}" for t in app_module.JOB_TYPES]


@pytest.fixture(scope="package")
def fleet(connector_env: dict[str, str], queues: list[str]) -> Iterator[list[CeleryWorker]]:
    """Two prefork workers consuming every queue of the connector app."""
    workers = start_workers(connector_env, queues)
    yield workers
    for worker in workers:
        worker.cleanup()


@pytest.fixture(scope="package")
def poller(app_module: Any, zeebe_address: str, connector_redis: RedisServer) -> Iterator[Poller]:
    """One in-process poller that discovers the app's connectors as job types."""
    bridge = BridgeSettings(broker_url=connector_redis.url, redis_url=connector_redis.url, poll_timeout=2)
    poller = Poller(
        app_module.app,
        client=ZeebeClient(ZeebeSettings(address=zeebe_address)),
        bridge=bridge,
        inflight=InflightStore.from_url(connector_redis.url),
    )
    poller.start()
    yield poller
    poller.stop()
    poller.client.close()


@pytest.fixture
def store(connector_redis: RedisServer) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(connector_redis.url)
    yield connection
    connection.close()
