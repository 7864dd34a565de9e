"""Gathering a batched type's jobs while its queue is busy, so jobs that arrive one at a time still share a
message when the workers cannot take them one at a time.

A worker takes a message only when a pool process is free (``worker_disable_prefetch``), and a pool process
runs one message at a time. When an activation of a type with ``batch=N`` brings fewer than ``N`` jobs and
the type's queue still holds a message nobody has taken, every worker of the type is busy: a message of its
own would only queue behind that one, and each would later hold a pool process for a whole run (an async
handler awaiting I/O for its full wait). So the poller keeps activating, in short polls, into the same message
until the queue is taken, the batch is full, or :data:`MAX_HOLD` has passed (at most a tenth of the job
timeout), and then publishes it. A queue that is empty (a worker is ready for the message) never delays a job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from zeebe_celery.dispatch import AnyJob

__all__ = ["MAX_HOLD", "TOP_UP_POLL", "gather"]

logger = logging.getLogger(__name__)

# The longest a job is held for more to join it (and never more than a tenth of its timeout).
MAX_HOLD = 0.5
# How long each top-up ActivateJobs waits for a job, in seconds; between them the queue is looked at again.
TOP_UP_POLL = 0.02


def gather(
    jobs: list[AnyJob],
    *,
    batch: int,
    room: int,
    job_timeout: float,
    busy: Callable[[], bool],
    activate: Callable[[int, float], list[AnyJob]],
    stopping: Callable[[], bool],
) -> None:
    """Add to ``jobs`` (fewer than ``batch``, at most ``room`` in all) while ``busy()`` says the queue still
    holds a message nobody took; ``activate(n, wait)`` activates up to ``n`` more, long-polling ``wait``
    seconds. An error of either ends the gathering: the jobs in hand are published as they are."""
    if batch <= 1 or not jobs:
        return
    until = time.monotonic() + min(MAX_HOLD, job_timeout / 10)
    try:
        while len(jobs) < min(batch, room) and not stopping() and time.monotonic() < until and busy():
            jobs.extend(activate(min(batch, room) - len(jobs), TOP_UP_POLL))
    except Exception:
        logger.debug("gathering more jobs into a batch stopped", exc_info=True)
