"""Waking a worker's event loop when a task ends on a thread of the threads pool.

With ``worker_disable_prefetch`` (which the bridge's worker turns on, on Redis) the consumer stops popping
while every pool slot is busy, and pops again on the next turn of its event loop. A prefork pool's result
pipe turns the loop when a task ends; a thread of the threads pool does not, so the loop turned only on its
idle timeout, a second later: with a 50 ms handler on 16 threads, 17 jobs/s instead of ~300. The worker's
boot (:func:`wake_on_task_end`) makes each task of a threads pool turn the loop once Celery has counted it
done. (Green pools run without that loop; see :mod:`zeebe_celery.transport` for theirs.)
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from celery.concurrency.thread import TaskPool as ThreadTaskPool
from kombu.asynchronous import get_event_loop

__all__ = ["WakeAfterTask", "wake_consumer", "wake_on_task_end"]


def _nothing() -> None:
    return None


def wake_consumer(_: Future[Any] | None = None) -> None:
    """Make the worker's event loop take a turn, when called off its thread while it runs; else nothing."""
    hub = get_event_loop()
    loop_thread = getattr(hub, "_loop_thread", None)
    if hub is None or loop_thread is None or loop_thread == threading.get_ident():
        return
    hub.call_soon(_nothing)  # type: ignore[no-untyped-call]  # thread-safe: it wakes the loop's poll


class WakeAfterTask:
    """For a threads pool class: turn the consumer's loop after each task (its callbacks have run by then)."""

    def on_apply(self, *args: Any, **kwargs: Any) -> Any:
        result = super().on_apply(*args, **kwargs)  # type: ignore[misc]
        result.f.add_done_callback(wake_consumer)
        return result


def wake_on_task_end(worker: Any) -> None:
    """Make a worker (Celery's WorkController) on the threads pool turn its loop after each task; other pools
    are left alone."""
    pool = getattr(worker, "pool", None)
    if isinstance(pool, ThreadTaskPool) and not isinstance(pool, WakeAfterTask):
        pool.__class__ = type(f"Waking{type(pool).__name__}", (WakeAfterTask, type(pool)), {})
        return
    pool_cls = getattr(worker, "pool_cls", None)
    if isinstance(pool_cls, type) and issubclass(pool_cls, ThreadTaskPool) and not issubclass(pool_cls, WakeAfterTask):
        worker.pool_cls = type(f"Waking{pool_cls.__name__}", (WakeAfterTask, pool_cls), {})
