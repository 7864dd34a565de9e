"""Scaling out: the same poller feeding 1, 2 and 4 Celery worker processes whose handler sleeps 50 ms.

Each process is its own ``celery worker`` with a pool of one (its concurrency fixed at 1), so the ideal
is 20 jobs/s per process and the speed-up from 1 to 4 processes is 4x.
"""

from __future__ import annotations

import os
from typing import Any

from benchmarks.bench_app import SLEEP_SECONDS
from benchmarks.contenders import start_zeebe_celery
from benchmarks.procstats import Sampler
from benchmarks.stack import Stack, say
from benchmarks.stats import rate_between, steady_window

__all__ = ["CONCURRENCY", "run_scaling"]

CONCURRENCY = 1


def run_scaling(stack: Stack, processes: int, job_type: str, *, seconds: float, timeout: float) -> dict[str, Any]:
    """Drain a backlog sized for about ``seconds`` of ideal work with ``processes`` worker processes."""
    count = max(50, int(seconds * processes * CONCURRENCY / SLEEP_SECONDS))
    process_id = stack.load.deploy(job_type)
    stack.load.backlog(process_id, count, timeout=timeout)
    started, _ = start_zeebe_celery(stack, job_type, processes=CONCURRENCY, nodes=processes, sleep=True)
    sampler = Sampler([p.pid for p in started]).start()
    try:
        complete = stack.wait_completed(job_type, count, timeout=timeout)
    finally:
        sampler.stop()
        for process in reversed(started):
            process.cleanup()
    jobs = stack.records.jobs(job_type)
    start, end, window = steady_window([j.completed / 1000 for j in jobs])
    throughput = rate_between(start, end, window)
    say(f"  scaling, {processes} worker process(es): {throughput:.1f} jobs/s")
    return {
        "throughput_per_s": throughput,
        "ideal_per_s": processes * CONCURRENCY / SLEEP_SECONDS,
        "jobs": count,
        "cpu_s": sampler.cpu_between(start, end),
        "complete": complete,
        "load_average_1m": os.getloadavg()[0],
    }
