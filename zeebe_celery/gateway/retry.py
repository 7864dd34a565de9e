"""The one retry policy for gateway calls: jittered exponential back-off within a time budget."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_random_exponential

from zeebe_celery.errors import GatewayInternalError, TransientError

__all__ = ["MIN_ATTEMPT", "RetryPolicy"]

_T = TypeVar("_T")

# The shortest attempt: a call made at or after the end of its policy still gets this long.
MIN_ATTEMPT = 0.5


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries :class:`~zeebe_celery.errors.TransientError` with full-jitter exponential back-off.

    It stops when ``budget`` seconds have passed, when the next sleep would end after ``until`` (an
    epoch time, e.g. a job deadline), or after ``internal_attempts`` attempts that failed with INTERNAL
    (other transient failures in between do not count against that limit).
    The last error is then raised as it is.
    """

    initial: float = 0.05
    maximum: float = 5.0
    budget: float = 30.0
    internal_attempts: int = 3
    until: float | None = None
    # Called before each retry's sleep, e.g. to count retries in a metric.
    on_retry: Callable[[], None] | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time

    def bounded(
        self,
        *,
        until: float | None = None,
        budget: float | None = None,
        on_retry: Callable[[], None] | None = None,
    ) -> RetryPolicy:
        """A copy that also stops at ``until`` (epoch seconds), with another budget and/or retry hook.

        Even with ``until`` in the past or a budget of 0 the call is attempted once.
        """
        if until is not None and self.until is not None:
            until = min(until, self.until)
        return replace(
            self,
            until=until if until is not None else self.until,
            budget=budget if budget is not None else self.budget,
            on_retry=on_retry if on_retry is not None else self.on_retry,
        )

    def attempt_timeout(self, timeout: float) -> float:
        """``timeout`` cut to the time left before ``until``, so no attempt outlives the policy's end (a
        job's deadline, after which a report is refused anyway): at least :data:`MIN_ATTEMPT` seconds, since
        every call is tried once."""
        if self.until is None:
            return timeout
        return min(timeout, max(MIN_ATTEMPT, self.until - self.clock()))

    def _should_stop(self, state: RetryCallState, started: float, internal_failures: int) -> bool:
        if time.monotonic() - started >= self.budget:
            return True
        if self.until is not None and self.clock() + (state.upcoming_sleep or 0.0) >= self.until:
            return True
        return internal_failures >= self.internal_attempts

    def call(self, fn: Callable[[], _T]) -> _T:
        """Run ``fn`` under this policy and return its result.

        ``fn`` always runs at least once; the limits only decide whether a failure is tried again.
        """
        started = time.monotonic()
        # Only INTERNAL failures count against internal_attempts, not back-pressure or outages.
        internal_failures = 0

        def counted() -> _T:
            nonlocal internal_failures
            try:
                return fn()
            except GatewayInternalError:
                internal_failures += 1
                raise

        # The first attempt runs bare: nearly every call succeeds at once, and tenacity's machinery costs
        # more than many a call (it is built per call, since the stop condition is this call's own).
        try:
            return counted()
        except TransientError as error:
            seen: TransientError | None = error

        def replayed() -> _T:
            # tenacity's first attempt is the failure already seen, so its back-off, stop and hooks go on
            # from there as if it had made it.
            nonlocal seen
            if seen is not None:
                failure, seen = seen, None
                raise failure
            return counted()

        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            wait=wait_random_exponential(multiplier=self.initial, max=self.maximum),
            stop=lambda state: self._should_stop(state, started, internal_failures),
            sleep=self.sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        return retrying(replayed)

    def _before_sleep(self, state: RetryCallState) -> None:
        if self.on_retry is not None:
            self.on_retry()

    def backoff(self, failures: int) -> float:
        """The jittered delay after ``failures`` consecutive failures, for loops that never give up."""
        if failures <= 0:
            return 0.0
        ceiling = min(self.maximum, self.initial * 2 ** min(failures, 32))
        # Equal jitter: never close to zero, so a dead gateway is not hammered.
        return float(ceiling / 2 + random.uniform(0, ceiling / 2))
