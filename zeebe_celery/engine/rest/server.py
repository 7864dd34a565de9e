"""The Orchestration Cluster REST API (v2) on a port of its own: an HTTP server from the standard library
with a bounded pool of threads, routing each request to its handler and answering errors as the API's
problem documents. Authentication matches the gRPC port's: none, or ``Authorization: Bearer <token>``."""

from __future__ import annotations

import hmac
import json
import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

from zeebe_celery.engine.faults import BackPressure
from zeebe_celery.engine.rest import events, incidents, instances, jobs, resources, user_tasks
from zeebe_celery.engine.rest.call import Call, Route, Served
from zeebe_celery.engine.rest.history import History
from zeebe_celery.engine.rest.problems import Problem
from zeebe_celery.engine.runtime import Runtime

__all__ = ["MAX_BODY_BYTES", "RestServer"]

logger = logging.getLogger(__name__)

ROUTES: list[Route] = [
    *resources.ROUTES,
    *instances.ROUTES,
    *jobs.ROUTES,
    *events.ROUTES,
    *incidents.ROUTES,
    *user_tasks.ROUTES,
]
# Requests larger than this are refused (413) before they are read.
MAX_BODY_BYTES = 32 * 1024 * 1024
# Threads serving requests; long polls may hold at most _MAX_WAITING of them, so others always find one.
_POOL_SIZE = 64
_MAX_WAITING = 48
# A client that stalls mid-request is dropped after this long.
_SOCKET_TIMEOUT_SECONDS = 30.0


class _PooledHTTPServer(HTTPServer):
    """Each connection is served by one thread of a bounded pool (ThreadingHTTPServer's are unbounded)."""

    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], pool_size: int) -> None:
        # Before binding: a port that cannot be bound closes the server, and with it the pool.
        self.pool = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="engine-rest")
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.pool.submit(self._serve, request, client_address)

    def _serve(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:  # one broken connection must not end the pool's thread
            logger.exception("REST request from %s failed", client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)


def _handler_class(served: Served, token: str | None) -> type[BaseHTTPRequestHandler]:
    # Compared in constant time, as the gRPC port and the inspection port compare it.
    expected = f"Bearer {token}".encode() if token is not None else None

    class Handler(BaseHTTPRequestHandler):
        timeout = _SOCKET_TIMEOUT_SECONDS
        server_version = "zeebe-celery-engine"

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_PATCH(self) -> None:
            self._dispatch("PATCH")

        def do_PUT(self) -> None:
            self._dispatch("PUT")

        def do_DELETE(self) -> None:
            self._dispatch("DELETE")

        def _dispatch(self, method: str) -> None:
            path = urlsplit(self.path).path
            try:
                status, body = self._answer(method, path)
            except Problem as problem:
                self._send(problem.status, problem.document(path), "application/problem+json")
                return
            except Exception:
                logger.exception("REST %s %s failed", method, path)
                failed = Problem(500, "INTERNAL", f"Unexpected error while handling {method} {path}")
                self._send(500, failed.document(path), "application/problem+json")
                return
            self._send(status, body, "application/json")

        def _answer(self, method: str, path: str) -> tuple[int, Any]:
            if expected is not None and not hmac.compare_digest(
                self.headers.get("Authorization", "").encode(), expected
            ):
                raise Problem(401, "Unauthorized", "Expected a valid bearer token in the Authorization header")
            route, params = _route(method, path)
            raw = self._read_body()
            call = Call(served, path, params, raw, self.headers.get("Content-Type", "application/json").strip())
            if not route.rpc:
                return route.handler(call)
            if not served.back_pressure.acquire(route.rpc):
                raise Problem(
                    503,
                    "RESOURCE_EXHAUSTED",
                    f"Expected to handle REST API request {method} {path}, but the "
                    "broker is overloaded (back-pressure)",
                )
            held = True
            try:
                if route.waits:
                    served.back_pressure.release()
                    held = False
                return route.handler(call)
            finally:
                if held:
                    served.back_pressure.release()

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                raise Problem(411, "Length Required", "Send the request body with a Content-Length")
            length_text = self.headers.get("Content-Length", "0")
            if not length_text.isdigit():
                raise Problem(400, "Bad Request", f"Invalid Content-Length '{length_text}'")
            length = int(length_text)
            if length > MAX_BODY_BYTES:
                raise Problem(413, "Payload Too Large", f"The request body exceeds {MAX_BODY_BYTES} bytes")
            return self.rfile.read(length) if length else b""

        def _send(self, status: int, body: Any, content_type: str) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            try:
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                logger.info("REST client went away before its answer to %s", self.path)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("REST %s", format % args)

    return Handler


def _route(method: str, path: str) -> tuple[Route, dict[str, str]]:
    allowed = False
    for route in ROUTES:
        match = route.pattern.match(path)
        if match is None:
            continue
        if route.method == method:
            return route, match.groupdict()
        allowed = True
    if allowed:
        raise Problem(405, "Method Not Allowed", f"Method '{method}' is not supported for {path}")
    raise Problem(404, "Not Found", f"No endpoint {method} {path}.")


class RestServer:
    """Serves the REST API from a daemon thread; port 0 picks a free port."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        grpc_port: Callable[[], int] = lambda: 0,
        cluster_id: str = "",
        back_pressure: BackPressure | None = None,
        history: History | None = None,
    ) -> None:
        """``history``: the read side the searches use (one of its own unless given)."""
        served = Served(
            runtime,
            history if history is not None else History(runtime),
            back_pressure or BackPressure(),
            host,
            grpc_port,
            cluster_id or str(uuid.uuid4()),
            _MAX_WAITING,
        )
        self.served = served
        self._server = _PooledHTTPServer((host, port), _handler_class(served, token), _POOL_SIZE)
        self._thread = threading.Thread(target=self._server.serve_forever, name="engine-rest", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port; a server never started (its engine failed to start) only closes."""
        self.served.stopping.set()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
