"""One run of one contender on the shared engine: a backlog for throughput, a steady rate for latency.

Each run deploys the benchmark process with a job type of its own and creates a backlog of instances
before the contender starts. Throughput is the completion rate over the steady window (the middle 80%
of the backlog's completions, by the engine's clock), and CPU is the contender's over that window.
Then instances are created at a fixed rate, well below every contender's capacity, and latency is the
engine's activation -> completion time of those jobs: the cost of the path, not of a queue.

The engine's CPU per instance is the sum of two parts: its CPU while the backlog is created, per
instance, and its CPU over the steady window, per instance completed in it (activate, complete, end).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.procs import APP, REPO, CeleryWorker, Program, poller_launcher, poller_process
from benchmarks.procstats import Sampler, cpu_seconds, status_kib
from benchmarks.records import JobTimes
from benchmarks.stack import HERE, PYZEEBE_PYTHON, Stack, say
from benchmarks.stats import percentile, rate_between, steady_window
from zeebe_celery.stack.fleet import _Process

__all__ = ["ASYNC_WAIT_MS", "BATCH", "POOL_KIND", "ContenderPlan", "run_contender", "start_zeebe_celery"]

# zeebe-celery's bound of jobs queued or running per type, as in the test stack (pyzeebe's is 32).
MAX_JOBS = "64"


@dataclass(frozen=True)
class ContenderPlan:
    backlog: int
    """Instances created before the contender starts; their drain gives throughput."""
    paced: int
    """Instances created at ``rate`` once the backlog is done; their jobs give latency."""
    rate: float
    timeout: float
    """Longest wait for either phase to complete."""


REPORT_CONCURRENCY = "32"
# The kind of a run of the pool comparison (benchmarks/pools.py): zeebe_celery_pool:<pool>:<sleep|async>.
POOL_KIND = "zeebe_celery_pool:"
# The batched contender's jobs per Celery message (``@zeebe_task(batch=...)``), as pyzeebe activates 32.
BATCH = 32
# The async contenders' handlers await this long (asyncio.sleep), as a handler waiting on I/O.
ASYNC_WAIT_MS = 50


def start_zeebe_celery(
    stack: Stack,
    job_type: str,
    *,
    processes: int,
    nodes: int = 1,
    sleep: bool = False,
    batch: int = 1,
    async_wait: bool = False,
    pool: str = "prefork",
    extra_env: Mapping[str, str] | None = None,
) -> tuple[list[_Process], _Process]:
    """Celery worker(s) with ``processes`` pool processes (threads, greenlets) each, then the poller; all ready.

    ``extra_env`` overrides the stack's environment (another broker: ``ZEEBE_CELERY_BROKER_URL``).
    Returns every process started (workers first) and the poller.
    """
    # Up to 32 reports in flight per pool process, as pyzeebe keeps up to 32 jobs running.
    env = {**stack.env(max_jobs=MAX_JOBS, report_concurrency=REPORT_CONCURRENCY), **(extra_env or {})}
    env["BENCH_ASYNC_WAIT_TYPE" if async_wait else "BENCH_SLEEP_TYPE" if sleep else "BENCH_NOOP_TYPE"] = job_type
    env["BENCH_BATCH"] = str(batch)
    workers = [
        CeleryWorker(APP, [f"zeebe.{job_type}"], env=env, concurrency=processes, pool=pool, cwd=REPO)
        for _ in range(nodes)
    ]
    started: list[_Process] = []
    try:
        for worker in workers:
            worker.start(wait=False)
            started.append(worker)
        for worker in workers:
            worker.wait_ready()
        poller = poller_process(env)
        poller.start()
        started.append(poller)
    except BaseException:
        for process in started:
            process.cleanup()
        raise
    return started, poller


def _start(
    stack: Stack, kind: str, job_type: str, processes: int, extra_env: Mapping[str, str] | None
) -> tuple[list[_Process], _Process | None]:
    if kind == "raw_grpc":
        argv = [sys.executable, "-m", "benchmarks.raw_worker", stack.engine.address, job_type]
        return [Program("raw-grpc", argv, ready_marker="raw worker ready").start()], None
    if kind in ("pyzeebe", "pyzeebe_defaults", "pyzeebe_async_wait"):
        argv = [str(PYZEEBE_PYTHON), str(HERE / "pyzeebe_worker.py"), stack.engine.address, job_type]
        # pyzeebe's one change from its defaults: with poll_retry_delay=5 a worker that reaches
        # max_running_jobs (32, which one activation fills) sleeps 5 s, whatever its jobs take, so a
        # backlog drains at 32 jobs per 5 s. "pyzeebe_defaults" keeps it, to show that.
        if kind != "pyzeebe_defaults":
            argv += ["--poll-retry-delay", "0"]
        if kind == "pyzeebe_async_wait":
            argv += ["--async-wait-ms", str(ASYNC_WAIT_MS)]
        return [Program(kind, argv, ready_marker="worker ready").start()], None
    if kind.startswith(POOL_KIND):
        # zeebe_celery_pool:<pool>:<sleep|async>: one worker of that pool, each job a message of its own.
        _, pool, handler = kind.split(":")
        return start_zeebe_celery(
            stack, job_type, processes=processes, pool=pool, sleep=handler == "sleep", async_wait=handler == "async"
        )
    if kind == "zeebe_celery_async_wait":
        return start_zeebe_celery(stack, job_type, processes=processes, batch=BATCH, async_wait=True)
    if kind == "zeebe_celery_batched":
        return start_zeebe_celery(stack, job_type, processes=processes, batch=BATCH)
    return start_zeebe_celery(stack, job_type, processes=processes, extra_env=extra_env)


def _latencies(jobs: list[JobTimes]) -> dict[str, float]:
    active = [float(j.active_ms) for j in jobs if j.active_ms is not None]
    return {f"p{q}_ms": percentile(active, q) for q in (50, 95, 99)}


def run_contender(
    stack: Stack,
    kind: str,
    job_type: str,
    plan: ContenderPlan,
    *,
    processes: int = 1,
    extra_env: Mapping[str, str] | None = None,
    servers: Sequence[int] = (),
) -> dict[str, Any]:
    """Run ``kind`` (raw_grpc, pyzeebe, zeebe_celery) through both phases; returns its figures.

    ``extra_env`` goes to zeebe_celery's processes; the CPU of ``servers`` (process ids: the brokers) over the
    steady window is reported per job as ``servers_cpu_ms_per_job``.
    """
    process_id = stack.load.deploy(job_type)
    engine_before = cpu_seconds(stack.engine.pid)
    created_rate = stack.load.backlog(process_id, plan.backlog, timeout=plan.timeout)
    create_cpu = cpu_seconds(stack.engine.pid) - engine_before
    stack.records.poll()
    say(f"  {job_type}: {plan.backlog} instances waiting (created at {created_rate:.0f}/s); starting {kind}")
    started, poller = _start(stack, kind, job_type, processes, extra_env)
    roots = [p.pid for p in started]
    sampler = Sampler(roots, rss_pid=poller.pid if poller else None).start()
    poller_sampler = Sampler([poller.pid]).start() if poller else None
    engine_sampler = Sampler([stack.engine.pid]).start()
    servers_sampler = Sampler(list(servers)).start() if servers else None
    result: dict[str, Any] = {"processes": processes if kind.startswith("zeebe_celery") else 1}
    try:
        drained = stack.wait_completed(job_type, plan.backlog, timeout=plan.timeout)
        backlog_jobs = stack.records.jobs(job_type)
        paced_start, refused = stack.load.paced(process_id, plan.paced, plan.rate)
        paced_done = stack.wait_completed(job_type, plan.backlog + plan.paced - refused, timeout=plan.timeout)
        # Peak RSS of the process that activates jobs: the poller, or the single-process worker.
        peak = status_kib(poller.pid if poller else started[0].pid, "VmHWM")
    finally:
        sampler.stop()
        engine_sampler.stop()
        if servers_sampler is not None:
            servers_sampler.stop()
        if poller_sampler is not None:
            poller_sampler.stop()
        for process in reversed(started):
            process.cleanup()
    all_jobs = stack.records.jobs(job_type)
    paced_ms = paced_start * 1000
    paced_jobs = [j for j in all_jobs if j.created is not None and j.created >= paced_ms]
    start, end, count = steady_window([j.completed / 1000 for j in backlog_jobs])
    cpu = sampler.cpu_between(start, end)
    engine_create_ms = create_cpu / plan.backlog * 1000
    engine_drain_ms = engine_sampler.cpu_between(start, end) / count * 1000 if count else math.nan
    result.update(
        {
            "throughput_per_s": rate_between(start, end, count),
            **_latencies(paced_jobs),
            **{f"saturated_{k}": v for k, v in _latencies(backlog_jobs).items()},
            "created_to_completed_p50_ms": percentile(
                [float(j.completed - j.created) for j in paced_jobs if j.created is not None], 50
            ),
            "activation_batch_mean": stack.records.mean_batch(job_type, start * 1000, end * 1000),
            "cpu_s": cpu,
            "cpu_ms_per_job": cpu / count * 1000 if count else math.nan,
            "engine_cpu_ms_per_instance": engine_create_ms + engine_drain_ms,
            "engine_create_cpu_ms_per_instance": engine_create_ms,
            "engine_drain_cpu_ms_per_instance": engine_drain_ms,
            "window_s": end - start,
            "backlog_instances": plan.backlog,
            "latency_instances": len(paced_jobs),
            "latency_rate_per_s": plan.rate,
            "peak_rss_mb": (peak or 0) / 1024,
            "complete": drained and paced_done and refused == 0,
            # The machine is shared: a busy minute shows here.
            "load_average_1m": os.getloadavg()[0],
        }
    )
    if servers_sampler is not None:
        servers_cpu = servers_sampler.cpu_between(start, end)
        result["servers_cpu_ms_per_job"] = servers_cpu / count * 1000 if count else math.nan
    if poller_sampler is not None:
        result["poller_cpu_s"] = poller_sampler.cpu_between(start, end)
        result["poller_launcher"] = poller_launcher()
    say(
        f"  {kind}: {result['throughput_per_s']:.0f} inst/s, p50 {result['p50_ms']:.1f} ms, "
        f"p99 {result['p99_ms']:.1f} ms, CPU {result['cpu_ms_per_job']:.2f} ms/job, "
        f"engine {result['engine_cpu_ms_per_instance']:.2f} ms/instance"
    )
    return result
