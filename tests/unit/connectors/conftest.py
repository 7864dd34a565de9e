"""Fixtures for the connector unit tests: a Celery app whose workers report to the fake gateway."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from zeebe_celery import worker
from zeebe_celery.config import BridgeSettings, ZeebeSettings
from zeebe_celery.job import Job
from zeebe_celery.testing.fake_gateway import FakeGateway


@pytest.fixture
def job_type() -> str:
    return f"connector-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def app(fake: FakeGateway, redis_url: str, clean_env: Path) -> Iterator[Celery]:
    """A Celery app whose workers report to the fake gateway and release slots on the real Redis."""
    app = Celery("connector-tests", set_as_current=False)
    worker.configure(app, zeebe=ZeebeSettings(address=fake.address), bridge=BridgeSettings(redis_url=redis_url))
    yield app
    for key, context in list(worker._contexts.items()):
        if key[1] == id(app):
            context.client.close()
            if context.inflight is not None:
                context.inflight.close()
            del worker._contexts[key]


def payload(
    job_type: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, Any] | None = None,
    key: int = 4242,
    retries: int = 3,
) -> dict[str, Any]:
    """A job of ``job_type`` as the poller puts it in the Celery message."""
    return Job(
        key=key,
        type=job_type,
        process_instance_key=22,
        bpmn_process_id="shop",
        process_definition_version=1,
        process_definition_key=33,
        element_id="log-it",
        element_instance_key=44,
        custom_headers=headers or {},
        retries=retries,
        deadline=int((time.time() + 60) * 1000),
        variables=variables or {},
    ).model_dump(mode="json")
