"""Fixtures for the connector unit tests: a Celery app whose workers report to the fake gateway."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
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


TEMPLATE_SCHEMA_PACKAGE = "@camunda/zeebe-element-templates-json-schema@0.46.0"


@pytest.fixture(scope="session")
def template_schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The official element template JSON schema, fetched from npm once per machine (then cached)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "zeebe-celery" / "npm"
    name = TEMPLATE_SCHEMA_PACKAGE.lstrip("@").replace("/", "-").replace("@", "-")
    schema_file = cache / name / "package" / "resources" / "schema.json"
    if not schema_file.is_file():
        download = tmp_path_factory.mktemp("npm")
        subprocess.run(
            ["npm", "pack", TEMPLATE_SCHEMA_PACKAGE, "--pack-destination", str(download), "--silent"],
            check=True,
            capture_output=True,
            timeout=300,
        )
        (tarball,) = download.glob("*.tgz")
        with tarfile.open(tarball) as archive:
            archive.extractall(cache / name, filter="data")
    schema: dict[str, Any] = json.loads(schema_file.read_text(encoding="utf-8"))
    return schema


def assert_valid_template(schema: dict[str, Any], template: dict[str, Any]) -> None:
    """Fail with every violation when ``template`` does not validate against the official schema."""
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(template), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
