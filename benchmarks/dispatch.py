"""The dispatch ceiling and the poller's memory: the real poller against a gateway that answers at once.

The fake gateway (zeebe_celery.testing.fake_gateway) hands out jobs as fast as they are asked for; the
poller publishes them to a real Redis. A drainer stands in for the workers: it empties the queue and
frees the jobs' flow-control slots, and counts what arrived. The same count, of the same messages
LPUSHed by a bare redis-py pipeline, is the floor; the ratio of the two rates is the bridge's overhead.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import redis

from benchmarks.contenders import MAX_JOBS
from benchmarks.procs import Program, poller_process
from benchmarks.procstats import Sampler, interpolate, status_kib
from benchmarks.stack import say
from zeebe_celery.flow import InflightStore
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.stack.fleet import stack_env
from zeebe_celery.testing.fake_gateway import FakeGateway, make_job

__all__ = ["measure_ceiling", "measure_memory"]

# The first jobs warm the poller up (imports, connections, caches); memory growth is counted after them.
WARM_JOBS = 1000


class JobSupply:
    """ActivateJobs answers: copies of one job with fresh keys, until ``total`` were handed out."""

    def __init__(self, job_type: str, total: int) -> None:
        self.template = make_job(0, job_type, variables={"n": 1}, bpmn_process_id=job_type)
        self.total = total
        self.issued = 0
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, request: pb.ActivateJobsRequest) -> list[pb.ActivatedJob]:
        with self._lock:
            first = self.issued
            count = min(request.maxJobsToActivate, self.total - first)
            self.issued += count
            self.calls += 1 if count else 0
        deadline = int((time.time() + 300) * 1000)
        jobs = []
        for key in range(first + 1, first + count + 1):
            job = pb.ActivatedJob()
            job.CopyFrom(self.template)
            job.key = key
            job.deadline = deadline
            jobs.append(job)
        return jobs


class Drainer(threading.Thread):
    """Empties the queue, frees the slots of what it took, and records (time, messages so far)."""

    def __init__(self, url: str, queue: str, job_type: str | None, *, keep: int = 64) -> None:
        super().__init__(name="drainer", daemon=True)
        self.client = redis.Redis.from_url(url)
        self.store = InflightStore(self.client)
        self.queue = queue
        self.job_type = job_type
        self.keep = keep
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
                self._free_slots()
            if taken:
                self.total += taken
                self.points.append((time.time(), float(self.total)))
            else:
                time.sleep(0.001)

    def _free_slots(self) -> None:
        assert self.job_type is not None
        members = self.client.zrange(self.store.key(self.job_type), 0, -1)
        jobs = []
        for member in members:
            if not member.startswith(b"r:"):
                key, _, deadline = member.partition(b":")
                jobs.append((int(key), int(deadline)))
        if jobs:
            self.store.release(self.job_type, jobs)

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


def _run_poller(redis_url: str, job_type: str, count: int, timeout: float, *, memory: bool) -> dict[str, Any]:
    supply = JobSupply(job_type, count)
    queue = f"zeebe.{job_type}"
    with FakeGateway(record_calls=False) as gateway:
        gateway.set_job_factory(job_type, supply)
        env = stack_env(zeebe_address=gateway.address, redis_url=redis_url, max_jobs=MAX_JOBS)
        env["BENCH_NOOP_TYPE"] = job_type
        drainer = Drainer(redis_url, queue, job_type)
        drainer.start()
        poller = poller_process(env)
        try:
            poller.start()
            sampler = Sampler([poller.pid], rss_pid=poller.pid, interval=0.5, probe=lambda: drainer.total).start()
            done = drainer.wait_for(count, timeout)
            sampler.stop()
            peak = status_kib(poller.pid, "VmHWM") or 0
        finally:
            poller.cleanup()
            drainer.stop()
    rate = drainer.steady_rate()
    inverse = [(c, at) for at, c in drainer.points]
    start = interpolate(inverse, 0.1 * drainer.total)
    end = interpolate(inverse, 0.9 * drainer.total)
    cpu = sampler.cpu_between(start, end)
    result: dict[str, Any] = {
        "per_s": rate,
        "jobs": drainer.total,
        "complete": done,
        "batch_mean": supply.issued / supply.calls if supply.calls else math.nan,
        "poller_cpu_us_per_job": cpu / (0.8 * drainer.total) * 1e6 if drainer.total else math.nan,
        "poller_peak_rss_mb": peak / 1024,
        "payloads": drainer.kept,
    }
    if memory:
        result["rss"] = [(s.extra, s.rss_kib) for s in sampler.samples if s.rss_kib is not None]
    return result


def _run_raw(
    redis_url: str, job_type: str, payloads: list[str], count: int, batch: int, timeout: float, *, activate: bool
) -> float:
    """LPUSH ``count`` of ``payloads`` in batches; with ``activate``, each batch fetched from a fake gateway."""
    queue = f"zeebe.{job_type}"
    with tempfile.TemporaryDirectory(prefix="bench-lpush-") as scratch, contextlib.ExitStack() as stack:
        path = Path(scratch) / "payloads.json"
        path.write_text(json.dumps(payloads))
        argv = [sys.executable, "-m", "benchmarks.raw_lpush", redis_url, queue, str(path), str(count), str(batch)]
        if activate:
            gateway = stack.enter_context(FakeGateway(record_calls=False))
            gateway.set_job_factory(job_type, JobSupply(job_type, count))
            argv += ["--activate", gateway.address, job_type]
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
    """Poller vs raw LPUSH, ``rounds`` times each, interleaved; medians and every round."""
    polled: list[dict[str, Any]] = []
    raw: list[float] = []
    activate_raw: list[float] = []
    for round_no in range(1, rounds + 1):
        job_type = f"ceiling-{round_no}"
        run = _run_poller(redis_url, job_type, count, timeout, memory=False)
        batch = max(1, round(run["batch_mean"]))
        payloads = run.pop("payloads")
        raw_rate = _run_raw(redis_url, f"{job_type}-raw", payloads, count, batch, timeout, activate=False)
        both_rate = _run_raw(redis_url, f"{job_type}-both", payloads, count, batch, timeout, activate=True)
        polled.append(run)
        raw.append(raw_rate)
        activate_raw.append(both_rate)
        say(
            f"  dispatch round {round_no}: poller {run['per_s']:.0f}/s (batches of {run['batch_mean']:.1f}), "
            f"raw LPUSH {raw_rate:.0f}/s, raw ActivateJobs + LPUSH {both_rate:.0f}/s"
        )
    zc = sorted(r["per_s"] for r in polled)[len(polled) // 2]
    return {
        "zeebe_celery_per_s": zc,
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
            }
            for p, r, a in zip(polled, raw, activate_raw, strict=True)
        ],
        "batch_mean": sorted(p["batch_mean"] for p in polled)[len(polled) // 2],
        "poller_cpu_us_per_job": sorted(p["poller_cpu_us_per_job"] for p in polled)[len(polled) // 2],
        "max_jobs": int(MAX_JOBS),
    }


def measure_memory(redis_url: str, *, count: int, timeout: float) -> dict[str, Any]:
    """The poller's RSS while it dispatches ``count`` jobs; growth is counted after the first 1,000."""
    run = _run_poller(redis_url, "memory", count, timeout, memory=True)
    series = [(float(jobs or 0), kib / 1024) for jobs, kib in run["rss"]]
    warm = next((mb for jobs, mb in series if jobs >= WARM_JOBS), math.nan)
    end = series[-1][1] if series else math.nan
    step = max(1, len(series) // 40)
    return {
        "jobs": run["jobs"],
        "complete": run["complete"],
        "rss_start_mb": series[0][1] if series else math.nan,
        "rss_after_warmup_mb": warm,
        "warmup_jobs": WARM_JOBS,
        "rss_end_mb": end,
        "growth_mb": end - warm,
        "peak_rss_mb": run["poller_peak_rss_mb"],
        "per_s": run["per_s"],
        "series": [{"jobs": int(j), "rss_mb": round(mb, 2)} for j, mb in series[::step]],
    }
