"""The engine's inspection over HTTP, as JSON, for tests and humans on another process.

``GET /ready`` answers 200 once the engine serves. ``GET /records`` lists exported records, filtered by
``valueType``, ``intent``, ``since`` (a position) and any value field (``processInstanceKey=...``).
``GET /incidents`` lists open incidents. ``GET /instances/<key>`` gives an element instance's state and
the variables it sees.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, Self
from urllib.parse import parse_qsl, urlsplit

from zeebe_celery.engine.inspection import incident_view, instance_view
from zeebe_celery.engine.records import matches
from zeebe_celery.engine.runtime import Runtime


class _Engine(Protocol):
    runtime: Runtime


__all__ = ["Monitor"]


def _coerce(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


class Monitor:
    """Serves the inspection endpoints from a daemon thread; port 0 picks a free port."""

    def __init__(self, engine: _Engine, *, host: str = "127.0.0.1", port: int = 0) -> None:
        runtime = engine.runtime

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = dict(parse_qsl(url.query))
                body: Any
                if url.path == "/ready":
                    body = {"ready": True}
                elif url.path == "/records":
                    value_type, intent = query.pop("valueType", None), query.pop("intent", None)
                    since = int(query.pop("since", "0"))
                    fields = {k: _coerce(v) for k, v in query.items()}
                    body = [r for r in runtime.records.since(since) if matches(r, value_type, intent, fields)]
                elif url.path == "/incidents":
                    body = incident_view(runtime)
                elif url.path.startswith("/instances/") and url.path.rsplit("/", 1)[-1].isdigit():
                    body = instance_view(runtime, int(url.path.rsplit("/", 1)[-1]))
                    if body is None:
                        self._send(404, {"error": "no such element instance"})
                        return
                else:
                    self._send(404, {"error": f"no such endpoint {url.path}"})
                    return
                self._send(200, body)

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="engine-monitor", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
