"""Gathering a batched type's jobs while its queue is busy: jobs that arrive one at a time share a message
when no worker is ready for one, and are never held when a worker is."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.unit.builders import make_job
from zeebe_celery.gather import MAX_HOLD, TOP_UP_POLL, gather


class Arrivals:
    """An ActivateJobs stand-in: hands out one job per call, and records what was asked."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.asked: list[tuple[int, float]] = []
        self.fail_after = fail_after

    def __call__(self, count: int, wait: float) -> list[Any]:
        self.asked.append((count, wait))
        if self.fail_after is not None and len(self.asked) > self.fail_after:
            raise ConnectionError("the gateway went away")
        return [make_job(key=100 + len(self.asked))]


def busy_for(calls: int) -> Callable[[], bool]:
    """A queue that still holds a message for the first ``calls`` looks."""
    looks = iter(range(calls + 1))
    return lambda: next(looks, calls) < calls


def run(jobs: list[Any], arrivals: Arrivals, busy: Callable[[], bool], **options: Any) -> list[Any]:
    settings = {"batch": 8, "room": 64, "job_timeout": 300.0, **options}
    gather(jobs, busy=busy, activate=arrivals, stopping=lambda: False, **settings)
    return jobs


def test_a_job_is_not_held_when_its_queue_is_empty() -> None:
    arrivals = Arrivals()
    started = time.monotonic()
    jobs = run([make_job(key=1)], arrivals, busy_for(0))
    assert [job.key for job in jobs] == [1]
    assert arrivals.asked == []
    assert time.monotonic() - started < 0.05


def test_jobs_gather_into_one_message_while_the_queue_is_busy() -> None:
    arrivals = Arrivals()
    jobs = run([make_job(key=1)], arrivals, busy_for(3))
    assert [job.key for job in jobs] == [1, 101, 102, 103]
    assert arrivals.asked == [(7, TOP_UP_POLL), (6, TOP_UP_POLL), (5, TOP_UP_POLL)]


def test_gathering_stops_at_a_full_batch_and_within_the_room_reserved() -> None:
    assert len(run([make_job(key=1)], Arrivals(), busy_for(100), batch=4)) == 4
    assert len(run([make_job(key=1)], Arrivals(), busy_for(100), batch=8, room=3)) == 3


def test_a_job_is_held_at_most_a_tenth_of_its_timeout_and_never_longer_than_max_hold() -> None:
    slow = Arrivals()
    slow_activate = lambda count, wait: time.sleep(0.01) or slow(count, wait)[:0]  # noqa: E731 - no job comes
    started = time.monotonic()
    gather(
        [make_job(key=1)],
        batch=8,
        room=64,
        job_timeout=1.0,
        busy=lambda: True,
        activate=slow_activate,
        stopping=lambda: False,
    )
    assert 0.09 <= time.monotonic() - started < 0.3
    started = time.monotonic()
    gather(
        [make_job(key=1)],
        batch=8,
        room=64,
        job_timeout=300.0,
        busy=lambda: True,
        activate=slow_activate,
        stopping=lambda: False,
    )
    assert MAX_HOLD - 0.02 <= time.monotonic() - started < MAX_HOLD + 0.3


def test_an_error_while_gathering_keeps_the_jobs_in_hand_for_publishing() -> None:
    jobs = run([make_job(key=1)], Arrivals(fail_after=1), busy_for(100))
    assert [job.key for job in jobs] == [1, 101]


def test_nothing_is_gathered_for_a_type_without_batches_or_while_stopping() -> None:
    arrivals = Arrivals()
    assert len(run([make_job(key=1)], arrivals, busy_for(100), batch=1)) == 1
    jobs = [make_job(key=1)]
    gather(jobs, batch=8, room=64, job_timeout=300.0, busy=lambda: True, activate=arrivals, stopping=lambda: True)
    assert len(jobs) == 1
    assert arrivals.asked == []
