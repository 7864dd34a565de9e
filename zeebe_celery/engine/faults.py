"""Faults and back-pressure as a Zeebe gateway produces them, for tests of the clients that talk to it.

``Faults`` plays scripted outcomes on chosen RPCs, for a count of calls or a fraction of them: a status
code, a delay, or a response message in place of the engine's own. It records the calls it saw, with
their metadata and the time left before their deadline. ``BackPressure`` bounds the commands in flight:
beyond the limit every request but CompleteJob and FailJob is answered RESOURCE_EXHAUSTED, as Zeebe's
broker does.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from zeebe_celery.gateway.proto import gateway_pb2

__all__ = ["RPCS", "BackPressure", "Call", "Faults", "Injected"]

# Zeebe lets these through under back-pressure, so work in flight can always finish.
_ALWAYS_ACCEPTED = frozenset({"CompleteJob", "FailJob"})
RPCS = frozenset(gateway_pb2.DESCRIPTOR.services_by_name["Gateway"].methods_by_name)
"""The names of the Gateway service's RPCs, as the methods of :class:`Faults` take them."""
# These answer with a stream of jobs, which a single scripted message cannot stand for.
_STREAMING = frozenset({"ActivateJobs", "StreamActivatedJobs"})


class Call:
    """One request the engine received: the RPC, the request message and its metadata.

    Made on every call, so it stores gRPC's metadata as it came and builds the dict only when asked.
    """

    __slots__ = ("_metadata", "at", "request", "rpc", "time_remaining")

    def __init__(self, rpc: str, request: Any, metadata: Any, at: float, time_remaining: float | None = None) -> None:
        self.rpc = rpc
        self.request = request
        self._metadata = metadata
        self.at = at
        self.time_remaining = time_remaining
        """Seconds left before the call's deadline when it arrived; None for a call without one."""

    @property
    def metadata(self) -> dict[str, str]:
        """The call's text metadata (binary entries left out)."""
        return {k: v for k, v in self._metadata or () if isinstance(v, str)}

    def __repr__(self) -> str:
        return f"Call({self.rpc!r}, at={self.at:.3f})"


@dataclass(frozen=True)
class Injected:
    """What a call is to get instead of the engine's answer: a status code, or a response message."""

    code: str | None = None
    details: str = ""
    response: Any = None


@dataclass
class _Rule:
    code: str | None  # a grpc.StatusCode name; None for a delay or a response
    details: str
    delay: float
    times: int | None  # None: no count, use the fraction
    fraction: float
    rng: random.Random = field(default_factory=random.Random)
    response: Any = None


class Faults:
    """Scripted outcomes by RPC name, and a bounded log of calls. Thread-safe."""

    def __init__(self, *, keep_calls: int = 10_000) -> None:
        self._rules: dict[str, list[_Rule]] = {}
        # Each call as (rpc, request, metadata, at, time_remaining): made into a Call only when read.
        self._calls: deque[tuple[str, Any, Any, float, float | None]] = deque(maxlen=keep_calls)
        self._lock = threading.Condition()
        self._waiting = 0  # wait_for_calls callers; a call notifies only when there are some
        # Set to cut short the delays under way; replaced by a fresh one each time.
        self._wake = threading.Event()

    def fail(
        self,
        rpc: str,
        code: str,
        details: str | None = None,
        *,
        times: int | None = 1,
        fraction: float = 1.0,
        seed: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``rpc`` (or, with ``times=None``, that ``fraction`` of them) with
        ``code`` (a grpc.StatusCode name such as "UNAVAILABLE") and ``details`` ("injected CODE" when None)."""
        if details is None:
            details = f"injected {code}"
        self._add(rpc, _Rule(code, details, 0.0, times, fraction, random.Random(seed)))

    def delay(self, rpc: str, seconds: float, *, times: int | None = 1, fraction: float = 1.0) -> None:
        """Hold the next ``times`` calls of ``rpc`` for ``seconds`` before handling them.

        :meth:`clear` and :meth:`reset` end the delays under way early.
        """
        self._add(rpc, _Rule(None, "", seconds, times, fraction))

    def respond(self, rpc: str, response: Any, *, times: int | None = 1) -> None:
        """Answer the next ``times`` calls of the unary ``rpc`` (every call with ``times=None``) with the
        message ``response`` instead of running them, e.g. a Topology with an unhealthy partition.

        Raises ValueError for ActivateJobs and StreamActivatedJobs, whose jobs must come from instances.
        """
        if rpc in _STREAMING:
            raise ValueError(f"{rpc} streams jobs: create process instances to give it jobs")
        self._add(rpc, _Rule(None, "", 0.0, times, 1.0, response=response))

    def clear(self, rpc: str | None = None) -> None:
        """Drop the rules of ``rpc`` (of every RPC when None) and end the delays under way."""
        with self._lock:
            if rpc is None:
                self._rules.clear()
            else:
                self._rules.pop(rpc, None)
            self._wake_delays()

    def reset(self) -> None:
        """Drop every rule and every recorded call, and end the delays under way: a clean slate for the
        next test on a shared engine."""
        with self._lock:
            self._rules.clear()
            self._calls.clear()
            self._wake_delays()

    def _wake_delays(self) -> None:
        self._wake.set()
        self._wake = threading.Event()

    def _add(self, rpc: str, rule: _Rule) -> None:
        """Raises ValueError for a name that is not one of the Gateway service's RPCs."""
        if rpc not in RPCS:
            raise ValueError(f"unknown RPC {rpc!r}; the Gateway service has {', '.join(sorted(RPCS))}")
        with self._lock:
            self._rules.setdefault(rpc, []).append(rule)

    def calls(self, rpc: str | None = None) -> list[Call]:
        # list() copies the deque in one step under the GIL, so calls recorded meanwhile do not disturb it.
        return [Call(*c) for c in list(self._calls) if rpc is None or c[0] == rpc]

    def wait_for_calls(self, rpc: str, count: int = 1, *, within: float = 5.0) -> int:
        """Wait until ``rpc`` was called ``count`` times; return how many calls there were."""
        deadline = time.monotonic() + within
        with self._lock:
            while True:
                seen = sum(1 for c in list(self._calls) if c[0] == rpc)
                left = deadline - time.monotonic()
                if seen >= count or left <= 0:
                    return seen
                self._waiting += 1
                try:
                    # A call recorded between the count and this wait took the lock-free path and notified
                    # nobody: look again soon rather than at the deadline.
                    self._lock.wait(min(left, 0.05))
                finally:
                    self._waiting -= 1

    def enter(self, rpc: str, request: Any, metadata: Any, *, time_remaining: float | None = None) -> Injected | None:
        """Record the call and play its rule: waits out a delay; returns what to answer instead, if anything.

        ``metadata`` is gRPC's invocation metadata, a sequence of (key, value) pairs.
        """
        call = (rpc, request, metadata, time.time(), time_remaining)
        if not self._rules and not self._waiting:
            # Nothing to play and nobody waiting: recorded without the lock (a deque's append is atomic).
            self._calls.append(call)
            return None
        with self._lock:
            self._calls.append(call)
            if self._waiting:
                self._lock.notify_all()
            rule = self._next_rule(rpc) if self._rules else None
            wake = self._wake
        if rule is None:
            return None
        if rule.response is not None:
            return Injected(response=rule.response)
        if rule.code is None:
            wake.wait(rule.delay)
            return None
        return Injected(code=rule.code, details=rule.details)

    def _next_rule(self, rpc: str) -> _Rule | None:
        rules = self._rules.get(rpc)
        if not rules:
            return None
        rule = rules[0]
        if rule.times is None:
            return rule if rule.rng.random() < rule.fraction else None
        rule.times -= 1
        if rule.times <= 0:
            rules.pop(0)
        return rule


class BackPressure:
    """At most ``limit`` commands in flight (None: unbounded)."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self._in_flight = 0
        self._lock = threading.Lock()

    def acquire(self, rpc: str) -> bool:
        """False when the request is to be refused with RESOURCE_EXHAUSTED."""
        with self._lock:
            if self.limit is not None and self._in_flight >= self.limit and rpc not in _ALWAYS_ACCEPTED:
                return False
            self._in_flight += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._in_flight -= 1
