"""Faults and back-pressure as a Zeebe gateway produces them, for tests of the clients that talk to it.

``Faults`` plays scripted failures (a status code, or a delay) on chosen RPCs, for a count of calls or a
fraction of them, and records the calls it saw. ``BackPressure`` bounds the commands in flight: beyond the
limit every request but CompleteJob and FailJob is answered RESOURCE_EXHAUSTED, as Zeebe's broker does.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BackPressure", "Call", "Faults"]

# Zeebe lets these through under back-pressure, so work in flight can always finish.
_ALWAYS_ACCEPTED = frozenset({"CompleteJob", "FailJob"})


@dataclass(frozen=True)
class Call:
    """One request the engine received: the RPC, the request message and its metadata."""

    rpc: str
    request: Any
    metadata: dict[str, str]
    at: float


@dataclass
class _Rule:
    code: str | None  # a grpc.StatusCode name; None for a delay
    details: str
    delay: float
    times: int | None  # None: no count, use the fraction
    fraction: float
    rng: random.Random = field(default_factory=random.Random)


class Faults:
    """Scripted faults by RPC name, and a bounded log of calls."""

    def __init__(self, *, keep_calls: int = 10_000) -> None:
        self._rules: dict[str, list[_Rule]] = {}
        self._calls: deque[Call] = deque(maxlen=keep_calls)
        self._lock = threading.Condition()

    def fail(
        self,
        rpc: str,
        code: str,
        details: str = "",
        *,
        times: int | None = 1,
        fraction: float = 1.0,
        seed: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``rpc`` (or, with ``times=None``, that ``fraction`` of them) with
        ``code`` (a grpc.StatusCode name such as "UNAVAILABLE")."""
        self._add(rpc, _Rule(code, details or f"injected {code}", 0.0, times, fraction, random.Random(seed)))

    def delay(self, rpc: str, seconds: float, *, times: int | None = 1, fraction: float = 1.0) -> None:
        """Hold the next ``times`` calls of ``rpc`` for ``seconds`` before handling them."""
        self._add(rpc, _Rule(None, "", seconds, times, fraction))

    def clear(self, rpc: str | None = None) -> None:
        with self._lock:
            if rpc is None:
                self._rules.clear()
            else:
                self._rules.pop(rpc, None)

    def _add(self, rpc: str, rule: _Rule) -> None:
        with self._lock:
            self._rules.setdefault(rpc, []).append(rule)

    def calls(self, rpc: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if rpc is None or c.rpc == rpc]

    def wait_for_calls(self, rpc: str, count: int = 1, *, within: float = 5.0) -> int:
        """Wait until ``rpc`` was called ``count`` times; return how many calls there were."""
        deadline = time.monotonic() + within
        with self._lock:
            while True:
                seen = sum(1 for c in self._calls if c.rpc == rpc)
                left = deadline - time.monotonic()
                if seen >= count or left <= 0:
                    return seen
                self._lock.wait(left)

    def enter(self, rpc: str, request: Any, metadata: dict[str, str]) -> tuple[str, str] | None:
        """Record the call and play its rule: sleeps for a delay; returns ``(code, details)`` to fail with."""
        with self._lock:
            self._calls.append(Call(rpc, request, metadata, time.time()))
            self._lock.notify_all()
            rule = self._next_rule(rpc)
        if rule is None:
            return None
        if rule.code is None:
            time.sleep(rule.delay)
            return None
        return rule.code, rule.details

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
