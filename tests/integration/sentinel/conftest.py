"""The bridge lane on Redis behind Sentinel: a master, a replica and two Sentinels on 127.0.0.1, the bridge test
app's prefork workers with a ``sentinel://`` broker, and in-process pollers whose flow control is there too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from tests.integration.bridge.conftest import HERE, QUEUES, EngineRecords, PollerFactory, poller_starter, prefork_pair
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.redis_location import connect
from zeebe_celery.stack.fleet import CeleryWorker, stack_env
from zeebe_celery.stack.sentinel import RedisSentinels

MASTER_NAME = "zeebe-celery-tests"


@pytest.fixture(scope="package")
def sentinels() -> Iterator[RedisSentinels]:
    with RedisSentinels(master_name=MASTER_NAME, replicas=1, sentinels=2) as group:
        yield group


@pytest.fixture(scope="package")
def sentinel_env(zeebe_address: str, sentinels: RedisSentinels) -> dict[str, str]:
    env = stack_env(zeebe_address=zeebe_address, redis_url=sentinels.bridge_url)
    env["ZEEBE_CELERY_BROKER_URL"] = sentinels.url
    env["ZEEBE_CELERY_TEST_MASTER_NAME"] = MASTER_NAME
    return env


@pytest.fixture(scope="package")
def sentinel_fleet(sentinel_env: dict[str, str]) -> Iterator[list[CeleryWorker]]:
    """Two prefork workers consuming every queue of the bridge test app, through Sentinel."""
    queues = [*QUEUES, "zeebe.poison-target"]
    with prefork_pair(queues, sentinel_env) as workers:
        yield workers


@pytest.fixture
def master(sentinels: RedisSentinels) -> Iterator[redis.Redis]:
    """A client of whichever server is the master now, found through the Sentinels."""
    client = connect(sentinels.bridge_url, socket_timeout=5)
    yield client
    client.close()


@pytest.fixture
def records(zeebe_engine: ZeebeEngine) -> EngineRecords:
    return EngineRecords(zeebe_engine.records)


@pytest.fixture
def sentinel_app(sentinels: RedisSentinels, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The bridge test app, its broker the Sentinels' master (as the workers have it) while the test runs."""
    monkeypatch.syspath_prepend(str(HERE))
    import bridge_app

    conf = bridge_app.app.conf
    before = (conf.broker_url, conf.broker_transport_options)
    conf.broker_url = sentinels.url
    conf.broker_transport_options = {"master_name": MASTER_NAME}
    yield bridge_app.app
    conf.broker_url, conf.broker_transport_options = before


@pytest.fixture
def start_sentinel_poller(sentinel_app: Any, zeebe_address: str, sentinels: RedisSentinels) -> Iterator[PollerFactory]:
    """Starts in-process pollers publishing through the Sentinels' master, flow control there too."""
    yield from poller_starter(sentinel_app, zeebe_address, sentinels.url, sentinels.bridge_url)
