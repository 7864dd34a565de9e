"""A job's deadline as Celery's time limits: a handler is stopped when its job stops being its own.

At the deadline Zeebe hands the job out again, so a handler still running then only duplicates work. The
Celery request of a job message (:class:`JobRequest`, the ``Request`` of every ``@zeebe_task``) sets the
soft time limit to the time left until the deadline (the message's ``expires``) when the pool takes the job,
and the hard limit :data:`HARD_LIMIT_GRACE` seconds later, for a handler that does not stop on the soft one.
Limits the task or the message set themselves still apply when they are shorter.

A handler stopped by the soft limit raises ``SoftTimeLimitExceeded``; the worker reports nothing for a job
past its deadline (see :mod:`zeebe_celery.worker`) and frees its slot. A process the hard limit kills
cannot free it; the slot lapses by itself at the deadline, which has passed by then.
"""

from __future__ import annotations

from datetime import UTC, datetime

from celery.worker.request import Request

__all__ = ["HARD_LIMIT_GRACE", "JobRequest", "job_time_limits"]

# Seconds a handler gets after the soft limit to unwind before its process is killed.
HARD_LIMIT_GRACE = 3.0
# The least soft limit: a job the pool takes at its deadline still gets a moment to see that it is late.
_LEAST = 0.1

Limits = tuple[float | None, float | None]


def job_time_limits(left: float, hard: float | None, soft: float | None) -> tuple[float, float]:
    """``(hard, soft)`` for a job with ``left`` seconds until its deadline, under the limits already set."""
    until_deadline = max(left, _LEAST)
    soft_limit = min(soft, until_deadline) if soft else until_deadline
    hard_limit = min(hard, until_deadline + HARD_LIMIT_GRACE) if hard else until_deadline + HARD_LIMIT_GRACE
    return hard_limit, soft_limit


class JobRequest(Request):  # type: ignore[misc]
    """Celery's request for a job message, with time limits that end at the job's deadline."""

    _given_limits: Limits = (None, None)

    @property
    def time_limits(self) -> Limits:
        hard, soft = self._given_limits
        hard = hard or self.task.time_limit
        soft = soft or self.task.soft_time_limit
        if self.expires is None:
            return hard, soft
        left = (self.expires - datetime.now(UTC)).total_seconds()
        return job_time_limits(left, hard, soft)

    @time_limits.setter
    def time_limits(self, value: Limits) -> None:
        hard, soft = value
        self._given_limits = (hard, soft)
