"""Sections of the benchmark report that stand on their own: Celery's floor, the async handler, the pools."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["async_wait_section", "floor_section", "fmt", "pools_section"]


def fmt(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, int | float):
        return f"{value:,.{digits}f}"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def floor_section(results: dict[str, Any]) -> list[str]:
    """Celery's floor (a no-op Celery task, no Zeebe) next to the bridge's CPU per job: the bridge's own share."""
    floor = results.get("celery_floor")
    if not floor:
        return []
    zc = results["contenders"].get("zeebe_celery", {})
    batched = zc.get("batched", {})
    floor_cpu = floor.get("cpu_ms_per_job")
    out = [
        "",
        "## Celery's floor",
        "",
        "A no-op Celery task with no Zeebe, on the same app, worker flags, pool (prefork, one process) and Redis, "
        "drained from a backlog in the same run. The bridge's own share is its CPU per job (poller and worker) "
        "beyond this floor.",
        "",
        "| | per s | CPU ms per job | beyond the floor, ms |",
        "|---|---:|---:|---:|",
        f"| Celery's floor: no-op task | {fmt(floor.get('throughput_per_s'))} | {fmt(floor_cpu, 3)} | |",
    ]
    for label, figures in (("zeebe-celery, per job", zc), ("zeebe-celery, batched", batched)):
        if figures:
            cpu = figures.get("cpu_ms_per_job")
            share = float(cpu) - float(floor_cpu) if _is_number(cpu) and _is_number(floor_cpu) else None
            out.append(f"| {label} | {fmt(figures.get('throughput_per_s'))} | {fmt(cpu, 3)} | {fmt(share, 3)} |")
    return out


def async_wait_section(results: dict[str, Any]) -> list[str]:
    """An async handler awaiting on I/O: pyzeebe's loop against a batch on a pool process's loop."""
    phase = results.get("async_wait")
    if not phase:
        return []
    out = [
        "",
        f"## Async handler awaiting {phase.get('wait_ms')} ms",
        "",
        f"One process each: pyzeebe runs up to 32 jobs at once on its loop; zeebe-celery sends batches of "
        f"{phase.get('batch')} jobs, whose handlers run concurrently on the pool process's loop.",
        "",
        "| contender | instances/s | p50 ms | p99 ms | CPU ms/job |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, key in (("pyzeebe", "pyzeebe"), ("zeebe-celery, batched", "zeebe_celery_batched")):
        c = phase.get(key, {})
        out.append(
            f"| {label} | {fmt(c.get('throughput_per_s'))} | {fmt(c.get('p50_ms'))} | {fmt(c.get('p99_ms'))} "
            f"| {fmt(c.get('cpu_ms_per_job'), 2)} |"
        )
    return out


def pools_section(results: dict[str, Any]) -> list[str]:
    """Prefork, threads and gevent for I/O-bound handlers: throughput and CPU per job of each."""
    phase = results.get("pools")
    if not phase:
        return []
    out = [
        "",
        "## Pools for I/O-bound handlers",
        "",
        f"One Celery worker with {phase.get('concurrency')} pool processes, threads or greenlets, and the poller; "
        "each job a message of its own. The handler waits 50 ms: a sync one sleeping, an async one awaiting "
        f"(on its pool process's or its thread's loop). At most {fmt(phase.get('ideal_per_s'), 0)} jobs/s.",
        "",
        "| pool | handler | instances/s | p50 ms | p99 ms | CPU ms/job |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for run in phase.get("runs", {}).values():
        if run.get("failed"):
            out.append(f"| {run.get('pool')} | {run.get('handler')} | refused: {run['failed']} | | | |")
            continue
        out.append(
            f"| {run.get('pool')} | {run.get('handler')} | {fmt(run.get('throughput_per_s'))} | "
            f"{fmt(run.get('p50_ms'))} | {fmt(run.get('p99_ms'))} | {fmt(run.get('cpu_ms_per_job'), 2)} |"
        )
    return out
