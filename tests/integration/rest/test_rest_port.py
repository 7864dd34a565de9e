"""The REST port itself: ``zeebe-celery engine --rest-port`` prints where it serves, ``ZeebeEngine`` refuses a
port it cannot bind and an engine without exported records, and the port closes when the engine stops."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from zeebe_celery.engine import EngineStateError, ZeebeEngine

pytestmark = pytest.mark.integration


def test_the_engine_command_serves_the_rest_api_on_its_port() -> None:
    command = [sys.executable, "-m", "zeebe_celery.cli", "engine", "--port", "0", "--rest-port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as engine:
        try:
            assert engine.stdout is not None
            line = engine.stdout.readline()
            found = re.search(r"REST API on (http://127\.0\.0\.1:\d+/v2)", line)
            assert found is not None, line
            topology = httpx.get(f"{found.group(1)}/topology", timeout=10).json()
            assert topology["brokers"][0]["port"] == int(line.split(" listening on ")[1].split()[0].rsplit(":", 1)[1])
        finally:
            engine.send_signal(signal.SIGTERM)
            _, errors = engine.communicate(timeout=30)
    assert engine.returncode == 0, errors


def test_a_busy_rest_port_is_refused_and_the_grpc_port_released() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        engine = ZeebeEngine(rest_port=taken.getsockname()[1])
        with pytest.raises(EngineStateError, match="cannot serve the REST API"):
            engine.start()


def test_the_rest_api_needs_the_exported_records() -> None:
    with pytest.raises(ValueError, match="records_limit"):
        ZeebeEngine(rest_port=0, records_limit=0)


def test_the_rest_port_closes_with_the_engine() -> None:
    with ZeebeEngine(rest_port=0) as engine:
        address = engine.rest_address
        assert httpx.get(f"{address}/topology", timeout=10).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{address}/topology", timeout=2)
    with pytest.raises(EngineStateError, match="no REST API"):
        _ = ZeebeEngine().rest_address


def test_a_long_poll_ends_when_the_engine_stops() -> None:
    answers: list[int] = []
    with ZeebeEngine(rest_port=0) as engine:
        poll = {"type": "never", "worker": "w", "timeout": 1_000, "maxJobsToActivate": 1, "requestTimeout": 60_000}
        address = engine.rest_address

        def long_poll() -> None:
            answers.append(httpx.post(f"{address}/jobs/activation", json=poll, timeout=90).status_code)

        poller = threading.Thread(target=long_poll)
        poller.start()
        # The poll is waiting once the engine counts it.
        rest = engine._rest
        assert rest is not None
        deadline = time.monotonic() + 10
        while rest.served.waiting == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert rest.served.waiting == 1
        started = time.monotonic()
    poller.join(timeout=10)
    assert not poller.is_alive()
    assert time.monotonic() - started < 5
    assert answers == [200]


def test_back_pressure_refuses_commands_but_never_completions_failures_or_reads() -> None:
    with ZeebeEngine(rest_port=0, max_in_flight=0) as engine, httpx.Client(base_url=engine.rest_address) as http:
        refused = http.post("/messages/publication", json={"name": "m"})
        assert refused.status_code == 503
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["title"] == "RESOURCE_EXHAUSTED"
        assert http.post("/jobs/1/completion").status_code == 404
        assert http.post("/jobs/1/failure").status_code == 404
        assert http.get("/topology").status_code == 200
        assert http.post("/process-instances/search").status_code == 200
