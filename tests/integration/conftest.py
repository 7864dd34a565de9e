"""Fixtures for the integration lane: a client on the session's Zeebe (the project's engine, or the one
``ZEEBE_CELERY_TEST_ZEEBE_ADDRESS`` names), names no other test uses, and job helpers that wait for the
engine instead of sleeping.

This lane was written against the real Zeebe 8.5.8 and passed there: it is the engine's conformance suite.

Every test shares one broker, so every test deploys its own copies of the BPMN files under
``tests/bpmn`` with its process ids, job types, message and signal names made unique.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from zeebe_celery.config import ZeebeSettings
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.job import Job

BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"
WORKER = "integration-tests"


class UniqueNames:
    """Makes names unique to one test: ``unique("one-task")`` is ``"one-task-<suffix>"``."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix

    def __call__(self, name: str) -> str:
        return f"{name}-{self.suffix}"

    def text(self, filename: str, *names: str, renames: Mapping[str, str] | None = None) -> str:
        """The file under tests/bpmn with each attribute value in ``names`` made unique.

        ``renames`` maps an attribute value to the exact name it gets instead.
        """
        text = (BPMN_DIR / filename).read_text(encoding="utf-8")
        renames = dict(renames or {})
        for name in names:
            quoted = f'"{name}"'
            assert quoted in text, f"{filename} has no attribute value {quoted}"
            text = text.replace(quoted, f'"{renames.pop(name, self(name))}"')
        assert not renames, f"renames of names not listed: {sorted(renames)}"
        return text

    def resource(self, filename: str, *names: str, renames: Mapping[str, str] | None = None) -> tuple[str, bytes]:
        """A ``(resource name, content)`` pair for ``deploy_resource``, as :meth:`text` describes."""
        path = Path(filename)
        return f"{path.stem}-{self.suffix}{path.suffix}", self.text(filename, *names, renames=renames).encode()


class Jobs:
    """Activates jobs by long-polling the gateway for them, never by sleeping."""

    def __init__(self, client: ZeebeClient) -> None:
        self.client = client

    def activate(self, job_type: str, *, count: int = 1, timeout: float = 30.0, within: float = 10.0) -> list[Job]:
        """Activate exactly ``count`` jobs of ``job_type``; fail if they are not all there ``within`` seconds."""
        jobs: list[Job] = []
        deadline = time.monotonic() + within
        while len(jobs) < count:
            left = deadline - time.monotonic()
            # A request timeout of 0 means the gateway's default long poll, so stop well before that.
            if left < 0.05:
                break
            jobs += self.client.activate_jobs(
                job_type, worker=WORKER, timeout=timeout, max_jobs=count - len(jobs), request_timeout=left
            )
        assert len(jobs) == count, f"expected {count} job(s) of type {job_type!r} within {within}s, got {len(jobs)}"
        return jobs

    def activate_one(self, job_type: str, *, timeout: float = 30.0, within: float = 10.0) -> Job:
        """The one job of ``job_type``, activated for ``timeout`` seconds."""
        return self.activate(job_type, timeout=timeout, within=within)[0]

    def assert_none(self, job_type: str, *, within: float = 0.5) -> None:
        """Fail if any job of ``job_type`` becomes activatable within ``within`` seconds."""
        jobs = self.client.activate_jobs(job_type, worker=WORKER, timeout=30.0, max_jobs=10, request_timeout=within)
        assert jobs == [], f"expected no activatable job of type {job_type!r}, got {[job.key for job in jobs]}"


# Fixtures that reach into the project's own engine (its inspection API, or an engine of the test's own).
# A test that uses one is marked ``engine_inspection``, and `make conformance` deselects it when the suite
# runs against a Zeebe the user points it at.
ENGINE_FIXTURES = frozenset({"zeebe_engine", "records", "recording_engine", "tls_broker"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if ENGINE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.engine_inspection)


@pytest.fixture
def zeebe_settings(zeebe_address: str) -> ZeebeSettings:
    """Settings for the session's broker; plaintext, as for every loopback address."""
    return ZeebeSettings(address=zeebe_address)


@pytest.fixture
def zeebe_client(zeebe_settings: ZeebeSettings) -> Iterator[ZeebeClient]:
    with ZeebeClient(zeebe_settings) as client:
        yield client


@pytest.fixture
def client(zeebe_address: str) -> Iterator[ZeebeClient]:
    """A client of the session's Zeebe, for the lanes that name it ``client``."""
    with ZeebeClient(ZeebeSettings(address=zeebe_address)) as zeebe:
        yield zeebe


@pytest.fixture
def unique() -> UniqueNames:
    return UniqueNames(uuid.uuid4().hex[:12])


@pytest.fixture
def jobs(zeebe_client: ZeebeClient) -> Jobs:
    return Jobs(zeebe_client)
