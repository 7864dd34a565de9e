"""pytest plugin: session fixtures that start the project's Zeebe-compatible engine and Redis once, on
first request.

``zeebe_address`` and ``redis_url`` reuse a stack that is already running when
``ZEEBE_CELERY_TEST_ZEEBE_ADDRESS`` or ``ZEEBE_CELERY_TEST_REDIS_URL`` is set: a user's own Zeebe, or a
long-running dev stack. ``zeebe_engine`` and ``redis_server`` always start their own, because the tests
that ask for them inspect or stop the service. To configure a service (more partitions, TLS), override its fixture in
a conftest.py. Importing this module starts nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.stack.redis import RedisServer

__all__ = ["redis_server", "redis_url", "zeebe_address", "zeebe_engine", "zeebe_rest_address"]

ZEEBE_ADDRESS_ENV = "ZEEBE_CELERY_TEST_ZEEBE_ADDRESS"
ZEEBE_REST_ADDRESS_ENV = "ZEEBE_CELERY_TEST_ZEEBE_REST_ADDRESS"
REDIS_URL_ENV = "ZEEBE_CELERY_TEST_REDIS_URL"


@pytest.fixture(scope="session")
def zeebe_engine() -> Iterator[ZeebeEngine]:
    """The engine of this session, on 127.0.0.1 (gRPC and the REST API, each on a free port), started on first
    use and stopped at the session's end."""
    with ZeebeEngine(rest_port=0) as engine:
        yield engine


def _session_engine(request: pytest.FixtureRequest) -> ZeebeEngine:
    """The session's engine, started now if it is not running yet (only when no address is configured)."""
    engine: ZeebeEngine = request.getfixturevalue("zeebe_engine")
    return engine


@pytest.fixture(scope="session")
def zeebe_address(request: pytest.FixtureRequest) -> str:
    """``host:port`` of a Zeebe gateway: ``$ZEEBE_CELERY_TEST_ZEEBE_ADDRESS``, else the session's engine."""
    return os.environ.get(ZEEBE_ADDRESS_ENV) or _session_engine(request).address


@pytest.fixture(scope="session")
def zeebe_rest_address(request: pytest.FixtureRequest) -> str:
    """The REST API's base URL (``http://host:port/v2``): ``$ZEEBE_CELERY_TEST_ZEEBE_REST_ADDRESS``, else the
    session's engine."""
    return os.environ.get(ZEEBE_REST_ADDRESS_ENV) or _session_engine(request).rest_address


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
