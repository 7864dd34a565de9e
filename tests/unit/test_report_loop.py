"""The report loop's own channel (``grpc.aio``) is the one the worker's settings describe: it sends the OAuth
token and speaks TLS, so a report goes out once, on the loop, with nothing for the shared path to send again.
And a green pool's worker (threads patched into greenlets) keeps the report queue's threads instead."""

from __future__ import annotations

import subprocess
import sys
import types
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from tests.integration.test_auth import CLIENT_ID, TokenEndpoint, oauth_settings
from tests.unit.engine_jobs import EngineJobs
from tests.unit.test_worker import payload, register
from zeebe_celery import worker
from zeebe_celery.config import BridgeSettings, ZeebeSettings
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.green import green_threads
from zeebe_celery.report_loop import ReportLoop


def done() -> dict[str, bool]:
    return {"done": True}


def _reported_on_the_loop(engine: ZeebeEngine, settings: ZeebeSettings) -> list[Any]:
    """Run one job through a worker whose reports go on the loop; the CompleteJob calls the engine saw."""
    app = Celery("report-loop-tests", broker="memory://", set_as_current=False)
    worker.configure(app, zeebe=settings, bridge=BridgeSettings(report_concurrency=4))
    jobs = EngineJobs(engine)
    job_type = jobs.new_type("looped")
    task = register(app, job_type, done)
    job = payload(jobs, job_type)
    try:
        assert isinstance(worker.context_for(app).reports, ReportLoop)
        assert task.run(job) == "completed"
    finally:
        worker.close_contexts(app)
    assert jobs.state(job["key"]) is None, "the job was not completed"
    return [call for call in engine.faults.calls("CompleteJob") if call.request.jobKey == job["key"]]


@pytest.fixture
def secret() -> str:
    return f"s3cr3t-{uuid.uuid4().hex}"


@pytest.fixture
def token_endpoint(secret: str) -> Iterator[TokenEndpoint]:
    with TokenEndpoint(client_id=CLIENT_ID, client_secret=secret, access_token="the-token") as endpoint:
        yield endpoint


def test_the_loop_sends_the_oauth_token(token_endpoint: TokenEndpoint, secret: str) -> None:
    # An engine that takes calls without a token too, so that a report the loop sent bare would show.
    with ZeebeEngine() as engine:
        settings = oauth_settings(engine.address, token_endpoint, secret, insecure_connection=True)
        [call] = _reported_on_the_loop(engine, settings)
    assert call.metadata.get("authorization") == "Bearer the-token"


def test_the_loop_speaks_tls_to_a_gateway_it_trusts(tmp_path: Path) -> None:
    cert, key = tmp_path / "gateway.crt", tmp_path / "gateway.key"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost"]
    subprocess.run(
        [*request, "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    with ZeebeEngine(certificate=cert.read_bytes(), private_key=key.read_bytes()) as engine:
        calls = _reported_on_the_loop(engine, ZeebeSettings(address=engine.address, ca_certificate_path=cert))
    assert len(calls) == 1  # sent once, on the loop's own TLS channel


def test_threads_patched_by_a_green_pool_are_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not green_threads()
    patched = types.SimpleNamespace(is_module_patched=lambda name: name == "threading")
    monkeypatch.setitem(sys.modules, "gevent.monkey", patched)
    assert green_threads()
    monkeypatch.delitem(sys.modules, "gevent.monkey")
    monkeypatch.setitem(sys.modules, "eventlet.patcher", types.SimpleNamespace(is_monkey_patched=lambda name: True))
    assert green_threads()
