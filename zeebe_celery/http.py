"""The poller's HTTP endpoint: ``/healthz`` for probes and ``/metrics`` for Prometheus."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

__all__ = ["HealthServer", "PollerHealth"]

logger = logging.getLogger(__name__)


@dataclass
class PollerHealth:
    """What /healthz reports: whether the gateway and the Celery broker answered lately."""

    gateway: bool = False
    broker: bool = False
    checked_at: float = 0.0
    details: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.gateway and self.broker


class HealthServer:
    """Serves health and metrics on ``host:port`` from a daemon thread; port 0 picks a free port. It binds
    loopback unless told otherwise: a container whose probes come from outside passes ``0.0.0.0``.

    ``health`` returns (ok, details); /healthz answers 200 when ok and 503 otherwise, with the details
    as JSON.
    """

    def __init__(
        self,
        health: Callable[[], tuple[bool, dict[str, Any]]],
        *,
        host: str = "127.0.0.1",
        port: int = 9100,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self._health = health
        self._registry = registry
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("http: %s", format % args)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        """The address bound."""
        return str(self._server.server_address[0])

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)
        self._thread.start()
        logger.info("serving /healthz and /metrics on %s:%d", self.host, self.port)

    def stop(self) -> None:
        """Stop serving; safe to call twice."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?", 1)[0]
        if path == "/metrics":
            body = generate_latest(self._registry)
            self._send(request, 200, CONTENT_TYPE_LATEST, body)
        elif path in ("/healthz", "/health", "/readyz"):
            ok, details = self._health()
            payload = {"status": "ok" if ok else "unavailable", "time": time.time(), **details}
            self._send(request, 200 if ok else 503, "application/json", json.dumps(payload).encode())
        else:
            self._send(request, 404, "text/plain", b"not found\n")

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, content_type: str, body: bytes) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
