"""One REST request as the handlers see it: its path parameters and body, and the way to run a command on
the runtime (under its lock, an engine rejection becoming the API's problem document)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from zeebe_celery.engine.errors import EngineError
from zeebe_celery.engine.faults import BackPressure
from zeebe_celery.engine.rest.body import Body, parse_json, parse_key
from zeebe_celery.engine.rest.history import History
from zeebe_celery.engine.rest.problems import Problem, from_engine_error
from zeebe_celery.engine.runtime import Runtime

__all__ = ["Answer", "Call", "Handler", "Route", "Served"]

R = TypeVar("R")
# A waiting call wakes this often to notice a server that is stopping.
_WAKE_SECONDS = 0.5
# The status and the JSON body (None: no content).
Answer = tuple[int, Any]


@dataclass
class Served:
    """What every request shares: the runtime, its searchable history and the engine's facts."""

    runtime: Runtime
    history: History
    back_pressure: BackPressure
    host: str
    grpc_port: Callable[[], int]
    cluster_id: str
    # Long polls hold a pool thread while they wait; past this many, activation answers at once.
    max_waiting: int
    waiting: int = 0
    waiting_lock: threading.Lock = field(default_factory=threading.Lock)
    # Set as the server stops: calls that wait (long polls, awaited results) end at once.
    stopping: threading.Event = field(default_factory=threading.Event)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Wait for ``event`` up to ``seconds``; False when it did not come, or the server is stopping."""
        deadline = time.monotonic() + seconds
        while not event.wait(min(max(deadline - time.monotonic(), 0), _WAKE_SECONDS)):
            if self.stopping.is_set() or time.monotonic() >= deadline:
                return False
        return True


@dataclass
class Call:
    served: Served
    path: str
    params: dict[str, str]
    raw: bytes
    content_type: str

    @property
    def runtime(self) -> Runtime:
        return self.served.runtime

    def body(self, *, required: bool = True) -> Body:
        if self.raw.strip() and not self.content_type.startswith("application/json"):
            raise Problem(415, "Unsupported Media Type", f"Content-Type '{self.content_type}' is not supported")
        return Body(parse_json(self.raw, required=required))

    def key(self, name: str) -> int:
        return parse_key(self.params[name], name)

    def run(self, command: Callable[[Runtime], R]) -> R:
        """Run ``command`` under the runtime's lock; a rejected command becomes its problem document."""
        try:
            with self.runtime.lock:
                return command(self.runtime)
        except EngineError as exc:
            raise from_engine_error(exc) from exc

    def read(self, query: Callable[[History], R]) -> R:
        """Read the history under the runtime's lock (commands feed it as they commit)."""
        with self.runtime.lock:
            return query(self.served.history)


Handler = Callable[[Call], Answer]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    # The gRPC call it stands for, as back-pressure names it ("" for reads, which it never refuses).
    rpc: str
    # A long poll: back-pressure checks it as it is admitted but does not count its wait.
    waits: bool = False

    @classmethod
    def of(cls, method: str, path: str, handler: Handler, rpc: str = "", *, waits: bool = False) -> Route:
        """``path`` with ``{name}`` placeholders, each one path segment."""
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
        return cls(method, re.compile(f"^/v2{regex}$"), handler, rpc, waits)
