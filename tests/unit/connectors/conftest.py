"""Fixtures for the connector unit tests: real jobs on the session's engine, and a Celery app whose
workers report them to it."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from celery import Celery

from tests.unit.engine_jobs import EngineJobs
from zeebe_celery import worker
from zeebe_celery.config import BridgeSettings, ZeebeSettings
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.job import Job


@pytest.fixture
def job_type(jobs: EngineJobs) -> str:
    """This test's own job type, with a one-task process deployed for it."""
    return jobs.new_type("connector")


@pytest.fixture
def app(engine: ZeebeEngine, redis_url: str, clean_env: Path) -> Iterator[Celery]:
    """A Celery app whose workers report to the engine and release slots on the real Redis."""
    app = Celery("connector-tests", set_as_current=False)
    worker.configure(app, zeebe=ZeebeSettings(address=engine.address), bridge=BridgeSettings(redis_url=redis_url))
    yield app
    worker.close_contexts(app)


def payload(
    jobs: EngineJobs,
    job_type: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    retries: int | None = None,
) -> dict[str, Any]:
    """The task message of a new instance's job of ``job_type``, activated as the poller does. With
    ``headers``, a new version of the job type's process gives its task those headers; with ``retries``,
    the job's retries are updated to that number first."""
    if headers is not None:
        jobs.deploy(job_type, headers=headers)
    (instance,) = jobs.create(job_type, variables=variables)
    (activated,) = jobs.activate(job_type, retries=retries)
    assert activated.processInstanceKey == instance, f"an older job of {job_type!r} was still waiting"
    return Job.from_activated(activated).model_dump(mode="json")


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
