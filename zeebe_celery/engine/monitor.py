"""The engine's inspection over HTTP, as JSON, for tests and humans on another process, and its web UI
(``/`` and ``/ui/``, see :mod:`zeebe_celery.engine.web`).

``GET /ready`` answers 200 once the engine serves. ``GET /records`` lists exported records, filtered by
``valueType``, ``intent``, ``since`` (a position) and any value field (``processInstanceKey=...``).
``GET /incidents`` lists open incidents. ``GET /instances/<key>`` gives an element instance's state and
the variables it sees. ``GET /processes`` lists the deployed versions with their instance counts, ``GET
/process-instances/<key>`` a process instance whole (live or retained: its path, elements, jobs, waits,
incidents and variables), ``GET /user-tasks`` the open user tasks: what the web UI's pages show.

What it serves includes every variable, so it is guarded like the gateway: it binds 127.0.0.1 unless told
otherwise, and with a token every endpoint but ``/ready`` wants ``Authorization: Bearer <token>`` (401
otherwise). A query it cannot read is answered 400. Connections are served by a fixed pool of threads,
each with a socket timeout; past what the pool can queue, a connection is answered 503 at once.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Protocol, Self
from urllib.parse import parse_qsl, urlsplit

from zeebe_celery.engine.inspection import (
    incident_view,
    instance_view,
    process_instance_view,
    process_view,
    user_tasks_view,
)
from zeebe_celery.engine.records import matches
from zeebe_celery.engine.rest.history import History
from zeebe_celery.engine.runtime import Runtime
from zeebe_celery.engine.web import WebUI
from zeebe_celery.engine.web.context import Response

__all__ = ["Monitor"]

logger = logging.getLogger(__name__)

# Threads serving connections, and connections accepted but waiting for one; past both, 503.
WORKERS = 8
QUEUED = 32
# Seconds a connection may stay silent (reading the request, or a client not reading the answer).
SOCKET_TIMEOUT = 10.0
# The listen backlog: what the kernel holds before the server accepts (socketserver's default is 5).
BACKLOG = 128
# A key is an int64.
_MAX_KEY_DIGITS = 19
# What the web UI's pages may load and where their forms may post: their own origin only.
_WEB_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
# The largest form a web UI action may post.
_MAX_FORM_BYTES = 1024 * 1024


class _Engine(Protocol):
    runtime: Runtime

    def history(self) -> History: ...


class BadRequest(ValueError):
    """A query the monitor cannot read; its text is the 400 answer's error."""


class _NotFinite(ValueError):
    pass


def _refuse_non_finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text)
    return value


def _refuse_constant(name: str) -> Any:
    raise _NotFinite(name)


def field_value(name: str, text: str) -> Any:
    """A filter's value: JSON when it reads as JSON (``123``, ``true``), else the text itself. A number
    that is not finite (``1e999``, ``NaN``) is refused, as everywhere in the engine."""
    try:
        return json.loads(text, parse_float=_refuse_non_finite, parse_constant=_refuse_constant)
    except _NotFinite:
        raise BadRequest(f"{name}={text[:40]} is not a finite number") from None
    except (ValueError, RecursionError):
        return text


def parse_query(query: str) -> dict[str, str]:
    """The query's parameters, each given once; raises BadRequest."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise BadRequest("the query string is malformed") from None
    found: dict[str, str] = {}
    for name, value in pairs:
        if name in found:
            raise BadRequest(f"{name} is given twice")
        found[name] = value
    return found


def records_query(runtime: Runtime, query: dict[str, str]) -> list[Any]:
    value_type, intent = query.pop("valueType", None), query.pop("intent", None)
    since_text = query.pop("since", "0")
    if not since_text.isdigit() or len(since_text) > _MAX_KEY_DIGITS:
        raise BadRequest(f"since must be a record position (a non-negative integer), not {since_text[:40]!r}")
    fields = {name: field_value(name, text) for name, text in query.items()}
    return [r for r in runtime.records.since(int(since_text)) if matches(r, value_type, intent, fields)]


def _element_key(text: str) -> int:
    if not text.isdigit() or len(text) > _MAX_KEY_DIGITS:
        raise BadRequest(f"an element instance key is a non-negative integer, not {text[:40]!r}")
    return int(text)


class _PooledServer(HTTPServer):
    """An HTTPServer that hands each connection to a fixed pool, and refuses what it cannot queue."""

    request_queue_size = BACKLOG
    # None until bound: HTTPServer closes the server itself when binding fails.
    _pool: ThreadPoolExecutor | None = None

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._pool = ThreadPoolExecutor(
            max_workers=WORKERS, thread_name_prefix=f"engine-monitor-{self.server_address[1]}"
        )
        self._slots = threading.BoundedSemaphore(WORKERS + QUEUED)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._refuse(request)
            return
        assert self._pool is not None
        self._pool.submit(self._serve, request, client_address)

    def _serve(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except OSError as exc:
            # A client that went away or stayed silent past the timeout is no error of the engine's.
            logger.debug("Monitor connection from %s ended: %s", client_address, exc)
        except Exception:
            logger.exception("Monitor request from %s failed", client_address)
        finally:
            self.shutdown_request(request)
            self._slots.release()

    def _refuse(self, request: socket.socket) -> None:
        try:
            request.settimeout(1.0)
            request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            pass
        self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


class Monitor:
    """Serves the inspection endpoints from a daemon thread; port 0 picks a free port."""

    def __init__(
        self,
        engine: _Engine,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        socket_timeout: float = SOCKET_TIMEOUT,
    ) -> None:
        """Bind ``host:port`` (raises OSError when it cannot); serve once started."""
        runtime = engine.runtime
        expected = f"Bearer {token}".encode() if token is not None else None
        web = WebUI(runtime, engine.history, token=token)

        class Handler(BaseHTTPRequestHandler):
            timeout = socket_timeout

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                if not web.serves(url.path):
                    self._send(405, {"error": f"{url.path[:100]} takes GET only"})
                    return
                length = self.headers.get("Content-Length", "0")
                if not length.isdigit() or int(length) > _MAX_FORM_BYTES:
                    self._send(413, {"error": f"a form is at most {_MAX_FORM_BYTES} bytes, with a Content-Length"})
                    return
                body = self.rfile.read(int(length))
                self._send_web(web.answer("POST", url.path, url.query, dict(self.headers.items()), body))

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if web.serves(url.path):
                    self._send_web(web.answer("GET", url.path, url.query, dict(self.headers.items()), b""))
                    return
                if url.path == "/ready":
                    self._send(200, {"ready": True})
                    return
                if expected is not None and not hmac.compare_digest(
                    self.headers.get("Authorization", "").encode(), expected
                ):
                    self._send(401, {"error": "expected a valid bearer token in 'Authorization'"})
                    return
                try:
                    status, body = self._answer(url.path, parse_query(url.query))
                except BadRequest as exc:
                    status, body = 400, {"error": str(exc)}
                self._send(status, body)

            def _answer(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
                if path == "/records":
                    return 200, records_query(runtime, query)
                if path == "/incidents":
                    if query:
                        raise BadRequest(f"/incidents takes no parameters, but got {sorted(query)}")
                    return 200, incident_view(runtime)
                if path in ("/processes", "/user-tasks"):
                    if query:
                        raise BadRequest(f"{path} takes no parameters, but got {sorted(query)}")
                    if path == "/processes":
                        return 200, process_view(runtime, engine.history())
                    return 200, user_tasks_view(runtime)
                if path.startswith("/process-instances/"):
                    if query:
                        raise BadRequest(f"/process-instances takes no parameters, but got {sorted(query)}")
                    key = _element_key(path.removeprefix("/process-instances/"))
                    found = process_instance_view(runtime, engine.history(), key)
                    return (404, {"error": "no such process instance"}) if found is None else (200, found)
                if path.startswith("/instances/"):
                    if query:
                        raise BadRequest(f"/instances takes no parameters, but got {sorted(query)}")
                    body = instance_view(runtime, _element_key(path.removeprefix("/instances/")))
                    return (404, {"error": "no such element instance"}) if body is None else (200, body)
                return 404, {"error": f"no such endpoint {path[:100]}"}

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Bearer realm="zeebe-celery engine"')
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _send_web(self, answer: Response) -> None:
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.body or answer.status not in (204, 303):
                    self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.send_header("X-Content-Type-Options", "nosniff")
                self.send_header("X-Frame-Options", "DENY")
                self.send_header("Referrer-Policy", "same-origin")
                self.send_header("Content-Security-Policy", _WEB_POLICY)
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = _PooledServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="engine-monitor", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        """The address bound."""
        return str(self._server.server_address[0])

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port (also when never started)."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
