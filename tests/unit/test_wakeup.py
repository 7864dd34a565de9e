"""A worker on the threads pool turns its event loop when a task ends (so, with worker_disable_prefetch, it
takes the next message at once instead of on the loop's idle timeout); other pools are left as they are."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from celery.concurrency import get_implementation
from kombu.asynchronous import Hub, set_event_loop

from zeebe_celery import wakeup


def test_a_threads_worker_gets_a_pool_that_wakes_its_loop_and_prefork_keeps_its_own() -> None:
    threads = SimpleNamespace(pool_cls=get_implementation("threads"))
    prefork = SimpleNamespace(pool_cls=get_implementation("prefork"))

    wakeup.wake_on_task_end(threads)
    wakeup.wake_on_task_end(prefork)

    assert issubclass(threads.pool_cls, wakeup.WakeAfterTask)
    assert issubclass(threads.pool_cls, get_implementation("threads"))
    assert prefork.pool_cls is get_implementation("prefork")


def test_the_loop_is_woken_after_the_tasks_own_callback(monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    monkeypatch.setattr(wakeup, "wake_consumer", lambda _future: events.append("woken"))
    worker = SimpleNamespace(pool=get_implementation("threads")(limit=1))
    wakeup.wake_on_task_end(worker)
    try:
        result = worker.pool.on_apply(
            lambda: events.append("ran"), (), {}, callback=lambda _: events.append("counted done")
        )
        result.wait(5)
        deadline = time.monotonic() + 5
        while len(events) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        worker.pool.executor.shutdown(wait=True)

    assert events == ["ran", "counted done", "woken"]


@pytest.fixture
def running_hub() -> Iterator[tuple[Hub, list[float]]]:
    hub = Hub()
    ticks: list[float] = []
    hub.on_tick.add(lambda: ticks.append(time.monotonic()))
    set_event_loop(hub)
    loop = hub.create_loop()
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            next(loop)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(0.2)  # the loop now waits on its idle timeout
    yield hub, ticks
    stop.set()
    wakeup.wake_consumer()
    thread.join(5)
    set_event_loop(None)
    hub.close()


def test_waking_from_another_thread_turns_the_loop_at_once(running_hub: tuple[Hub, Any]) -> None:
    _, ticks = running_hub
    before = len(ticks)
    woken_at = time.monotonic()

    wakeup.wake_consumer()
    deadline = woken_at + 2
    while len(ticks) == before and time.monotonic() < deadline:
        time.sleep(0.005)

    assert len(ticks) > before
    assert ticks[before] - woken_at < 0.2
