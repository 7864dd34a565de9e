"""The engine's fault injection (:class:`~zeebe_celery.engine.faults.Faults`) over HTTP on loopback, for an
engine that runs as a process of its own (``benchmarks.engine_proc --faults-port N``).

``POST /faults`` with ``{"rpc": "ActivateJobs", "code": "RESOURCE_EXHAUSTED", "fraction": 0.3}`` answers
that share of the RPC's calls with the code; ``DELETE /faults`` ends every rule; ``GET /calls`` lists the
calls the engine saw, as ``[rpc, epoch seconds, job key]`` (0 for a call about no job; the last 10,000).
:class:`FaultsClient` is the other end.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from zeebe_celery.engine.faults import Faults
from zeebe_celery.stack.process import LOOPBACK

__all__ = ["FaultControl", "FaultsClient"]


class FaultControl:
    """Serves ``faults`` on 127.0.0.1:``port`` from a daemon thread."""

    def __init__(self, faults: Faults, port: int) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                try:
                    faults.fail(body["rpc"], body["code"], times=None, fraction=float(body.get("fraction", 1.0)))
                except (KeyError, ValueError) as exc:
                    self._send(400, {"error": str(exc)})
                    return
                self._send(200, {"ok": True})

            def do_DELETE(self) -> None:
                faults.clear()
                self._send(200, {"ok": True})

            def do_GET(self) -> None:
                self._send(200, [[c.rpc, c.at, getattr(c.request, "jobKey", 0)] for c in faults.calls()])

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((LOOPBACK, port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fault-control", daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class FaultsClient:
    """Sets the faults of the engine whose fault control listens on ``port``."""

    def __init__(self, port: int) -> None:
        self._base = f"http://{LOOPBACK}:{port}"

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self._base}{path}", data=data, method=method)  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own loopback port
            return json.load(response)

    def fail(self, rpc: str, code: str, *, fraction: float) -> None:
        """Answer ``fraction`` of the calls of ``rpc`` with ``code`` from now on."""
        self._request("POST", "/faults", {"rpc": rpc, "code": code, "fraction": fraction})

    def clear(self) -> None:
        self._request("DELETE", "/faults")

    def calls(self) -> list[tuple[str, float, int]]:
        """(rpc, epoch seconds, job key or 0) of the calls the engine saw, oldest first."""
        return [(rpc, float(at), int(key)) for rpc, at, key in self._request("GET", "/calls")]
