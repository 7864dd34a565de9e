"""Celery's floor: a no-op Celery task, no Zeebe, on the same worker, pool, flags and broker as the bridge.

The bench app's ``bench.floor`` task does nothing. A backlog of its messages is published to a queue of its
own before one prefork worker with one pool process starts; throughput and the worker's CPU are read over
the middle 80% of the drain (the queue's length, sampled). What the bridge costs per job beyond this is its
own share: the poller, the job's validation, the handler's binding and the report.
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

import redis
from celery import Celery

from benchmarks.contenders import MAX_JOBS, REPORT_CONCURRENCY
from benchmarks.procs import APP, REPO, CeleryWorker
from benchmarks.procstats import Sampler
from benchmarks.stack import Stack, say

__all__ = ["FLOOR_TASK", "measure_floor", "publish"]

FLOOR_TASK = "bench.floor"
_POLL = 0.01


def publish(broker_url: str, queue: str, count: int) -> None:
    app = Celery("floor-load", broker=broker_url, set_as_current=False)
    try:
        with app.producer_or_acquire() as producer:
            for _ in range(count):
                app.send_task(FLOOR_TASK, queue=queue, producer=producer, serializer="json", retry=False)
    finally:
        app.close()


def _drain(store: Any, queue: str, count: int, timeout: float) -> list[tuple[float, int]]:
    """(time, queue length) until the queue is empty; raises TimeoutError."""
    points: list[tuple[float, int]] = []
    deadline = time.monotonic() + timeout
    while True:
        length = int(store.llen(queue))
        points.append((time.time(), length))
        if length == 0:
            return points
        if time.monotonic() > deadline:
            raise TimeoutError(f"the floor worker left {length} of {count} messages in {timeout:.0f}s")
        time.sleep(_POLL)


def _crossing(points: list[tuple[float, int]], level: float) -> float:
    return next(at for at, length in points if length <= level)


def measure_floor(stack: Stack, count: int, *, timeout: float = 120.0) -> dict[str, Any]:
    """Celery's own throughput and CPU per task for a no-op, as the bridge's worker runs it."""
    queue = f"bench.floor-{uuid.uuid4().hex[:8]}"
    env = stack.env(max_jobs=MAX_JOBS, report_concurrency=REPORT_CONCURRENCY)
    # The bench app as the bridge's runs load it: a @zeebe_task registered, so the worker boots the same way.
    env["BENCH_NOOP_TYPE"] = f"floor-unused-{uuid.uuid4().hex[:8]}"
    publish(stack.redis.url, queue, count)
    store = redis.Redis.from_url(stack.redis.url)
    say(f"  celery floor: {count} no-op messages waiting on {queue}; starting one worker, one pool process")
    worker = CeleryWorker(APP, [queue], env=env, concurrency=1, cwd=REPO)
    worker.start(wait=False)
    try:
        sampler = Sampler([worker.pid], interval=0.1).start()
        try:
            worker.wait_ready()
            points = _drain(store, queue, count, timeout)
        finally:
            sampler.stop()
    finally:
        worker.cleanup()
        store.delete(queue)
        store.close()
    start, end = _crossing(points, 0.9 * count), _crossing(points, 0.1 * count)
    done = 0.8 * count
    cpu = sampler.cpu_between(start, end)
    result = {
        "throughput_per_s": done / (end - start) if end > start else math.nan,
        "cpu_s": cpu,
        "cpu_ms_per_job": cpu / done * 1000,
        "tasks": count,
        "processes": 1,
    }
    say(f"  celery floor: {result['throughput_per_s']:.0f} tasks/s, CPU {result['cpu_ms_per_job']:.2f} ms/task")
    return result
