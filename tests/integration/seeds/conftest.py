"""Fixtures for the seed examples: a client on the session's engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zeebe_celery.config import ZeebeSettings
from zeebe_celery.gateway.client import ZeebeClient


@pytest.fixture
def client(zeebe_address: str) -> Iterator[ZeebeClient]:
    with ZeebeClient(ZeebeSettings(address=zeebe_address)) as zeebe:
        yield zeebe
