"""pytest plugin: session fixtures that start a real Zeebe broker and Redis once, on first request.

``zeebe_address`` and ``redis_url`` reuse a stack that is already running when
``ZEEBE_CELERY_TEST_ZEEBE_ADDRESS`` or ``ZEEBE_CELERY_TEST_REDIS_URL`` is set (handy for local
development). ``zeebe_broker`` and ``redis_server`` always start their own, because the tests that ask for
them stop and start the service. To configure a service (more partitions, TLS), override its fixture in
a conftest.py. Importing this module starts nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from zeebe_celery.stack.redis import RedisServer
from zeebe_celery.testing.zeebe import ZeebeBroker

__all__ = ["redis_server", "redis_url", "zeebe_address", "zeebe_broker"]

ZEEBE_ADDRESS_ENV = "ZEEBE_CELERY_TEST_ZEEBE_ADDRESS"
REDIS_URL_ENV = "ZEEBE_CELERY_TEST_REDIS_URL"


@pytest.fixture(scope="session")
def zeebe_broker() -> Iterator[ZeebeBroker]:
    """A Zeebe broker of this session, started on first use and stopped at the session's end."""
    with ZeebeBroker() as broker:
        yield broker


@pytest.fixture(scope="session")
def zeebe_address(request: pytest.FixtureRequest) -> str:
    """``host:port`` of a Zeebe gateway: ``$ZEEBE_CELERY_TEST_ZEEBE_ADDRESS``, else the session's broker."""
    configured = os.environ.get(ZEEBE_ADDRESS_ENV)
    if configured:
        return configured
    broker: ZeebeBroker = request.getfixturevalue("zeebe_broker")
    return broker.address


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A Redis server of this session, started on first use and stopped at the session's end."""
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest) -> str:
    """A Redis URL: ``$ZEEBE_CELERY_TEST_REDIS_URL``, else the session's server."""
    configured = os.environ.get(REDIS_URL_ENV)
    if configured:
        return configured
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url
