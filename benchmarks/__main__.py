"""``python -m benchmarks --quick | --full``: every figure in one run, on one engine and one Redis (and one
RabbitMQ for the broker rows). ``--brokers``: the broker rows alone (results/brokers.md)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.bench_app import SLEEP_SECONDS
from benchmarks.brokers import open_rabbitmq, render_brokers, run_brokers_phase
from benchmarks.celery_floor import measure_floor
from benchmarks.contenders import ASYNC_WAIT_MS, BATCH, MAX_JOBS, REPORT_CONCURRENCY, ContenderPlan, run_contender
from benchmarks.dispatch import measure_ceiling, measure_memory
from benchmarks.engine_figures import RECORDS_LIMIT, WARM_INSTANCES, measure_completed, measure_waiting
from benchmarks.pools import CONCURRENCY as POOL_CONCURRENCY
from benchmarks.pools import run_pools
from benchmarks.report import check_shape, describe_machine, now, render_markdown, to_json, write_plot
from benchmarks.scaling import CONCURRENCY, run_scaling
from benchmarks.stack import Stack, open_stack, say
from benchmarks.stats import evaluate_targets, median_of_runs

RESULTS = Path(__file__).resolve().parent / "results"
# The scaled configuration of zeebe-celery: one Celery worker with this many pool processes.
SCALED_PROCESSES = 4


@dataclass(frozen=True)
class Mode:
    name: str
    rounds: int
    warmup: int
    contender: ContenderPlan
    pools: ContenderPlan
    """Each run of the pool comparison (benchmarks/pools.py)."""
    pyzeebe_defaults_backlog: int
    ceiling_jobs: int
    ceiling_rounds: int
    scaling_seconds: float
    scaling_rounds: int
    memory_jobs: int
    engine_waiting: int
    """Instances left waiting (at a job, then as many at a message) for the engine's RSS per instance."""
    engine_completed: int
    """Instances created and completed by a raw loop for the engine's RSS growth."""
    broker_rounds: int
    """Rounds of the broker rows (Redis, RabbitMQ classic and quorum queues)."""


MODES = {
    "quick": Mode(
        name="quick",
        rounds=1,
        warmup=600,
        contender=ContenderPlan(backlog=1200, paced=150, rate=25.0, timeout=60.0),
        pools=ContenderPlan(backlog=1200, paced=100, rate=25.0, timeout=60.0),
        pyzeebe_defaults_backlog=0,
        ceiling_jobs=10_000,
        ceiling_rounds=1,
        scaling_seconds=6.0,
        scaling_rounds=1,
        memory_jobs=0,
        engine_waiting=10_000,
        engine_completed=20_000,
        broker_rounds=1,
    ),
    "full": Mode(
        name="full",
        rounds=3,
        warmup=1500,
        contender=ContenderPlan(backlog=3000, paced=500, rate=25.0, timeout=120.0),
        pools=ContenderPlan(backlog=2000, paced=250, rate=25.0, timeout=120.0),
        pyzeebe_defaults_backlog=320,
        ceiling_jobs=20_000,
        ceiling_rounds=3,
        scaling_seconds=15.0,
        scaling_rounds=2,
        memory_jobs=100_000,
        engine_waiting=10_000,
        engine_completed=100_000,
        broker_rounds=2,
    ),
}

# What each run of the contender phase starts: (result key, contender kind, worker processes).
LINEUP = (
    ("raw_grpc", "raw_grpc", 1),
    ("pyzeebe", "pyzeebe", 1),
    ("zeebe_celery", "zeebe_celery", 1),
    ("zeebe_celery_scaled", "zeebe_celery", SCALED_PROCESSES),
    ("zeebe_celery_batched", "zeebe_celery_batched", 1),
)


def run_contenders(stack: Stack, mode: Mode) -> dict[str, Any]:
    say(f"warm-up: {mode.warmup} instances through the raw loop (not reported)")
    warm = ContenderPlan(backlog=mode.warmup, paced=20, rate=mode.contender.rate, timeout=mode.contender.timeout)
    run_contender(stack, "raw_grpc", "bench-warmup", warm)
    runs: dict[str, list[dict[str, Any]]] = {key: [] for key, _, _ in LINEUP}
    floors: list[dict[str, Any]] = []
    for round_no in range(mode.rounds):
        # Each round starts with a different contender, so none always runs on the freshest engine.
        order = LINEUP[round_no % len(LINEUP) :] + LINEUP[: round_no % len(LINEUP)]
        say(f"contenders, round {round_no + 1} of {mode.rounds}: {', '.join(key for key, _, _ in order)}")
        for key, kind, processes in order:
            job_type = f"bench-{key.replace('_', '-')}-{round_no + 1}"
            runs[key].append(run_contender(stack, kind, job_type, mode.contender, processes=processes))
        floors.append(measure_floor(stack, mode.contender.backlog, timeout=mode.contender.timeout))
    contenders: dict[str, Any] = {}
    for key, results in runs.items():
        merged = median_of_runs(results)
        if len(results) > 1:
            merged["runs"] = results
        contenders[key] = merged
    contenders["zeebe_celery"]["scaled"] = contenders.pop("zeebe_celery_scaled")
    contenders["zeebe_celery"]["batched"] = {**contenders.pop("zeebe_celery_batched"), "batch": BATCH}
    contenders["celery_floor"] = median_of_runs(floors)
    if mode.pyzeebe_defaults_backlog:
        say("pyzeebe with all its defaults (poll_retry_delay=5)")
        plan = ContenderPlan(
            backlog=mode.pyzeebe_defaults_backlog, paced=50, rate=mode.contender.rate, timeout=mode.contender.timeout
        )
        contenders["pyzeebe"]["defaults"] = run_contender(stack, "pyzeebe_defaults", "bench-pyzeebe-defaults", plan)
    return contenders


# The async-handler phase: (result key, contender kind), each with one worker process.
ASYNC_LINEUP = (("pyzeebe", "pyzeebe_async_wait"), ("zeebe_celery_batched", "zeebe_celery_async_wait"))


def run_async_wait_phase(stack: Stack, mode: Mode) -> dict[str, Any]:
    """An async handler awaiting 50 ms: pyzeebe (max_running_jobs=32) against zeebe-celery batched, one process."""
    runs: dict[str, list[dict[str, Any]]] = {key: [] for key, _ in ASYNC_LINEUP}
    for round_no in range(mode.rounds):
        order = ASYNC_LINEUP if round_no % 2 == 0 else tuple(reversed(ASYNC_LINEUP))
        for key, kind in order:
            job_type = f"bench-wait-{key.replace('_', '-')}-{round_no + 1}"
            runs[key].append(run_contender(stack, kind, job_type, mode.contender))
    return {"wait_ms": ASYNC_WAIT_MS, "batch": BATCH, **{key: median_of_runs(r) for key, r in runs.items()}}


def run_scaling_phase(stack: Stack, mode: Mode) -> dict[str, Any]:
    counts = (1, 2, 4)
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in counts}
    for round_no in range(mode.scaling_rounds):
        order = counts if round_no % 2 == 0 else tuple(reversed(counts))
        for n in order:
            job_type = f"bench-scale-{n}-{round_no + 1}"
            runs[n].append(run_scaling(stack, n, job_type, seconds=mode.scaling_seconds, timeout=120.0))
    merged = {str(n): median_of_runs(r) for n, r in runs.items()}
    one = merged["1"]["throughput_per_s"]
    four = merged["4"]["throughput_per_s"]
    return {
        "handler_sleep_ms": SLEEP_SECONDS * 1000,
        "concurrency_per_process": CONCURRENCY,
        "runs": merged,
        "throughput_per_s": {n: r["throughput_per_s"] for n, r in merged.items()},
        "speedup_1_to_4": four / one if one else float("nan"),
    }


def run_engine_phase(mode: Mode) -> dict[str, Any]:
    say(f"engine memory: {mode.engine_waiting:,} instances waiting at a job, then as many at a message")
    waiting = measure_waiting(mode.engine_waiting, timeout=300.0)
    say(f"engine memory: {mode.engine_completed:,} instances completed by a raw loop")
    completed = measure_completed(mode.engine_completed, timeout=600.0)
    return {"waiting": waiting, "completed": completed}


def method(mode: Mode) -> dict[str, Any]:
    plan = mode.contender
    scaled = (
        f" (quick run: {mode.engine_completed:,} completed instances, not the target's 100,000)"
        if mode.engine_completed < 100_000
        else ""
    )
    return {
        "latency_rate_per_s": plan.rate,
        "rounds": mode.rounds,
        "notes": [
            "The engine is the project's own (zeebe_celery.engine), in a process of its own "
            "(benchmarks/engine_proc.py), in memory, with its default retention of 100,000 exported records; "
            "the bridge, the contenders and the harness run in other processes.",
            f"{mode.rounds} round(s) of the contenders, interleaved with a rotating order; figures are medians. "
            f"Each run: {plan.backlog} instances created before the contender starts (throughput over the middle "
            f"80% of their completions, by engine time), then {plan.paced} at {plan.rate:.0f}/s (latency).",
            "Latency = engine timestamp of the job's COMPLETED record minus that of the JOB_BATCH ACTIVATED record "
            "that handed it out, read from the engine's inspection port (GET /records) every 0.2 s while a run "
            "waits; those reads are part of the engine's CPU.",
            "Engine CPU per instance = its CPU while the backlog is created / instances, plus its CPU over the "
            "steady window / instances completed in it (create, activate, complete, end). Bridge CPU per job = "
            "the CPU of the poller and the Celery worker processes over the same window / jobs.",
            "Engine memory: an engine process of its own for each figure, keeping only "
            f"{RECORDS_LIMIT:,} exported records (the retention is bounded by design; at the default of 100,000 "
            f"it would be most of what is measured), warmed up with {WARM_INSTANCES:,} instances (of each kind, for "
            "the waiting ones) so that the record log and the engine's log of its last 10,000 calls are full. "
            "RSS per waiting instance = VmRSS delta / instances, at a job nobody takes and at a message catch "
            f"nobody correlates, the larger counts; 1 KB = 1,000 bytes. RSS growth = VmRSS after the warm-up to "
            f"VmRSS once every instance completed{scaled}; that raw loop activates with a 10 s job timeout, as "
            "raw_worker does (a completed job's timeout stays in the engine's timer heap until it is due).",
            "Dispatch ceiling: an engine of its own per round, with every job created before the poller starts, "
            "so each ActivateJobs finds a full batch; the jobs are never completed.",
            "raw_grpc: one process on the generated stubs: ActivateJobs (up to 32 per call), a CompleteJob per "
            "job sent as a future, the next ActivateJobs without waiting for them; at most 64 jobs in flight.",
            "pyzeebe: one process, ZeebeWorker defaults (max_jobs_to_activate=32, max_running_jobs=32, "
            "timeout 10 s) and an async no-op task, except poll_retry_delay=0: with its default of 5 s a full "
            "worker sleeps 5 s after each batch ('pyzeebe, all defaults' in the full run).",
            f"zeebe_celery: the poller (max_jobs={MAX_JOBS}) plus one Celery prefork worker with 1 pool process; "
            f"'scaled' has {SCALED_PROCESSES}. Settings as examples/app.py (prefetch multiplier 1, JSON only, "
            "no kombu ack emulation, Celery's own defaults otherwise, log level INFO) and "
            f"ZEEBE_CELERY_REPORT_CONCURRENCY={REPORT_CONCURRENCY} (reports in flight per pool process).",
            f"zeebe_celery, batched: as zeebe_celery, with @zeebe_task(batch={BATCH}): the jobs of one activation "
            f"go as one Celery message of up to {BATCH} jobs.",
            f"Async handler awaiting {ASYNC_WAIT_MS} ms (asyncio.sleep): pyzeebe as above (max_running_jobs=32) "
            f"against zeebe_celery, batched ({BATCH} jobs per message, ZEEBE_CELERY_BATCH_CONCURRENCY 32), "
            "each with one process; same backlog and paced phases as the contenders.",
            f"Pools: one Celery worker with {POOL_CONCURRENCY} pool processes (prefork), threads or greenlets "
            "(gevent, monkey-patched by Celery), and the poller; each job a message of its own; a sync handler "
            "sleeping 50 ms (time.sleep) and an async one awaiting 50 ms (asyncio.sleep, on the loop of its pool "
            f"process or thread); once each, {mode.pools.backlog} instances drained and {mode.pools.paced} at "
            f"{mode.pools.rate:.0f}/s; CPU = the worker's processes and the poller.",
            "Celery's floor: the bench app's no-op Celery task (no Zeebe), on the same worker flags, prefork pool "
            "with one process and Redis, once per round; a backlog of as many messages as a contender's is "
            "published first, and throughput and the worker's CPU are read over the middle 80% of the drain "
            "(the queue's length, sampled every 10 ms).",
            "CPU = utime+stime from /proc of the contender's processes and their children; RSS = VmHWM.",
            "The machine is shared: the load average at start and end is in the machine table.",
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_const", const="quick", dest="mode", help="at most 5 minutes")
    group.add_argument("--full", action="store_const", const="full", dest="mode", help="at most 20 minutes")
    group.add_argument(
        "--brokers",
        action="store_const",
        const="brokers",
        dest="mode",
        help="only the broker rows (Redis, RabbitMQ classic and quorum), 3 quick-sized rounds: results/brokers.md",
    )
    args = parser.parse_args(argv)
    if args.mode == "brokers":
        # Quick-sized runs, three rounds: the rows alone take a few minutes.
        return run_brokers_only(dataclasses.replace(MODES["quick"], broker_rounds=3))
    mode = MODES[args.mode or "quick"]
    began = time.monotonic()
    results: dict[str, Any] = {"mode": mode.name, "started_at": now(), "machine": describe_machine()}
    with open_stack() as stack:
        results["contenders"] = run_contenders(stack, mode)
        results["celery_floor"] = results["contenders"].pop("celery_floor")
        say(f"async handler awaiting {ASYNC_WAIT_MS} ms: pyzeebe against zeebe-celery batched")
        results["async_wait"] = run_async_wait_phase(stack, mode)
        say(f"pools: prefork, threads and gevent, {POOL_CONCURRENCY} each, for handlers waiting 50 ms")
        results["pools"] = run_pools(stack, mode.pools)
        say("dispatch ceiling: poller vs raw LPUSH, jobs waiting in an engine of their own")
        results["dispatch_ceiling"] = measure_ceiling(
            stack.redis.url, count=mode.ceiling_jobs, rounds=mode.ceiling_rounds, timeout=120.0
        )
        say("scaling: 1, 2 and 4 worker processes, 50 ms handler")
        results["scaling"] = run_scaling_phase(stack, mode)
        if mode.memory_jobs:
            say(f"memory: poller RSS over {mode.memory_jobs:,} jobs")
            results["memory"] = measure_memory(stack.redis.url, count=mode.memory_jobs, timeout=300.0)
        else:
            results["memory"] = {"skipped": "the full run only (make bench)"}
        with open_rabbitmq() as rabbitmq:
            results["brokers"] = run_brokers_phase(stack, rabbitmq, mode.contender, mode.broker_rounds)
    results["engine"] = run_engine_phase(mode)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["duration_s"] = time.monotonic() - began
    results["method"] = method(mode)
    results["targets"] = evaluate_targets(results)
    RESULTS.mkdir(exist_ok=True)
    markdown = render_markdown(results)
    (RESULTS / f"{mode.name}.json").write_text(to_json(results))
    (RESULTS / f"{mode.name}.md").write_text(markdown)
    write_plot(results, RESULTS / f"{mode.name}.png")
    print(markdown)
    say(f"wrote {RESULTS}/{mode.name}.json, .md and .png")
    problems = check_shape(results)
    for problem in problems:
        say(f"incomplete results: {problem}")
    return 1 if problems else 0


def run_brokers_only(mode: Mode) -> int:
    """The broker rows alone, at ``mode``'s size, written to results/brokers.md and .json."""
    results: dict[str, Any] = {"mode": "brokers", "started_at": now(), "machine": describe_machine()}
    with open_stack() as stack, open_rabbitmq() as rabbitmq:
        say(f"warm-up: {mode.warmup} instances through the raw loop (not reported)")
        warm = ContenderPlan(backlog=mode.warmup, paced=20, rate=mode.contender.rate, timeout=mode.contender.timeout)
        run_contender(stack, "raw_grpc", "bench-warmup", warm)
        results["brokers"] = run_brokers_phase(stack, rabbitmq, mode.contender, mode.broker_rounds)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    m = results["machine"]
    lines = [
        "# zeebe-celery benchmarks: the broker rows",
        "",
        f"{results['started_at']}; `python -m benchmarks --brokers` (the same rows are in `--quick` and `--full`). "
        f"{m['cpu_model']}, {m['cores']} cores, load average {m['load_average_at_start']} at start, "
        f"{m['load_average_at_end']} at the end; source {m['source']['commit']}"
        + (" + uncommitted changes" if m["source"]["zeebe_celery_uncommitted_changes"] else "")
        + ".",
        *render_brokers(results["brokers"]),
    ]
    markdown = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "brokers.json").write_text(to_json(results))
    (RESULTS / "brokers.md").write_text(markdown)
    print(markdown)
    rows = results["brokers"]["rows"].values()
    return 0 if all(row.get("complete") for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
