"""Fixtures for the unit lane: the session's engine with no fault left over from another test, real jobs
on it, a client on it that retries fast, a real OAuth token endpoint on 127.0.0.1, and an environment
free of the developer's own ZEEBE_* and CAMUNDA_* settings.
"""

from __future__ import annotations

import http.server
import json
import os
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import _state

from tests.unit.engine_jobs import EngineJobs
from zeebe_celery.config import ZeebeSettings
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.faults import Faults
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.gateway.retry import RetryPolicy


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No ZEEBE_* or CAMUNDA_* variable set, and a working directory without a .env file."""
    for name in list(os.environ):
        if name.startswith(("ZEEBE_", "CAMUNDA_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def engine(zeebe_engine: ZeebeEngine) -> Iterator[ZeebeEngine]:
    """The session's engine, its faults and recorded calls cleared before and after the test."""
    zeebe_engine.faults.reset()
    yield zeebe_engine
    zeebe_engine.faults.reset()


@pytest.fixture
def faults(engine: ZeebeEngine) -> Faults:
    """The engine's fault injection, with no rule and no recorded call from another test."""
    return engine.faults


@pytest.fixture
def jobs(engine: ZeebeEngine) -> EngineJobs:
    return EngineJobs(engine)


@pytest.fixture
def job_type(jobs: EngineJobs) -> str:
    """This test's own job type, with a one-task process deployed for it."""
    return jobs.new_type("charge")


@pytest.fixture
def job_key(jobs: EngineJobs, job_type: str) -> int:
    """The key of an activated job of this test's own process."""
    return jobs.one(job_type).key


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    """A plain Redis client on the session's Redis, to look at what the bridge wrote there."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def client(engine: ZeebeEngine, clean_env: Path) -> Iterator[ZeebeClient]:
    """A plaintext client on the engine whose retries take milliseconds, within 2 s."""
    with ZeebeClient(
        ZeebeSettings(address=engine.address), retry=RetryPolicy(initial=0.001, maximum=0.01, budget=2)
    ) as zeebe:
        yield zeebe


class TokenServer:
    """A real OAuth client-credentials endpoint: ``POST /token`` answers ``token-1``, ``token-2``, ...

    ``status`` other than 200 makes it refuse, ``body`` replaces the JSON answer, ``delay`` slows every
    answer down; ``forms`` holds every request's form fields.
    """

    def __init__(self) -> None:
        self.status = 200
        self.expires_in: object = 300
        self.body: bytes | None = None
        self.delay = 0.0
        self.forms: list[dict[str, str]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                with server._lock:
                    server.forms.append(dict(urllib.parse.parse_qsl(body)))
                    count = len(server.forms)
                    status = server.status
                time.sleep(server.delay)
                payload = (
                    {"access_token": f"token-{count}", "token_type": "Bearer", "expires_in": server.expires_in}
                    if status == 200
                    else {"error": "invalid_client"}
                )
                data = server.body if server.body is not None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="token-server", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/token"

    @property
    def fetches(self) -> int:
        with self._lock:
            return len(self.forms)

    def __enter__(self) -> TokenServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


@pytest.fixture
def token_server() -> Iterator[TokenServer]:
    with TokenServer() as server:
        yield server


@pytest.fixture(autouse=True)
def isolated_celery_apps() -> Iterator[None]:
    """Tasks defined by one test do not become tasks of the apps later tests create."""
    finalizers = set(_state._on_app_finalizers)
    yield
    _state._on_app_finalizers.clear()
    _state._on_app_finalizers.update(finalizers)
