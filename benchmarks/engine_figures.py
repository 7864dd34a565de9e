"""The engine's own memory figures: RSS per waiting instance, and RSS growth over many completed instances.

Each figure has an engine process of its own, started with a small retention of exported records
(:data:`RECORDS_LIMIT`): the record log is bounded by design, and with the default (100,000 records) it
would be most of what is measured. The log fills during the warm-up, so from then on it holds a constant
amount. RSS is ``VmRSS`` of the engine process; a KB here is 1,000 bytes.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any

import grpc

from benchmarks.engine_proc import EngineProcess
from benchmarks.load import BPMN, Load
from benchmarks.procstats import Sampler, cpu_seconds, status_kib
from benchmarks.stack import say
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub

__all__ = ["RECORDS_LIMIT", "Completer", "measure_completed", "measure_waiting"]

RECORDS_LIMIT = 1000
WAITING_BPMN = Path(__file__).with_name("waiting.bpmn")
# Instances through the engine before the baseline: imports and caches, and its two bounded logs filled
# (the exported records, and the last 10,000 calls that its fault injection keeps for tests).
WARM_INSTANCES = 5000
# The raw loop's job timeout, as raw_worker's: a completed job's timeout stays in the timer heap until due.
JOB_TIMEOUT_MS = 10_000


class Completer(threading.Thread):
    """The raw gRPC loop in a thread: activate up to 32 jobs, complete each asynchronously, at most 64 held.

    ``done`` counts the completions the engine acknowledged.
    """

    def __init__(self, address: str, job_type: str, *, batch: int = 32, in_flight: int = 64) -> None:
        super().__init__(name=f"completer-{job_type}", daemon=True)
        self.channel = grpc.insecure_channel(address)
        self.stub = GatewayStub(self.channel)
        self.job_type = job_type
        self.batch = batch
        self.slots = threading.Semaphore(in_flight)
        self.done = 0
        self.failed = 0
        self._lock = threading.Lock()
        self._halt = threading.Event()

    def _completed(self, future: grpc.Future[pb.CompleteJobResponse]) -> None:
        with self._lock:
            if future.exception() is None:
                self.done += 1
            else:
                self.failed += 1
        self.slots.release()

    def run(self) -> None:
        while not self._halt.is_set():
            request = pb.ActivateJobsRequest(
                type=self.job_type,
                worker="bench",
                timeout=JOB_TIMEOUT_MS,
                maxJobsToActivate=self.batch,
                requestTimeout=1000,
            )
            try:
                for response in self.stub.ActivateJobs(request, timeout=10):
                    for job in response.jobs:
                        self.slots.acquire()
                        future = self.stub.CompleteJob.future(pb.CompleteJobRequest(jobKey=job.key), timeout=30)
                        future.add_done_callback(self._completed)
            except grpc.RpcError:
                if self._halt.is_set():
                    return
                time.sleep(0.1)

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.done < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self) -> None:
        self._halt.set()
        self.channel.close()
        self.join(timeout=15)


def _mb(kib: int | None) -> float:
    return math.nan if kib is None else kib / 1024


def measure_completed(count: int, *, timeout: float) -> dict[str, Any]:
    """Engine RSS over ``count`` one-task instances created and completed by a raw loop, after a warm-up."""
    with EngineProcess(records_limit=RECORDS_LIMIT) as engine:
        load = Load(engine.address)
        process_id = load.deploy("completed")
        completer = Completer(engine.address, "completed")
        completer.start()
        try:
            load.backlog(process_id, WARM_INSTANCES, timeout=timeout)
            warmed = completer.wait_for(WARM_INSTANCES, timeout)
            rss_warm = status_kib(engine.pid, "VmRSS")
            cpu_before = cpu_seconds(engine.pid)
            sampler = Sampler([engine.pid], rss_pid=engine.pid, interval=0.5, probe=lambda: completer.done).start()
            started = time.monotonic()
            load.backlog(process_id, count, timeout=timeout, first=WARM_INSTANCES)
            finished = completer.wait_for(WARM_INSTANCES + count, timeout)
            elapsed = time.monotonic() - started
            sampler.stop()
            cpu = cpu_seconds(engine.pid) - cpu_before
            rss_end = status_kib(engine.pid, "VmRSS")
            peak = status_kib(engine.pid, "VmHWM")
        finally:
            completer.stop()
            load.close()
    series = [(float(s.extra or 0) - WARM_INSTANCES, _mb(s.rss_kib)) for s in sampler.samples]
    step = max(1, len(series) // 40)
    growth = _mb(rss_end) - _mb(rss_warm)
    say(f"  engine RSS {_mb(rss_warm):.1f} -> {_mb(rss_end):.1f} MB over {count:,} completed instances")
    return {
        "instances": count,
        "warmup_instances": WARM_INSTANCES,
        "records_limit": RECORDS_LIMIT,
        "complete": warmed and finished and completer.failed == 0,
        "rss_after_warmup_mb": _mb(rss_warm),
        "rss_end_mb": _mb(rss_end),
        "growth_mb": growth,
        "peak_rss_mb": _mb(peak),
        "instances_per_s": count / elapsed if elapsed > 0 else math.nan,
        "engine_cpu_ms_per_instance": cpu / count * 1000 if count else math.nan,
        "series": [{"instances": int(n), "rss_mb": round(mb, 2)} for n, mb in series[::step]],
    }


def measure_waiting(count: int, *, timeout: float) -> dict[str, Any]:
    """Engine RSS per instance waiting at a job nobody takes, then per instance waiting at a message catch.

    The warm-up leaves as many instances waiting at each, before the baseline.
    """
    with EngineProcess(records_limit=RECORDS_LIMIT) as engine:
        load = Load(engine.address)
        try:
            kinds = {
                "job": load.deploy("waiting-job", template=BPMN),
                "message": load.deploy("waiting-message", template=WAITING_BPMN),
            }
            for process_id in kinds.values():
                load.backlog(process_id, WARM_INSTANCES, timeout=timeout)
            figures: dict[str, Any] = {
                "instances": count,
                "records_limit": RECORDS_LIMIT,
                "warmup_instances": 2 * WARM_INSTANCES,
            }
            for kind, process_id in kinds.items():
                before = status_kib(engine.pid, "VmRSS")
                load.backlog(process_id, count, timeout=timeout, first=WARM_INSTANCES)
                after = status_kib(engine.pid, "VmRSS")
                per = (after - before) * 1024 / 1000 / count if before is not None and after is not None else math.nan
                figures[f"{kind}_kb_per_instance"] = per
                figures[f"{kind}_rss_before_mb"] = _mb(before)
                figures[f"{kind}_rss_after_mb"] = _mb(after)
                say(f"  {count:,} instances waiting at a {kind}: {per:.2f} KB each")
        finally:
            load.close()
    figures["kb_per_instance"] = max(figures["job_kb_per_instance"], figures["message_kb_per_instance"])
    return figures
