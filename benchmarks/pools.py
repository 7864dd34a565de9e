"""Pool guidance, measured: Celery's prefork, threads and gevent pools for I/O-bound handlers.

One Celery worker with :data:`CONCURRENCY` pool processes (prefork), threads or greenlets, and the poller,
drain a backlog of jobs whose handler waits 50 ms: a sync handler sleeping (``time.sleep``, which gevent's
monkey-patching turns into a cooperative wait), and an async one awaiting ``asyncio.sleep`` (run on the
loop of its pool process, or of its thread). Each job is a message of its own. The figures are the
contenders' (``benchmarks.contenders.run_contender``): throughput over the middle 80% of the drain and the
CPU of the worker's processes and the poller per job, then latency at a steady rate.
"""

from __future__ import annotations

from typing import Any

from benchmarks.contenders import POOL_KIND, ContenderPlan, run_contender
from benchmarks.stack import Stack, say

__all__ = ["CONCURRENCY", "HANDLERS", "POOLS", "run_pools"]

# Pool processes, threads or greenlets of the one worker: the most jobs it runs at once.
CONCURRENCY = 16
POOLS = ("prefork", "threads", "gevent")
HANDLERS = ("sleep", "async")


def run_pools(stack: Stack, plan: ContenderPlan) -> dict[str, Any]:
    """Each pool with each handler, once; figures by ``<pool>_<handler>``."""
    runs: dict[str, Any] = {}
    for handler in HANDLERS:
        for pool in POOLS:
            say(f"  pool {pool}, {handler} handler, concurrency {CONCURRENCY}")
            job_type = f"bench-pool-{pool}-{handler}"
            try:
                result = run_contender(stack, f"{POOL_KIND}{pool}:{handler}", job_type, plan, processes=CONCURRENCY)
            except Exception as error:  # a pool that cannot run this handler is a result too
                # The last line says why (a worker that refused to start names it there).
                why = [line for line in str(error).splitlines() if line.strip()][-1:] or [type(error).__name__]
                say(f"  pool {pool}, {handler} handler failed: {why[0]}")
                result = {"failed": why[0][:300]}
            runs[f"{pool}_{handler}"] = {"pool": pool, "handler": handler, **result}
    return {"concurrency": CONCURRENCY, "ideal_per_s": CONCURRENCY / 0.05, "runs": runs}
