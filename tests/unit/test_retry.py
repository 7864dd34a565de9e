"""RetryPolicy: what it retries, when it stops (budget, until, INTERNAL attempts), and back-off bounds."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest

from zeebe_celery.errors import (
    BackPressureError,
    GatewayInternalError,
    GatewayUnavailableError,
    NotFoundError,
)
from zeebe_celery.gateway.retry import RetryPolicy


class FakeTime:
    """A clock that only moves when the policy sleeps."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def failing(*errors: BaseException, result: object = "done") -> tuple[Callable[[], object], list[int]]:
    """A function that raises ``errors`` one per call, then returns ``result``; and its call counter."""
    calls = [0]

    def fn() -> object:
        calls[0] += 1
        if calls[0] <= len(errors):
            raise errors[calls[0] - 1]
        return result

    return fn, calls


def busy(n: int) -> BackPressureError:
    return BackPressureError(f"busy {n}")


def test_transient_errors_are_retried_until_the_call_succeeds() -> None:
    fake_time = FakeTime()
    policy = RetryPolicy(sleep=fake_time.sleep, clock=fake_time.clock)
    fn, calls = failing(busy(1), GatewayUnavailableError("down"), busy(2))

    assert policy.call(fn) == "done"
    assert calls[0] == 4
    assert len(fake_time.sleeps) == 3


@pytest.mark.parametrize("error", [NotFoundError("gone"), ValueError("a bug"), KeyboardInterrupt()])
def test_errors_that_are_not_transient_are_raised_at_once(error: BaseException) -> None:
    fake_time = FakeTime()
    fn, calls = failing(error)

    with pytest.raises(type(error)):
        RetryPolicy(sleep=fake_time.sleep, clock=fake_time.clock).call(fn)
    assert calls[0] == 1
    assert fake_time.sleeps == []


def test_retries_stop_when_the_budget_is_spent_raising_the_last_error() -> None:
    policy = RetryPolicy(initial=0.001, maximum=0.005, budget=0.1)
    fn, calls = failing(*(busy(n) for n in range(1, 10_000)))

    started = time.monotonic()
    with pytest.raises(BackPressureError) as caught:
        policy.call(fn)
    elapsed = time.monotonic() - started

    assert 0.1 <= elapsed < 0.6
    assert calls[0] > 2
    assert caught.value.details == f"busy {calls[0]}"


def test_retries_stop_when_the_next_sleep_would_end_after_until() -> None:
    fake_time = FakeTime(now=1_000.0)
    policy = RetryPolicy(
        initial=0.5, maximum=4.0, budget=3600, until=1_010.0, sleep=fake_time.sleep, clock=fake_time.clock
    )
    fn, calls = failing(*(busy(n) for n in range(1, 10_000)))

    with pytest.raises(BackPressureError) as caught:
        policy.call(fn)

    assert calls[0] == len(fake_time.sleeps) + 1 > 2
    assert fake_time.now < 1_010.0
    assert caught.value.details == f"busy {calls[0]}"


def test_until_in_the_past_allows_one_attempt() -> None:
    fake_time = FakeTime(now=1_000.0)
    policy = RetryPolicy(until=999.0, sleep=fake_time.sleep, clock=fake_time.clock)
    fn, calls = failing(busy(1))

    with pytest.raises(BackPressureError):
        policy.call(fn)
    assert calls[0] == 1


def test_internal_errors_are_given_up_after_internal_attempts() -> None:
    fake_time = FakeTime()
    policy = RetryPolicy(internal_attempts=3, sleep=fake_time.sleep, clock=fake_time.clock)
    fn, calls = failing(*(GatewayInternalError(f"internal {n}") for n in range(1, 10)))

    with pytest.raises(GatewayInternalError, match="internal 3"):
        policy.call(fn)
    assert calls[0] == 3


def test_internal_errors_within_internal_attempts_are_retried_to_success() -> None:
    fake_time = FakeTime()
    policy = RetryPolicy(internal_attempts=3, sleep=fake_time.sleep, clock=fake_time.clock)
    fn, calls = failing(GatewayInternalError("1"), GatewayInternalError("2"))

    assert policy.call(fn) == "done"
    assert calls[0] == 3


def test_back_pressure_before_an_internal_error_does_not_use_up_internal_attempts() -> None:
    fake_time = FakeTime()
    policy = RetryPolicy(internal_attempts=3, sleep=fake_time.sleep, clock=fake_time.clock)
    fn, calls = failing(busy(1), busy(2), busy(3), GatewayInternalError("once"))

    assert policy.call(fn) == "done"
    assert calls[0] == 5


def test_internal_errors_between_other_transient_ones_are_counted_on_their_own() -> None:
    fake_time = FakeTime()
    policy = RetryPolicy(internal_attempts=2, sleep=fake_time.sleep, clock=fake_time.clock)
    fn, calls = failing(GatewayInternalError("1"), busy(1), busy(2), GatewayInternalError("2"), busy(3))

    with pytest.raises(GatewayInternalError, match="2"):
        policy.call(fn)
    assert calls[0] == 4


def test_each_call_counts_its_own_internal_errors() -> None:
    fake_time = FakeTime()
    policy = RetryPolicy(internal_attempts=2, sleep=fake_time.sleep, clock=fake_time.clock)
    first, _ = failing(GatewayInternalError("1"))
    second, calls = failing(GatewayInternalError("1"))

    assert policy.call(first) == "done"
    assert policy.call(second) == "done"
    assert calls[0] == 2


def test_sleeps_grow_with_full_jitter_up_to_the_maximum() -> None:
    fake_time = FakeTime()
    policy = RetryPolicy(initial=0.1, maximum=1.0, budget=3600, sleep=fake_time.sleep, clock=fake_time.clock)
    fn, _ = failing(*(busy(n) for n in range(1, 41)))
    random.seed(7)

    policy.call(fn)

    assert all(0 <= s <= min(1.0, 0.1 * 2 ** (n - 1)) for n, s in enumerate(fake_time.sleeps, start=1))
    assert max(fake_time.sleeps[-20:]) > 0.5


def test_bounded_takes_the_earlier_until_and_keeps_the_budget_unless_given() -> None:
    policy = RetryPolicy(budget=30.0)

    once = policy.bounded(until=2_000.0)
    twice = once.bounded(until=3_000.0)

    assert (once.until, once.budget) == (2_000.0, 30.0)
    assert twice.until == 2_000.0
    assert once.bounded(until=1_500.0).until == 1_500.0
    assert policy.bounded(budget=5.0).budget == 5.0
    assert policy.until is None


def test_bounded_with_a_zero_budget_allows_one_attempt() -> None:
    fake_time = FakeTime()
    policy = RetryPolicy(budget=30.0, sleep=fake_time.sleep, clock=fake_time.clock).bounded(budget=0)
    fn, calls = failing(busy(1))

    assert policy.budget == 0
    with pytest.raises(BackPressureError):
        policy.call(fn)
    assert calls[0] == 1


def test_backoff_is_zero_before_any_failure() -> None:
    assert RetryPolicy().backoff(0) == 0.0


def test_backoff_jitters_between_half_and_all_of_a_doubling_ceiling() -> None:
    policy = RetryPolicy(initial=0.1, maximum=5.0)
    random.seed(7)

    for failures in range(1, 12):
        ceiling = min(5.0, 0.1 * 2**failures)
        samples = [policy.backoff(failures) for _ in range(200)]
        assert all(ceiling / 2 <= s <= ceiling for s in samples), failures
        assert max(samples) - min(samples) > ceiling / 4, failures


def test_backoff_is_capped_by_the_maximum_even_after_endless_failures() -> None:
    policy = RetryPolicy(initial=0.1, maximum=5.0)

    samples = [policy.backoff(10_000) for _ in range(200)]

    assert all(2.5 <= s <= 5.0 for s in samples)
