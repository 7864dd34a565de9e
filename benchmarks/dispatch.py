"""The dispatch ceiling and the poller's memory: the real poller against an engine whose jobs wait for it.

Each round starts an engine of its own and creates every instance before the poller starts, so each
ActivateJobs finds a full batch at once ("instant ActivateJobs", as far as the engine allows); the
poller publishes to a real Redis. A drainer stands in for the workers: it empties the queue and frees
the jobs' flow-control slots, and counts what arrived. The jobs are never completed, so the engine does
no more than activate them. The same count, of the same messages LPUSHed by a bare redis-py pipeline,
is the floor; the ratio of the two rates is the bridge's overhead. The poller publishing batches
(``@zeebe_task(batch=32)``: one message per 32 jobs) is counted per job, by the slots the drainer frees.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis

from benchmarks.contenders import BATCH, MAX_JOBS
from benchmarks.engine_proc import EngineProcess
from benchmarks.load import Load
from benchmarks.procs import Program, poller_process
from benchmarks.procstats import Sampler, interpolate, status_kib
from benchmarks.records import RecordLog, http_source
from benchmarks.stack import say
from zeebe_celery.flow import InflightStore
from zeebe_celery.stack.fleet import stack_env

__all__ = ["measure_ceiling", "measure_memory"]

# The first jobs warm the poller up (imports, connections, caches); memory growth is counted after them.
WARM_JOBS = 1000
# The poller's bound in the dispatch runs (ZEEBE_CELERY_BENCH_CEILING_MAX_JOBS to try another).
CEILING_MAX_JOBS = os.environ.get("ZEEBE_CELERY_BENCH_CEILING_MAX_JOBS", MAX_JOBS)
# The ceiling's engines keep few records: the activations are read as they happen, nothing else is.
CEILING_RECORDS = 2000


@contextlib.contextmanager
def engine_with_jobs(job_types: dict[str, int], *, timeout: float) -> Iterator[EngineProcess]:
    """An engine of its own, with ``count`` instances of the one-task process waiting per job type."""
    with EngineProcess(records_limit=CEILING_RECORDS) as engine:
        load = Load(engine.address)
        try:
            for job_type, count in job_types.items():
                rate = load.backlog(load.deploy(job_type), count, timeout=timeout)
                say(f"  {count} jobs of {job_type} waiting (created at {rate:.0f}/s)")
        finally:
            load.close()
        yield engine


class Follower(threading.Thread):
    """Reads the engine's records every 0.2 s, for the activations' batch sizes."""

    def __init__(self, records: RecordLog) -> None:
        super().__init__(name="records", daemon=True)
        self.records = records
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(0.2):
            self.records.poll()

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.records.poll()


class Drainer(threading.Thread):
    """Empties the queue, frees the slots of what it took, and records (time, messages so far); with
    ``per_job``, (time, jobs so far), counted by the slots it frees (a batch message holds many jobs)."""

    def __init__(self, url: str, queue: str, job_type: str | None, *, keep: int = 64, per_job: bool = False) -> None:
        super().__init__(name="drainer", daemon=True)
        self.client = redis.Redis.from_url(url)
        self.store = InflightStore(self.client)
        self.queue = queue
        self.job_type = job_type
        self.keep = keep
        self.per_job = per_job
        self.kept: list[str] = []
        self.total = 0
        self.points: list[tuple[float, float]] = [(time.time(), 0.0)]
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            pipe = self.client.pipeline(transaction=True)
            if len(self.kept) < self.keep:
                pipe.lrange(self.queue, 0, self.keep - 1)
            pipe.llen(self.queue)
            pipe.delete(self.queue)
            replies = pipe.execute()
            if len(self.kept) < self.keep:
                self.kept.extend(m.decode() for m in replies[0][: self.keep - len(self.kept)])
            taken = int(replies[-2])
            if self.job_type is not None:
                freed = self._free_slots()
                taken = freed if self.per_job else taken
            if taken:
                self.total += taken
                self.points.append((time.time(), float(self.total)))
            else:
                time.sleep(0.001)

    def _free_slots(self) -> int:
        assert self.job_type is not None
        members = self.client.zrange(self.store.key(self.job_type), 0, -1)
        jobs = []
        for member in members:
            if not member.startswith(b"r:"):
                key, _, deadline = member.partition(b":")
                jobs.append((int(key), int(deadline)))
        return self.store.release(self.job_type, jobs) if jobs else 0

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.client.close()

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.total < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def steady_rate(self) -> float:
        """Messages/s between 10% and 90% of what arrived, from the (time, count) points."""
        if self.total < 10:
            return math.nan
        inverse = [(count, at) for at, count in self.points]
        start = interpolate(inverse, 0.1 * self.total)
        end = interpolate(inverse, 0.9 * self.total)
        return 0.8 * self.total / (end - start) if end > start else math.nan


def _run_poller(
    redis_url: str,
    address: str,
    records: RecordLog | None,
    job_type: str,
    count: int,
    timeout: float,
    *,
    memory: bool,
    batch: int = 1,
) -> dict[str, Any]:
    """The poller dispatching ``count`` jobs of ``job_type`` from the engine at ``address`` (``batch`` jobs
    per message)."""
    queue = f"zeebe.{job_type}"
    env = stack_env(zeebe_address=address, redis_url=redis_url, max_jobs=CEILING_MAX_JOBS)
    env["BENCH_NOOP_TYPE"] = job_type
    env["BENCH_BATCH"] = str(batch)
    drainer = Drainer(redis_url, queue, job_type, per_job=batch > 1)
    drainer.start()
    follower = Follower(records) if records is not None else None
    poller = poller_process(env)
    try:
        if follower is not None:
            follower.start()
        poller.start()
        sampler = Sampler([poller.pid], rss_pid=poller.pid, interval=0.5, probe=lambda: drainer.total).start()
        done = drainer.wait_for(count, timeout)
        sampler.stop()
        peak = status_kib(poller.pid, "VmHWM") or 0
    finally:
        poller.cleanup()
        drainer.stop()
        if follower is not None:
            follower.stop()
    rate = drainer.steady_rate()
    inverse = [(c, at) for at, c in drainer.points]
    start = interpolate(inverse, 0.1 * drainer.total)
    end = interpolate(inverse, 0.9 * drainer.total)
    cpu = sampler.cpu_between(start, end)
    result: dict[str, Any] = {
        "per_s": rate,
        "jobs": drainer.total,
        "complete": done,
        "batch_mean": records.mean_batch(job_type, 0, math.inf) if records is not None else math.nan,
        "poller_cpu_us_per_job": cpu / (0.8 * drainer.total) * 1e6 if drainer.total else math.nan,
        "poller_peak_rss_mb": peak / 1024,
        "payloads": drainer.kept,
    }
    if memory:
        result["rss"] = [(s.extra, s.rss_kib) for s in sampler.samples if s.rss_kib is not None]
    return result


def _run_raw(
    redis_url: str, job_type: str, payloads: list[str], count: int, batch: int, timeout: float, *, activate: str | None
) -> float:
    """LPUSH ``count`` of ``payloads`` in batches; with ``activate`` (an engine's address), each batch is
    first fetched from it with one ActivateJobs call."""
    queue = f"zeebe.{job_type}"
    with tempfile.TemporaryDirectory(prefix="bench-lpush-") as scratch:
        path = Path(scratch) / "payloads.json"
        path.write_text(json.dumps(payloads))
        argv = [sys.executable, "-m", "benchmarks.raw_lpush", redis_url, queue, str(path), str(count), str(batch)]
        if activate is not None:
            argv += ["--activate", activate, job_type]
        drainer = Drainer(redis_url, queue, None, keep=0)
        drainer.start()
        pusher = Program("raw-lpush", argv, ready_marker="raw lpush ready")
        try:
            pusher.start()
            drainer.wait_for(count, timeout)
        finally:
            pusher.cleanup()
            drainer.stop()
    return drainer.steady_rate()


def measure_ceiling(redis_url: str, *, count: int, rounds: int, timeout: float) -> dict[str, Any]:
    """Poller vs raw LPUSH, ``rounds`` times each, interleaved; medians and every round.

    Each round has an engine of its own with ``count`` jobs waiting for the poller and ``count`` for the
    raw ActivateJobs + LPUSH loop.
    """
    polled: list[dict[str, Any]] = []
    batched: list[dict[str, Any]] = []
    raw: list[float] = []
    activate_raw: list[float] = []
    for round_no in range(1, rounds + 1):
        job_type = f"ceiling-{round_no}"
        both_type = f"{job_type}-both"
        batched_type = f"{job_type}-batched"
        jobs = {job_type: count, both_type: count, batched_type: count}
        with engine_with_jobs(jobs, timeout=timeout) as engine:
            records = RecordLog(http_source(engine.monitor_url))
            batched_run = _run_poller(
                redis_url, engine.address, records, batched_type, count, timeout, memory=False, batch=BATCH
            )
            batched_run.pop("payloads")
            run = _run_poller(redis_url, engine.address, records, job_type, count, timeout, memory=False)
            batch = max(1, round(run["batch_mean"])) if math.isfinite(run["batch_mean"]) else int(CEILING_MAX_JOBS)
            payloads = run.pop("payloads")
            raw_rate = _run_raw(redis_url, f"{job_type}-raw", payloads, count, batch, timeout, activate=None)
            both_rate = _run_raw(redis_url, both_type, payloads, count, batch, timeout, activate=engine.address)
        polled.append(run)
        batched.append(batched_run)
        raw.append(raw_rate)
        activate_raw.append(both_rate)
        say(
            f"  dispatch round {round_no}: poller {run['per_s']:.0f}/s (batches of {run['batch_mean']:.1f}), "
            f"batched {batched_run['per_s']:.0f} jobs/s, raw LPUSH {raw_rate:.0f}/s, "
            f"raw ActivateJobs + LPUSH {both_rate:.0f}/s"
        )
    zc = sorted(r["per_s"] for r in polled)[len(polled) // 2]
    return {
        "zeebe_celery_per_s": zc,
        "zeebe_celery_batched_per_s": _median([r["per_s"] for r in batched]),
        "batch": BATCH,
        "batched_poller_cpu_us_per_job": _median([r["poller_cpu_us_per_job"] for r in batched]),
        "raw_lpush_per_s": sorted(raw)[len(raw) // 2],
        "raw_activate_and_lpush_per_s": sorted(activate_raw)[len(activate_raw) // 2],
        "jobs_per_round": count,
        "rounds": [
            {
                "zeebe_celery_per_s": p["per_s"],
                "raw_lpush_per_s": r,
                "raw_activate_and_lpush_per_s": a,
                "batch_mean": p["batch_mean"],
                "poller_cpu_us_per_job": p["poller_cpu_us_per_job"],
                "complete": p["complete"],
                "zeebe_celery_batched_per_s": b["per_s"],
            }
            for p, b, r, a in zip(polled, batched, raw, activate_raw, strict=True)
        ],
        "batch_mean": sorted(p["batch_mean"] for p in polled)[len(polled) // 2],
        "poller_cpu_us_per_job": sorted(p["poller_cpu_us_per_job"] for p in polled)[len(polled) // 2],
        "max_jobs": int(CEILING_MAX_JOBS),
    }


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2] if values else math.nan


def measure_memory(redis_url: str, *, count: int, timeout: float) -> dict[str, Any]:
    """The poller's RSS while it dispatches ``count`` jobs; growth is counted after the first 1,000.

    The instances are created while the poller runs (creating them all first would take as long and hold
    them all in the engine), on an engine of its own.
    """
    with EngineProcess(records_limit=CEILING_RECORDS) as engine:
        load = Load(engine.address)
        job_type = "memory"
        process_id = load.deploy(job_type)
        creator = threading.Thread(
            target=load.backlog, args=(process_id, count), kwargs={"timeout": timeout}, name="creator", daemon=True
        )
        creator.start()
        try:
            run = _run_poller(redis_url, engine.address, None, job_type, count, timeout, memory=True)
        finally:
            creator.join()
            load.close()
    series = [(float(jobs or 0), kib / 1024) for jobs, kib in run["rss"]]
    warm = next((mb for jobs, mb in series if jobs >= WARM_JOBS), math.nan)
    end = series[-1][1] if series else math.nan
    middle = next((mb for jobs, mb in series if jobs >= run["jobs"] / 2), math.nan)
    step = max(1, len(series) // 40)
    return {
        "jobs": run["jobs"],
        "complete": run["complete"],
        "rss_start_mb": series[0][1] if series else math.nan,
        "rss_after_warmup_mb": warm,
        "warmup_jobs": WARM_JOBS,
        "rss_middle_mb": middle,
        "rss_end_mb": end,
        "growth_mb": end - warm,
        "peak_rss_mb": run["poller_peak_rss_mb"],
        "per_s": run["per_s"],
        "series": [{"jobs": int(j), "rss_mb": round(mb, 2)} for j, mb in series[::step]],
    }
