"""The test stack itself: the project's engine and a real redis-server, started the way every test does."""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import redis

from zeebe_celery.engine import EngineStateError, ZeebeEngine
from zeebe_celery.gateway.proto import gateway_pb2, gateway_pb2_grpc
from zeebe_celery.stack import redis as redis_launcher
from zeebe_celery.stack.process import PortClash, free_ports
from zeebe_celery.testing import RedisServer, StackError

pytestmark = pytest.mark.integration
pytest_plugins = ["pytester"]


def connection_refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# -- the engine --------------------------------------------------------------------------------------------


def test_engine_is_ready_with_a_healthy_leader_for_partition_one(zeebe_engine: ZeebeEngine) -> None:
    with grpc.insecure_channel(zeebe_engine.address) as channel:
        topology = gateway_pb2_grpc.GatewayStub(channel).Topology(gateway_pb2.TopologyRequest(), timeout=5)

    assert topology.gatewayVersion == "8.9.0"
    [broker] = topology.brokers
    [partition] = broker.partitions
    assert partition.partitionId == 1
    assert partition.role == gateway_pb2.Partition.PartitionBrokerRole.LEADER
    assert partition.health == gateway_pb2.Partition.PartitionBrokerHealth.HEALTHY
    assert (broker.host, broker.port) == ("127.0.0.1", zeebe_engine.port)


def test_engine_binds_loopback_only_by_default(zeebe_engine: ZeebeEngine) -> None:
    assert ZeebeEngine().host == "127.0.0.1"
    assert zeebe_engine.address == f"127.0.0.1:{zeebe_engine.port}"


@pytest.mark.engine_inspection
def test_engine_serves_its_inspection_as_json_on_the_monitoring_port() -> None:
    with ZeebeEngine(monitoring_port=0) as engine:
        base = f"http://127.0.0.1:{engine.monitoring_port}"
        with urllib.request.urlopen(f"{base}/ready", timeout=5) as response:
            assert json.load(response) == {"ready": True}
        with grpc.insecure_channel(engine.address) as channel:
            gateway_pb2_grpc.GatewayStub(channel).PublishMessage(
                gateway_pb2.PublishMessageRequest(name="hello", correlationKey="k", timeToLive=60_000), timeout=5
            )
        with urllib.request.urlopen(f"{base}/records?valueType=MESSAGE&intent=PUBLISHED", timeout=5) as response:
            [record] = json.load(response)

    assert record["value"]["name"] == "hello"
    assert record["value"]["correlationKey"] == "k"


@pytest.mark.engine_inspection
def test_engine_keeps_its_state_in_the_data_directory_across_a_restart(tmp_path: Path) -> None:
    bpmn = Path(__file__).resolve().parent.parent / "bpmn" / "one_task.bpmn"
    with ZeebeEngine(data_dir=tmp_path) as engine, grpc.insecure_channel(engine.address) as channel:
        stub = gateway_pb2_grpc.GatewayStub(channel)
        stub.DeployResource(
            gateway_pb2.DeployResourceRequest(
                resources=[gateway_pb2.Resource(name="one_task.bpmn", content=bpmn.read_bytes())]
            ),
            timeout=5,
        )
        created = stub.CreateProcessInstance(gateway_pb2.CreateProcessInstanceRequest(bpmnProcessId="one-task"))
    assert (tmp_path / "engine.db").is_file()

    with ZeebeEngine(data_dir=tmp_path) as engine, grpc.insecure_channel(engine.address) as channel:
        stub = gateway_pb2_grpc.GatewayStub(channel)
        request = gateway_pb2.ActivateJobsRequest(
            type="test-work", worker="w", timeout=30_000, maxJobsToActivate=1, requestTimeout=5_000
        )
        [batch] = list(stub.ActivateJobs(request, timeout=10))

    [job] = batch.jobs
    assert job.processInstanceKey == created.processInstanceKey


@pytest.mark.engine_inspection
def test_engine_starts_once_and_stops_twice_safely() -> None:
    engine = ZeebeEngine().start()
    port = engine.port

    with pytest.raises(EngineStateError, match="starts once"):
        engine.start()
    engine.stop()
    engine.stop()

    assert connection_refused(port)
    with pytest.raises(EngineStateError, match="not running"):
        _ = engine.address


@pytest.mark.engine_inspection
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_the_engine_command_prints_its_address_serves_and_exits_0_on_a_termination_signal(
    tmp_path: Path, stop: signal.Signals
) -> None:
    command = [sys.executable, "-m", "zeebe_celery.cli", "engine", "--port", "0", "--data-dir", str(tmp_path)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as engine:
        try:
            assert engine.stdout is not None
            line = engine.stdout.readline()
            address = line.split(" listening on ")[1].split()[0].rstrip(",")
            host, port = address.rsplit(":", 1)
            assert host == "127.0.0.1"
            with grpc.insecure_channel(address) as channel:
                topology = gateway_pb2_grpc.GatewayStub(channel).Topology(gateway_pb2.TopologyRequest(), timeout=10)
            assert topology.brokers[0].port == int(port)
            assert f"state in {tmp_path}" in line
        finally:
            engine.send_signal(stop)
            _, errors = engine.communicate(timeout=30)
    assert engine.returncode == 0, errors
    assert (tmp_path / "engine.db").is_file()


def test_the_engine_command_refuses_a_tls_certificate_without_its_key(tmp_path: Path) -> None:
    certificate = tmp_path / "cert.pem"
    certificate.write_text("not really")
    done = subprocess.run(
        [sys.executable, "-m", "zeebe_celery.cli", "engine", "--port", "0", "--tls-cert", str(certificate)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 64
    assert "--tls-cert and --tls-key go together" in done.stderr
    assert "Traceback" not in done.stderr


# -- Redis -------------------------------------------------------------------------------------------------


def test_redis_answers_ping(redis_server: RedisServer) -> None:
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    with redis.Redis.from_url(redis_server.url) as client:
        assert client.ping() is True


def test_redis_stops_and_starts_again_on_the_same_port() -> None:
    with RedisServer() as server, redis.Redis.from_url(server.url, socket_connect_timeout=2) as client:
        port = server.port
        client.set("before", "outage")

        server.stop()
        assert not server.running
        with pytest.raises(redis.ConnectionError):
            client.ping()
        assert connection_refused(port)

        server.start()
        assert server.port == port
        assert client.ping() is True
        assert client.get("before") is None  # a restarted server is empty


def test_missing_redis_server_binary_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(StackError, match=r"redis-server not found.*apt-get install redis-server"):
        RedisServer(binary=tmp_path / "no-such-redis-server").start()


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_redis_on_a_taken_port_fails_with_the_reason(taken_port: int) -> None:
    server = RedisServer(port=taken_port)

    with pytest.raises(PortClash, match="already in use"):
        server.start()
    assert not server.running


def test_redis_draws_another_port_when_its_first_is_taken(taken_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter([[taken_port]])
    monkeypatch.setattr(redis_launcher, "free_ports", lambda count: next(draws, None) or free_ports(count))

    with RedisServer() as server:
        assert server.port != taken_port
        with redis.Redis.from_url(server.url) as client:
            assert client.ping() is True


def test_a_forgotten_redis_server_is_stopped_when_collected() -> None:
    server = RedisServer().start()
    assert server._launched is not None
    pid, workdir = server._launched.pid, server._launched.workdir

    del server
    gc.collect()

    assert not process_exists(pid)
    assert not workdir.exists()


def test_a_redis_server_left_running_is_stopped_when_the_interpreter_exits() -> None:
    script = textwrap.dedent(
        """
        from zeebe_celery.testing import RedisServer
        server = RedisServer().start()
        print(server._launched.pid, server._launched.workdir, flush=True)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    pid, workdir = result.stdout.split()

    assert not process_exists(int(pid))
    assert not Path(workdir).exists()


# -- plugin ------------------------------------------------------------------------------------------------


def test_plugin_reuses_a_running_stack_named_in_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZEEBE_CELERY_TEST_ZEEBE_ADDRESS", "zeebe.invalid:26500")
    monkeypatch.setenv("ZEEBE_CELERY_TEST_REDIS_URL", "redis://redis.invalid:6379/3")
    pytester.makeconftest(
        """
        from zeebe_celery.engine import ZeebeEngine
        from zeebe_celery.testing import RedisServer

        def refuse(self):
            raise AssertionError(f"{type(self).__name__} was launched")

        ZeebeEngine.start = RedisServer.start = refuse
        """
    )
    pytester.makepyfile(
        """
        def test_addresses(zeebe_address, redis_url):
            assert zeebe_address == "zeebe.invalid:26500"
            assert redis_url == "redis://redis.invalid:6379/3"
        """
    )

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")

    result.assert_outcomes(passed=1)


def test_plugin_fixtures_start_the_stack_once_per_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import redis

        def test_first(redis_url, redis_server):
            assert redis_url == redis_server.url
            with redis.Redis.from_url(redis_url) as client:
                client.set("seen", "1")

        def test_second(redis_server):
            with redis.Redis.from_url(redis_server.url) as client:
                assert client.get("seen") == b"1"
        """
    )

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")

    result.assert_outcomes(passed=2)
