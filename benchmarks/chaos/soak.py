"""``make soak``: 20,000 instances at a steady rate through the real stack, with the memory of the poller
and of the workers over time, which must stay flat.

    python -m benchmarks.chaos.soak [--instances N] [--rate R] [--no-save]

The stack is a chaos scenario's without faults (:mod:`benchmarks.chaos.stack`): the engine, Redis, one
poller and one prefork worker. Every :data:`INTERVAL` seconds the RSS (``VmRSS``) of the poller, of the
worker's main process and of each pool process is read from /proc. *Flat* compares the second half of
the run with the first quarter after warm-up: the poller's and each worker process's median RSS may grow
by at most :data:`FLAT_MIB`. Figures go to ``benchmarks/results/soak.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.chaos.observe import Observer
from benchmarks.chaos.run import Fault, Outcome, run_scenario
from benchmarks.chaos.stack import ChaosStack, Plan
from benchmarks.procstats import status_kib

__all__ = ["FLAT_MIB", "INTERVAL", "RssLog", "soak"]

RESULTS = Path(__file__).resolve().parent.parent / "results"
INTERVAL = 10.0
# Growth allowed between the early and the late part of the run, per process.
FLAT_MIB = 10.0


@dataclass
class RssLog:
    """RSS samples in KiB: (seconds since start, completed so far, {process: KiB})."""

    samples: list[tuple[float, int, dict[str, int]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def follow(self, stack: ChaosStack, observer_of: list[Observer]) -> None:
        started = time.monotonic()
        while not self._stop.wait(INTERVAL):
            rss: dict[str, int] = {}
            for index, poller in enumerate(stack.pollers):
                _put(rss, f"poller{index}", status_kib(poller.pid, "VmRSS"))
            for index, worker in enumerate(stack.workers):
                _put(rss, f"worker{index}-main", status_kib(worker.pid, "VmRSS"))
                for child, pid in enumerate(sorted(worker.child_pids())):
                    _put(rss, f"worker{index}-pool{child}", status_kib(pid, "VmRSS"))
            done = len(observer_of[0].ended) if observer_of else 0
            self.samples.append((round(time.monotonic() - started, 1), done, rss))

    def stop(self) -> None:
        self._stop.set()

    def growth_mib(self) -> dict[str, float]:
        """Per process: median RSS of the second half minus that of the first quarter after warm-up."""
        if len(self.samples) < 8:
            return {}
        quarter = len(self.samples) // 4
        early, late = self.samples[quarter // 2 : quarter], self.samples[len(self.samples) // 2 :]
        growth: dict[str, float] = {}
        for name in self.samples[-1][2]:
            before = [s[2][name] for s in early if name in s[2]]
            after = [s[2][name] for s in late if name in s[2]]
            if before and after:
                growth[name] = round((statistics.median(after) - statistics.median(before)) / 1024, 1)
        return growth


def _put(rss: dict[str, int], name: str, kib: int | None) -> None:
    if kib is not None:
        rss[name] = kib


def soak(instances: int, rate: float) -> tuple[Outcome, RssLog]:
    log = RssLog()
    observers: list[Observer] = []

    def watch(stack: ChaosStack) -> None:
        threading.Thread(target=log.follow, args=(stack, observers), name="rss", daemon=True).start()

    def collect(stack: ChaosStack, observer: Observer, outcome: Outcome) -> None:
        log.stop()

    plan = Plan("soak", instances=instances, rate=rate, job_timeout=60.0, work=0.0, max_jobs=32, drain=120.0)
    outcome = run_scenario(
        plan, [Fault(0.0, "RSS sampling starts", watch)], inspect=collect, on_observer=observers.append
    )
    return outcome, log


def report(outcome: Outcome, log: RssLog) -> str:
    growth = log.growth_mib()
    names = sorted(log.samples[-1][2]) if log.samples else []
    lines = [
        "# Soak",
        "",
        f"{outcome.plan.instances} instances at {outcome.plan.rate:g}/s through one poller and one worker with "
        f"{outcome.plan.concurrency} pool processes, {outcome.seconds:.0f} s in all: {outcome.completed} "
        f"completed, {outcome.lost} lost, {outcome.duplicates} duplicate runs, "
        f"{outcome.slots_leaked} slots leaked, {outcome.timed_out} jobs timed out.",
        "",
        f"RSS growth (median of the second half minus the first quarter after warm-up; flat means at most "
        f"{FLAT_MIB:g} MiB): " + ", ".join(f"{name} {value:+.1f} MiB" for name, value in growth.items()),
        "",
        "| s | completed | " + " | ".join(f"{n} MiB" for n in names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    step = max(1, len(log.samples) // 30)
    for at, done, rss in log.samples[::step]:
        cells = [f"{rss[n] / 1024:.1f}" if n in rss else "" for n in names]
        lines.append(f"| {at:.0f} | {done} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=20.0, help="instances per second (default 20)")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    outcome, log = soak(args.instances, args.rate)
    text = report(outcome, log)
    print(text)
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "soak.md").write_text(text)
        payload: dict[str, Any] = {**outcome.row(), "rate": args.rate, "growth_mib": log.growth_mib()}
        payload["samples"] = log.samples
        (RESULTS / "soak.json").write_text(json.dumps(payload, indent=1) + "\n")
    flat = all(value <= FLAT_MIB for value in log.growth_mib().values())
    return 0 if flat and not outcome.lost and not outcome.slots_leaked else 1


if __name__ == "__main__":
    sys.exit(main())
