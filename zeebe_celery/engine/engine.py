"""``ZeebeEngine``: the engine as a service: the gRPC server, the clock that fires due timers, jobs
timeouts and message TTLs, the optional store, the optional REST API (v2) port and the optional HTTP inspection port.

It binds 127.0.0.1 and serves plaintext unless told otherwise; the inspection port binds its own host,
127.0.0.1 unless told otherwise, and wants the same token as the gateway. A data directory is locked
while the engine runs (``DataDirectoryInUse`` for a second engine on it). ``with ZeebeEngine() as engine:`` starts it
and ``engine.address`` is where clients connect.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from concurrent import futures
from pathlib import Path
from typing import Any, Self

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from zeebe_celery.engine.core import Clock
from zeebe_celery.engine.faults import BackPressure, Faults
from zeebe_celery.engine.feel import FeelLimits
from zeebe_celery.engine.inspection import incident_view, instance_view
from zeebe_celery.engine.lock import DataDirectoryLock
from zeebe_celery.engine.monitor import Monitor
from zeebe_celery.engine.records import RecordLog
from zeebe_celery.engine.rest import RestServer
from zeebe_celery.engine.rest.history import History
from zeebe_celery.engine.runtime import Runtime
from zeebe_celery.engine.server import MAX_WAITING_CALLS, GatewayServicer
from zeebe_celery.engine.store import Store
from zeebe_celery.gateway.proto import gateway_pb2, gateway_pb2_grpc

__all__ = ["EngineStateError", "ZeebeEngine"]

logger = logging.getLogger(__name__)

# Each long poll and each job stream holds a server thread while it waits; the servicer lets at most
# MAX_WAITING_CALLS of them wait, so the rest of the pool is there for every other call.
_MAX_WORKERS = MAX_WAITING_CALLS + 100
# The services the standard gRPC health service reports on, as Zeebe's gateway does: the whole server ("")
# and the gateway protocol.
HEALTH_SERVICES = ("", gateway_pb2.DESCRIPTOR.services_by_name["Gateway"].full_name)
# The timer thread sleeps until the next due item, but never longer than this, so a clock that is moved
# (tests inject one) is noticed.
_MAX_IDLE_SECONDS = 1.0
# Keepalive pings are welcome as often as every second, with or without calls, so a client set to a short
# keepalive notices a dead link within seconds instead of being sent away with "too_many_pings" (gRPC's
# default policy allows one ping per 5 minutes; Zeebe's gateway one per 30 s).
_SERVER_OPTIONS = [
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 1000),
    ("grpc.http2.max_ping_strikes", 0),
]


class EngineStateError(RuntimeError):
    """The engine was used in a state that does not allow it (started twice, used after stop)."""


class _State(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class ZeebeEngine:
    """An open-source, Zeebe-compatible engine for development and tests (production uses Camunda 8)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | Path | None = None,
        certificate: bytes | None = None,
        private_key: bytes | None = None,
        token: str | None = None,
        max_in_flight: int | None = None,
        monitoring_port: int | None = None,
        rest_port: int | None = None,
        monitoring_host: str = "127.0.0.1",
        records_limit: int = 100_000,
        clock: Clock | None = None,
        feel_limits: FeelLimits | None = None,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.certificate = certificate
        self.private_key = private_key
        self.token = token
        self.monitoring_port_requested = monitoring_port
        self.monitoring_host = monitoring_host
        if rest_port is not None and records_limit <= 0:
            # The REST API's searches read what the engine exports, as Camunda's read its exporter's.
            raise ValueError("the REST API needs the exported records: records_limit must be above 0")
        self.rest_port_requested = rest_port
        self._rest: RestServer | None = None
        self.runtime = Runtime(clock=clock or wall_clock_ms, records_limit=records_limit)
        if feel_limits is not None:  # how far one FEEL evaluation may go (steps, value size, regex time)
            self.runtime.feel_limits = feel_limits
        self.faults = Faults()
        self.back_pressure = BackPressure(max_in_flight)
        self._state = _State.NEW
        self._server: grpc.Server | None = None
        self._health = health.HealthServicer()
        self._port = 0
        self._timer: threading.Thread | None = None
        self._stopping = threading.Event()
        self._store: Store | None = None
        self._monitor: Monitor | None = None
        self._lock: DataDirectoryLock | None = None
        self._history: History | None = None
        self._history_lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start serving. Raises EngineStateError when started twice or a port cannot be bound, and
        DataDirectoryInUse / DataDirectoryError when the data directory is another engine's or unusable."""
        if self._state is not _State.NEW:
            raise EngineStateError(f"the engine is {self._state.value}; an engine starts once")
        try:
            return self._start()
        except BaseException:
            self._stopping.set()
            if self._server is not None:
                self._server.stop(None)
            if self._rest is not None:
                self._rest.stop()
            self._release()
            raise

    def _start(self) -> Self:
        if self.data_dir is not None:
            self._lock = DataDirectoryLock(self.data_dir).acquire()
            self._store = Store(self.data_dir)
            self._store.load(self.runtime)
            self.runtime.persistence = self._store
        servicer = GatewayServicer(
            self.runtime,
            host=self.host,
            port=lambda: self._port,
            faults=self.faults,
            back_pressure=self.back_pressure,
            token=self.token,
        )
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=_MAX_WORKERS, thread_name_prefix="engine-rpc"),
            options=_SERVER_OPTIONS,
        )
        gateway_pb2_grpc.add_GatewayServicer_to_server(servicer, server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        target = f"{self.host}:{self.requested_port}"
        if self.certificate is not None and self.private_key is not None:
            credentials = grpc.ssl_server_credentials([(self.private_key, self.certificate)])
            self._port = server.add_secure_port(target, credentials)
        else:
            self._port = server.add_insecure_port(target)
        if self._port == 0:
            raise EngineStateError(f"cannot listen on {target}")
        if self.rest_port_requested is not None:
            try:
                self._rest = RestServer(
                    self.runtime,
                    host=self.host,
                    port=self.rest_port_requested,
                    token=self.token,
                    grpc_port=lambda: self._port,
                    cluster_id=servicer.cluster_id,
                    back_pressure=self.back_pressure,
                    history=self.history(),
                )
            except OSError as exc:
                where = f"{self.host}:{self.rest_port_requested}"
                raise EngineStateError(f"cannot serve the REST API on {where}: {exc.strerror}") from None
        for service in HEALTH_SERVICES:
            self._health.set(service, health_pb2.HealthCheckResponse.SERVING)
        server.start()
        self._server = server
        self._timer = threading.Thread(target=self._fire_due, name="engine-timers", daemon=True)
        self._timer.start()
        if self.monitoring_port_requested is not None:
            try:
                monitor = Monitor(
                    self, host=self.monitoring_host, port=self.monitoring_port_requested, token=self.token
                )
            except OSError as exc:
                where = f"{self.monitoring_host}:{self.monitoring_port_requested}"
                raise EngineStateError(f"cannot listen on {where} for inspection: {exc.strerror}") from None
            self._monitor = monitor.start()
        if self._rest is not None:
            self._rest.start()
        self._state = _State.RUNNING
        logger.info("Zeebe-compatible engine listening on %s", self.address)
        return self

    def stop(self, grace: float = 1.0) -> None:
        """Stop serving; safe to call twice."""
        if self._state is not _State.RUNNING:
            self._state = _State.STOPPED
            return
        self._state = _State.STOPPED
        # Health checks answer NOT_SERVING while the calls in flight finish, and for good after.
        self._health.enter_graceful_shutdown()
        self._stopping.set()
        with self.runtime.lock:
            self.runtime.due_changed.notify_all()
        if self._monitor is not None:
            self._monitor.stop()
        if self._rest is not None:
            self._rest.stop()
        assert self._server is not None
        self._server.stop(grace).wait(grace + 5)
        if self._timer is not None:
            self._timer.join(timeout=5)
        self._release()

    def _release(self) -> None:
        """Close the store, then give up the directory's lock: after a stop, or a start that failed."""
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"ZeebeEngine({self.host}:{self._port or self.requested_port}, {self._state.value})"

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> str:
        """``host:port`` for clients."""
        if self._state is not _State.RUNNING:
            raise EngineStateError("the engine is not running")
        return f"{self.host}:{self._port}"

    @property
    def rest_port(self) -> int | None:
        return self._rest.port if self._rest is not None else None

    @property
    def rest_address(self) -> str:
        """The REST API's base URL, ``http://host:port/v2``; raises EngineStateError without a REST port."""
        if self._state is not _State.RUNNING or self._rest is None:
            raise EngineStateError("the engine serves no REST API (start it with rest_port)")
        return f"http://{self.host}:{self._rest.port}/v2"

    @property
    def monitoring_port(self) -> int | None:
        return self._monitor.port if self._monitor is not None else None

    @property
    def web_url(self) -> str | None:
        """The web UI's address (the inspection port's ``/``); None without an inspection port."""
        if self._monitor is None:
            return None
        host = self._monitor.host
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host  # noqa: S104
        return f"http://{shown}:{self._monitor.port}/"

    @property
    def monitoring_address(self) -> tuple[str, int] | None:
        """The inspection port's bound ``(host, port)``; None without one."""
        return (self._monitor.host, self._monitor.port) if self._monitor is not None else None

    # -- inspection, for tests -----------------------------------------------------------------------

    def history(self) -> History:
        """The read side the REST API searches and the web UI shows, kept from the exported records. Made on
        first use (a REST port makes it at start; the web UI when first opened), so an engine nobody reads
        builds no rows on its hot path."""
        with self._history_lock:
            if self._history is None:
                self._history = History(self.runtime)
            return self._history

    @property
    def records(self) -> RecordLog:
        """The records the engine exported (``find``, ``wait_for``), for assertions in tests."""
        return self.runtime.records

    def incidents(self) -> list[dict[str, Any]]:
        """The open incidents: key, errorType, errorMessage, elementId, processInstanceKey, jobKey, ..."""
        return incident_view(self.runtime)

    def instance(self, key: int) -> dict[str, Any] | None:
        """An element instance (a process instance's key gives the instance) with its state and the variables
        it sees; None once it has ended (ended instances are dropped, as Zeebe does)."""
        return instance_view(self.runtime, key)

    def wait_for_incident(self, *, within: float = 30.0, **fields: Any) -> dict[str, Any]:
        """The first INCIDENT CREATED record whose value has ``fields``; raises TimeoutError."""
        return self._wait_one("INCIDENT", "CREATED", within, fields)

    def wait_for_completion(self, process_instance_key: int, *, within: float = 30.0) -> dict[str, Any]:
        """The record of the process instance's completion; raises TimeoutError."""
        fields = {"processInstanceKey": process_instance_key, "bpmnElementType": "PROCESS"}
        return self._wait_one("PROCESS_INSTANCE", "ELEMENT_COMPLETED", within, fields)

    def _wait_one(self, value_type: str, intent: str, within: float, fields: dict[str, Any]) -> dict[str, Any]:
        found = self.runtime.records.wait_for(value_type, intent, within=within, **fields)
        if not found:
            raise TimeoutError(f"no {value_type} {intent} record with {fields} within {within:g}s")
        return found[0]

    def _fire_due(self) -> None:
        runtime = self.runtime
        while not self._stopping.is_set():
            with runtime.lock:
                now = runtime.now()
                next_due = runtime.next_due()
                if next_due is not None and next_due <= now:
                    try:
                        runtime.fire_due(now)
                    except Exception:
                        logger.exception("Firing due timers failed")
                    continue
                wait = _MAX_IDLE_SECONDS if next_due is None else min((next_due - now) / 1000, _MAX_IDLE_SECONDS)
                runtime.due_changed.wait(max(wait, 0.001))
