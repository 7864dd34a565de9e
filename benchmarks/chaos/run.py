"""Running one chaos scenario: the load at a steady rate, the faults on a timeline, and the figures after.

:func:`run_scenario` starts a :class:`ChaosStack`, creates ``plan.instances`` instances at ``plan.rate``
per second while the faults strike at their times, waits for every instance to end, stops the pollers
(SIGTERM, so they free their reservations) and counts:

- **completed** and **lost**: instances the engine ended, and those it did not within the drain time;
- **duplicates**: handler runs of a job beyond its first (from the journal);
- **max job overrun**: the longest a handler run went on past its job's deadline (0 when none did);
- **slots leaked**: flow-control slots held by a job the engine had already completed (sampled all along),
  plus any slot still held once the pollers stopped, except a killed poller's reservation within its hold.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import redis

from benchmarks.chaos.observe import Observer, Run, read_journal
from benchmarks.chaos.stack import RESERVATION_HOLD, ChaosStack, Plan

__all__ = ["Fault", "Outcome", "run_scenario"]

_CREATORS = 8
# How long one instance may take to be created while the engine is away.
_CREATE_WITHIN = 120.0


@dataclass(frozen=True)
class Fault:
    at: float
    """Seconds after the first instance was created."""
    label: str
    act: Callable[[ChaosStack], None]


@dataclass
class Outcome:
    plan: Plan
    completed: int = 0
    lost: int = 0
    duplicates: int = 0
    max_overrun: float = 0.0
    slots_leaked: int = 0
    timed_out: int = 0
    incidents: int = 0
    runs: list[Run] = field(default_factory=list)
    leaked: list[str] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    """What the scenario measured besides the table (call counts, detection times...)."""
    seconds: float = 0.0

    @property
    def instances(self) -> int:
        return self.plan.instances

    def row(self) -> dict[str, Any]:
        return {
            "scenario": self.plan.name,
            "instances": self.instances,
            "completed": self.completed,
            "lost": self.lost,
            "duplicates": self.duplicates,
            "max_job_overrun_ms": round(self.max_overrun * 1000),
            "slots_leaked": self.slots_leaked,
        }


Inspect = Callable[[ChaosStack, Observer, Outcome], None]


def run_scenario(
    plan: Plan,
    faults: list[Fault],
    *,
    inspect: Inspect | None = None,
    on_observer: Callable[[Observer], None] | None = None,
) -> Outcome:
    """Run ``plan`` with ``faults``; ``inspect`` adds the scenario's own figures before the stack stops, and
    ``on_observer`` gets the observer as soon as it follows the run."""
    started = time.monotonic()
    outcome = Outcome(plan)
    with ChaosStack(plan) as stack:
        observer = Observer(stack).start()
        if on_observer is not None:
            on_observer(observer)
        try:
            t0 = time.monotonic()
            striker = threading.Thread(target=_strike, args=(stack, faults, t0, outcome), name="faults")
            striker.start()
            keys = _feed(stack, plan, t0, outcome)
            striker.join()
            _drain(observer, keys, plan.drain, outcome)
            stack.stop_pollers()
            stack.note("pollers stopped (SIGTERM)")
            _count_slots(stack, observer, outcome)
            if inspect is not None:
                inspect(stack, observer, outcome)
            outcome.incidents = len(observer.incidents())
        finally:
            observer.stop()
        outcome.timed_out = len(observer.timed_out)
        outcome.runs = read_journal(stack.journal)
        outcome.events = list(stack.events)
    per_job = Counter(run.key for run in outcome.runs)
    outcome.duplicates = sum(count - 1 for count in per_job.values())
    outcome.max_overrun = max([0.0, *(run.overrun for run in outcome.runs)])
    outcome.seconds = time.monotonic() - started
    return outcome


def _strike(stack: ChaosStack, faults: list[Fault], t0: float, outcome: Outcome) -> None:
    for fault in sorted(faults, key=lambda f: f.at):
        delay = t0 + fault.at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        held = _await_jobs_in_flight(stack)
        outcome.figures.setdefault("jobs_in_flight_at_each_fault", {})[fault.label] = held
        stack.note(f"fault: {fault.label}")
        try:
            fault.act(stack)
        except Exception as exc:
            outcome.errors.append(f"{fault.label}: {type(exc).__name__}: {exc}")


def _await_jobs_in_flight(stack: ChaosStack, within: float = 5.0) -> int:
    """Wait (a little) until some job is activated and not yet reported, so the fault strikes work in
    flight; returns how many there are."""
    client = stack.redis_client()
    deadline = time.monotonic() + within
    try:
        while True:
            try:
                now_ms = time.time() * 1000
                members = client.zrangebyscore(stack.inflight_key, f"({now_ms}", "+inf")
                held = sum(1 for m in members if not m.startswith(b"r:"))
            except redis.RedisError:
                held = 0
            if held or time.monotonic() > deadline:
                return held
            time.sleep(0.02)
    finally:
        client.close()


def _feed(stack: ChaosStack, plan: Plan, t0: float, outcome: Outcome) -> dict[int, int]:
    """Create the instances on schedule; returns n -> instance key of those created."""
    assert stack.load is not None
    load = stack.load
    futures: dict[int, Future[int]] = {}
    with ThreadPoolExecutor(_CREATORS, thread_name_prefix="creator") as pool:
        for n in range(plan.instances):
            delay = t0 + n / plan.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures[n] = pool.submit(load.create, plan.job_type, n, time.monotonic() + _CREATE_WITHIN)
    keys: dict[int, int] = {}
    for n, future in futures.items():
        try:
            keys[n] = future.result()
        except Exception as exc:
            outcome.errors.append(f"instance {n} not created: {exc}")
    return keys


def _drain(observer: Observer, keys: dict[int, int], within: float, outcome: Outcome) -> None:
    """Wait for every created instance to end; those still active after ``within`` seconds are lost."""
    wanted = set(keys.values())
    # Ended while the engine's records of it were lost (the engine was killed before they were read).
    confirmed: set[int] = set()
    deadline = time.monotonic() + within
    last_check = time.monotonic()
    while True:
        remaining = wanted - observer.ended - confirmed
        if not remaining or time.monotonic() > deadline:
            break
        if time.monotonic() - last_check > 3.0:
            last_check = time.monotonic()
            for key in remaining:
                try:
                    if not observer.still_active(key):
                        confirmed.add(key)
                except OSError:
                    break
        time.sleep(0.25)
    outcome.completed = len(wanted & (observer.ended | confirmed))
    outcome.lost = outcome.plan.instances - outcome.completed
    outcome.figures["ended_without_a_record"] = len(confirmed - observer.ended)


def _count_slots(stack: ChaosStack, observer: Observer, outcome: Outcome) -> None:
    observer.sample_slots()
    leaked = set(observer.leaked)
    last_kill = max(stack.poller_kills, default=None)
    for member, held_until in observer.live_slots():
        # A poller killed in a long poll leaves its reservation, which lapses by design after its hold.
        if member.startswith("r:") and last_kill is not None and held_until <= last_kill + RESERVATION_HOLD + 1:
            continue
        leaked.add(member)
    outcome.leaked = sorted(leaked)
    outcome.slots_leaked = len(leaked)
