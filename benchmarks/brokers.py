"""The broker rows: zeebe-celery on Redis and on RabbitMQ (classic and quorum queues), in one run, on one engine.

Each row is the zeebe-celery contender of :mod:`benchmarks.contenders` (the poller plus one Celery prefork
worker with one pool process, a no-op handler), with only the Celery broker changed. On RabbitMQ the poller
publishes with publisher confirms and flow control keeps its in-flight sets in the run's Redis, as in
production; the bridge CPU is the poller's and the worker's, and the broker CPU is that of the servers the row
uses (redis-server; the RabbitMQ node and redis-server) over the same steady window. The rows are interleaved
over the rounds with a rotating order, so none always runs first.

``python -m benchmarks --brokers`` runs this phase alone and writes ``results/brokers.md`` and ``.json``;
``--quick`` and ``--full`` include it.
"""

from __future__ import annotations

import contextlib
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.contenders import ContenderPlan, run_contender
from benchmarks.stack import Stack, say
from benchmarks.stats import median_of_runs
from zeebe_celery.stack.rabbitmq import RabbitMQServer

__all__ = [
    "BROKERS",
    "Broker",
    "check_brokers",
    "open_rabbitmq",
    "rabbitmq_version",
    "render_brokers",
    "run_brokers_phase",
]

# The figures every broker row must have, as finite numbers.
FIGURES = ("throughput_per_s", "cpu_ms_per_job", "servers_cpu_ms_per_job")


@dataclass(frozen=True)
class Broker:
    key: str
    label: str
    queue_type: str | None
    """None for Redis; ``classic`` or ``quorum`` for RabbitMQ's ``x-queue-type``."""


BROKERS = (
    Broker("redis", "Redis", None),
    Broker("rabbitmq_classic", "RabbitMQ, classic queues", "classic"),
    Broker("rabbitmq_quorum", "RabbitMQ, quorum queues", "quorum"),
)


@contextlib.contextmanager
def open_rabbitmq() -> Iterator[RabbitMQServer]:
    """A RabbitMQ node of the run's own on 127.0.0.1 (zeebe_celery.stack.rabbitmq), removed afterwards."""
    say("starting RabbitMQ")
    with RabbitMQServer() as server:
        say(f"RabbitMQ at {server.url} (pid {server.pid})")
        yield server


def rabbitmq_version() -> str:
    """The version of the installed rabbitmq-server (Debian's layout), else 'installed' or 'missing'."""
    lib = Path("/usr/lib/rabbitmq/lib")
    versions = sorted(p.name.removeprefix("rabbitmq_server-") for p in lib.glob("rabbitmq_server-*"))
    return versions[-1] if versions else ("installed" if shutil.which("rabbitmq-server") else "missing")


def _row(stack: Stack, rabbitmq: RabbitMQServer, broker: Broker, job_type: str, plan: ContenderPlan) -> dict[str, Any]:
    if broker.queue_type is None:
        return run_contender(stack, "zeebe_celery", job_type, plan, servers=[stack.redis.pid])
    extra = {"ZEEBE_CELERY_BROKER_URL": rabbitmq.url, "BENCH_QUEUE_TYPE": broker.queue_type}
    servers = [rabbitmq.pid, stack.redis.pid]
    return run_contender(stack, "zeebe_celery", job_type, plan, extra_env=extra, servers=servers)


def run_brokers_phase(stack: Stack, rabbitmq: RabbitMQServer, plan: ContenderPlan, rounds: int) -> dict[str, Any]:
    """Every broker row, ``rounds`` times interleaved; figures are medians per row."""
    runs: dict[str, list[dict[str, Any]]] = {b.key: [] for b in BROKERS}
    for round_no in range(rounds):
        shift = round_no % len(BROKERS)
        order = BROKERS[shift:] + BROKERS[:shift]
        say(f"brokers, round {round_no + 1} of {rounds}: {', '.join(b.key for b in order)}")
        for broker in order:
            job_type = f"bench-broker-{broker.key.replace('_', '-')}-{round_no + 1}"
            runs[broker.key].append(_row(stack, rabbitmq, broker, job_type, plan))
    rows: dict[str, Any] = {}
    for key, results in runs.items():
        merged = median_of_runs(results)
        if len(results) > 1:
            merged["runs"] = results
        rows[key] = merged
    return {"rounds": rounds, "backlog_instances": plan.backlog, "rabbitmq": rabbitmq_version(), "rows": rows}


def _f(value: Any, digits: int = 1) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return "n/a"
    return f"{value:,.{digits}f}"


def check_brokers(phase: Any) -> list[str]:
    """What is missing or not a number in the broker rows; empty when every row has its figures."""
    rows = phase.get("rows") if isinstance(phase, dict) else None
    if not isinstance(rows, dict):
        return ["brokers.rows is missing"]
    problems = []
    for broker in BROKERS:
        for figure in FIGURES:
            value = rows.get(broker.key, {}).get(figure)
            if _f(value) == "n/a":
                problems.append(f"brokers.rows.{broker.key}.{figure} is {value!r}, not a number")
    return problems


def render_brokers(phase: dict[str, Any]) -> list[str]:
    """The broker table as Markdown lines (a section of the run's report, or brokers.md on its own)."""
    rows = phase.get("rows", {})
    redis_rate = rows.get("redis", {}).get("throughput_per_s")
    out = [
        "",
        "## Brokers",
        "",
        "zeebe-celery (the poller plus one Celery prefork worker, one pool process, no-op handler) with only the "
        f"Celery broker changed: Redis, and RabbitMQ {phase.get('rabbitmq')} with classic and with quorum queues "
        "(publisher confirms; flow control's sets in Redis). Same engine, same run, "
        f"{phase.get('backlog_instances')} instances of backlog per row, {phase.get('rounds')} round(s), "
        "interleaved. Bridge CPU is the poller's and the worker's; broker CPU that of the servers the row uses "
        "(redis-server; the RabbitMQ node plus redis-server), both over the steady window, per job.",
        "",
        "| broker | instances/s | vs Redis | p50 ms | p99 ms | bridge CPU ms/job | broker CPU ms/job | complete |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for broker in BROKERS:
        row = rows.get(broker.key)
        if not row:
            continue
        rate = row.get("throughput_per_s")
        ratio = rate / redis_rate if _f(rate) != "n/a" and _f(redis_rate) != "n/a" and redis_rate else math.nan
        out.append(
            f"| {broker.label} | {_f(rate)} | {_f(ratio, 2)}x | {_f(row.get('p50_ms'))} | {_f(row.get('p99_ms'))} "
            f"| {_f(row.get('cpu_ms_per_job'), 2)} | {_f(row.get('servers_cpu_ms_per_job'), 2)} "
            f"| {'yes' if row.get('complete') else 'no'} |"
        )
    return out
