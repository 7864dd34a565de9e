"""The engine's doors: the inspection port wants the gateway's token, binds loopback unless told, serves
from a bounded pool with timeouts and a normal backlog, and answers 400 to what it cannot read; a data
directory belongs to one engine at a time."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from tests.unit.engine.bpmn_builders import end_event, flows, process, service_task, start_event
from zeebe_celery.engine import EngineStateError, ZeebeEngine, monitor
from zeebe_celery.engine.lock import DataDirectoryInUse
from zeebe_celery.engine.monitor import Monitor
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub

TOKEN = "s3cr3t-token-for-the-doors"
ONE_TASK = process("one", start_event(), service_task("task", "work"), end_event(), flows("start", "task", "end"))


def get(url: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.load(exc)


@pytest.fixture(scope="module")
def guarded() -> Iterator[tuple[ZeebeEngine, str, int]]:
    """An engine with a token, a process instance holding a secret variable, and its inspection URL."""
    with ZeebeEngine(token=TOKEN, monitoring_port=0) as engine, grpc.insecure_channel(engine.address) as channel:
        stub = GatewayStub(channel)
        metadata = [("authorization", f"Bearer {TOKEN}")]
        stub.DeployResource(
            pb.DeployResourceRequest(resources=[pb.Resource(name="one.bpmn", content=ONE_TASK)]), metadata=metadata
        )
        created = stub.CreateProcessInstance(
            pb.CreateProcessInstanceRequest(bpmnProcessId="one", version=-1, variables='{"password": "hunter2"}'),
            metadata=metadata,
        )
        yield engine, f"http://127.0.0.1:{engine.monitoring_port}", created.processInstanceKey


@pytest.mark.parametrize("path", ["/records", "/records?valueType=VARIABLE", "/incidents", "/instances/{key}"])
@pytest.mark.parametrize("token", [None, "wrong", TOKEN + "x", ""], ids=["none", "wrong", "longer", "empty"])
def test_the_inspection_port_refuses_a_missing_or_wrong_token(
    guarded: tuple[ZeebeEngine, str, int], path: str, token: str | None
) -> None:
    _, base, key = guarded
    status, body = get(base + path.format(key=key), token)
    assert status == 401
    assert "hunter2" not in json.dumps(body)


def test_the_inspection_port_serves_the_holder_of_the_token(guarded: tuple[ZeebeEngine, str, int]) -> None:
    _, base, key = guarded
    status, records = get(base + "/records?valueType=VARIABLE", TOKEN)
    assert status == 200
    assert [r["value"]["value"] for r in records] == ['"hunter2"']
    status, instance = get(base + f"/instances/{key}", TOKEN)
    assert status == 200
    assert instance["variables"] == {"password": "hunter2"}


def test_ready_answers_without_the_token_and_tells_nothing_else(guarded: tuple[ZeebeEngine, str, int]) -> None:
    _, base, _ = guarded
    assert get(base + "/ready") == (200, {"ready": True})


def test_the_401_names_the_bearer_scheme(guarded: tuple[ZeebeEngine, str, int]) -> None:
    _, base, _ = guarded
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(base + "/incidents", timeout=5)
    with caught.value as error:
        assert error.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_inspection_port_binds_loopback_even_when_the_gateway_binds_every_address() -> None:
    with ZeebeEngine(host="0.0.0.0", monitoring_port=0) as engine:  # noqa: S104 - the point of the test
        assert engine.monitoring_address == ("127.0.0.1", engine.monitoring_port)
    with ZeebeEngine(monitoring_host="0.0.0.0", monitoring_port=0) as engine:  # noqa: S104
        assert engine.monitoring_address == ("0.0.0.0", engine.monitoring_port)  # noqa: S104
        assert engine.address.startswith("127.0.0.1:")


@pytest.fixture(scope="module")
def open_monitor() -> Iterator[str]:
    with ZeebeEngine(monitoring_port=0) as engine:
        yield f"http://127.0.0.1:{engine.monitoring_port}"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/records?since=abc", "since must be a record position"),
        ("/records?since=-1", "since must be a record position"),
        ("/records?since=" + "9" * 40, "since must be a record position"),
        ("/records?since=1&since=2", "since is given twice"),
        ("/records?processInstanceKey=1e999", "is not a finite number"),
        ("/records?processInstanceKey=NaN", "is not a finite number"),
        ("/records?a=1&&b=2", "the query string is malformed"),
        ("/incidents?x=1", "/incidents takes no parameters"),
        ("/instances/abc", "an element instance key is a non-negative integer"),
        ("/instances/" + "9" * 400, "an element instance key is a non-negative integer"),
    ],
)
def test_a_query_the_monitor_cannot_read_is_answered_400_with_the_reason(
    open_monitor: str, path: str, reason: str
) -> None:
    status, body = get(open_monitor + path)
    assert status == 400
    assert reason in body["error"]


def test_good_queries_still_answer_200(open_monitor: str) -> None:
    assert get(open_monitor + "/records?since=0&valueType=JOB&processInstanceKey=1") == (200, [])
    assert get(open_monitor + "/instances/123") == (404, {"error": "no such element instance"})


def _connect(port: int, *, timeout: float) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def _pool_threads(port: int) -> int:
    return sum(t.name.startswith(f"engine-monitor-{port}_") for t in threading.enumerate())


def test_idle_connections_hold_at_most_the_pool_are_refused_past_the_queue_and_time_out() -> None:
    engine = ZeebeEngine()
    server = Monitor(engine, socket_timeout=0.5).start()
    idle: list[socket.socket] = []
    try:
        # More silent clients than the pool and its queue hold.
        for _ in range(monitor.WORKERS + monitor.QUEUED + 5):
            idle.append(_connect(server.port, timeout=5))
        time.sleep(0.2)
        assert _pool_threads(server.port) == monitor.WORKERS
        # The ones past the queue were answered 503 at once rather than left hanging.
        refused = [sock.recv(64) for sock in idle[-5:]]
        assert all(answer.startswith(b"HTTP/1.0 503") for answer in refused)
        # Silent clients are dropped after the socket timeout (the handler answers 408 or just closes).
        for sock in idle[: monitor.WORKERS]:
            answer = sock.recv(1024)
            assert answer == b"" or b"408" in answer.split(b"\r\n", 1)[0]
        deadline = time.monotonic() + 10
        while True:
            try:
                assert get(f"http://127.0.0.1:{server.port}/ready") == (200, {"ready": True})
                break
            except (urllib.error.URLError, TimeoutError, ConnectionError):
                assert time.monotonic() < deadline
    finally:
        for sock in idle:
            sock.close()
        server.stop()


def test_the_listen_backlog_holds_a_burst_of_connections_before_any_is_accepted() -> None:
    # Not started: nobody accepts, so only the kernel's backlog holds the connections (5 by default).
    server = Monitor(ZeebeEngine())
    burst: list[socket.socket] = []
    try:
        for _ in range(100):
            burst.append(_connect(server.port, timeout=2))
    finally:
        for sock in burst:
            sock.close()
        server.stop()
    assert len(burst) == 100


# -- the data directory ------------------------------------------------------------------------------------


def test_a_second_engine_on_a_data_directory_is_refused_and_the_first_serves_on(tmp_path: Path) -> None:
    with ZeebeEngine(data_dir=tmp_path) as first:
        second = ZeebeEngine(data_dir=tmp_path)
        with pytest.raises(DataDirectoryInUse, match=r"in use by another engine \(pid \d+\)"):
            second.start()
        with grpc.insecure_channel(first.address) as channel:
            answer = GatewayStub(channel).PublishMessage(pb.PublishMessageRequest(name="m", correlationKey="k"))
        assert answer.key > 0
    # Once the first stops, the directory is free again.
    with ZeebeEngine(data_dir=tmp_path) as again:
        assert again.records is not None


def test_an_engine_that_fails_to_start_gives_its_data_directory_back(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        clash = ZeebeEngine(data_dir=tmp_path, monitoring_port=taken.getsockname()[1])
        with pytest.raises(EngineStateError, match="for inspection"):
            clash.start()
    with ZeebeEngine(data_dir=tmp_path):
        pass
