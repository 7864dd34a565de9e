"""The arithmetic of the figures: percentiles, the steady window, repeats and the targets.

Pure functions over plain numbers, so a unit test can check them with fabricated inputs.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONTENDERS",
    "TARGETS",
    "Target",
    "evaluate_targets",
    "median_of_runs",
    "percentile",
    "rate_between",
    "steady_window",
]

CONTENDERS = ("raw_grpc", "pyzeebe", "zeebe_celery")
# The share of a run cut at each end: start-up (connections, JIT) and the drain of the last batches.
TRIM = 0.1


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def steady_window(times: Sequence[float], trim: float = TRIM) -> tuple[float, float, int]:
    """The window between the completions at ``trim`` and ``1 - trim`` of a run: (start, end, count).

    ``count`` completions fall inside it; the rate over the window is ``count / (end - start)``.
    Raises ValueError for fewer than 10 completions.
    """
    if len(times) < 10:
        raise ValueError(f"a steady window needs at least 10 completions, got {len(times)}")
    ordered = sorted(times)
    first = int(len(ordered) * trim)
    last = len(ordered) - 1 - int(len(ordered) * trim)
    return ordered[first], ordered[last], last - first


def rate_between(start: float, end: float, count: int) -> float:
    """Events per second; NaN for an empty window."""
    return count / (end - start) if end > start else math.nan


def median_of_runs(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One figure per key from repeated runs: the median of numeric values, the first of others.

    Nested dicts are merged key by key the same way; ``runs`` (the raw list) is kept alongside when
    there was more than one.
    """
    if not runs:
        raise ValueError("no runs to aggregate")
    merged: dict[str, Any] = {}
    for key in runs[0]:
        values = [run[key] for run in runs if key in run]
        if all(isinstance(v, bool) for v in values):
            merged[key] = values[0]
        elif all(isinstance(v, int | float) for v in values):
            finite = [float(v) for v in values if not math.isnan(v)]
            merged[key] = statistics.median(finite) if finite else math.nan
        elif all(isinstance(v, Mapping) for v in values):
            merged[key] = median_of_runs(values)
        else:
            merged[key] = values[0]
    return merged


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    figure: str
    """How the compared figure is computed, for the report."""
    wanted: str


TARGETS = (
    Target("throughput_vs_pyzeebe", "zeebe_celery / pyzeebe throughput", ">= 1.0x"),
    Target("throughput_vs_raw_grpc", "zeebe_celery / raw_grpc throughput", ">= 0.8x"),
    Target("p50_vs_pyzeebe", "zeebe_celery p50 - pyzeebe p50", "<= +5 ms"),
    Target("dispatch_ceiling", "poller dispatch / bare ActivateJobs + LPUSH loop", ">= 0.8x"),
    Target("dispatch_batched", "poller dispatch, batched, per job / bare ActivateJobs + LPUSH loop", ">= 1.0x"),
    Target("scaling_1_to_4", "throughput 4 processes / 1 process", ">= 3.5x"),
    Target("poller_rss_growth", "poller RSS growth over 100k jobs", "<= 10 MB"),
    Target(
        "engine_cpu_in_zeebe_celery_run",
        "engine CPU per instance (zeebe-celery run) / bridge CPU per job",
        "<= 0.5x",
    ),
    Target("engine_cpu_in_raw_run", "engine CPU per instance (raw loop run) / bridge CPU per job", "<= 0.5x"),
    Target("raw_grpc_vs_zeebe_celery", "raw_grpc / zeebe_celery (1 process) throughput", ">= 2.0x"),
    Target("batched_throughput_vs_pyzeebe", "zeebe_celery batched / pyzeebe throughput", ">= 1.0x"),
    Target("batched_cpu_vs_pyzeebe", "zeebe_celery batched / pyzeebe CPU per job", "<= 2.0x"),
    Target("batched_p50_vs_pyzeebe", "zeebe_celery batched p50 - pyzeebe p50", "<= +5 ms"),
    Target("async_wait_vs_pyzeebe", "async 50 ms handler: zeebe_celery batched / pyzeebe throughput", ">= 0.9x"),
    Target("bridge_cpu_over_floor", "zeebe_celery CPU per job - Celery's floor CPU per task", "<= +0.2 ms"),
    Target("engine_rss_per_waiting_instance", "engine RSS per waiting instance, over {waiting}", "<= 10 KB"),
    Target("engine_rss_growth", "engine RSS growth over {completed} completed instances", "< 20 MB"),
)


def _ratio(a: Any, b: Any) -> float:
    try:
        a, b = float(a), float(b)
    except (TypeError, ValueError):
        return math.nan
    return a / b if b > 0 and not math.isnan(a) else math.nan


def evaluate_targets(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each target with its value and ``met``: True, False, or None when the figure is missing."""
    contenders = results.get("contenders", {})
    zc = contenders.get("zeebe_celery", {})
    pz = contenders.get("pyzeebe", {})
    raw = contenders.get("raw_grpc", {})
    ceiling = results.get("dispatch_ceiling", {})
    scaling = results.get("scaling", {})
    memory = results.get("memory", {})
    engine = results.get("engine", {})
    waiting = engine.get("waiting", {})
    completed = engine.get("completed", {})
    bridge_cpu = zc.get("cpu_ms_per_job")
    batched = zc.get("batched", {})
    floor = results.get("celery_floor", {})
    waiting_async = results.get("async_wait", {})
    values = {
        "throughput_vs_pyzeebe": (_ratio(zc.get("throughput_per_s"), pz.get("throughput_per_s")), "x"),
        "throughput_vs_raw_grpc": (_ratio(zc.get("throughput_per_s"), raw.get("throughput_per_s")), "x"),
        "p50_vs_pyzeebe": (_difference(zc.get("p50_ms"), pz.get("p50_ms")), "ms"),
        "dispatch_ceiling": (
            _ratio(ceiling.get("zeebe_celery_per_s"), ceiling.get("raw_activate_and_lpush_per_s")),
            "x",
        ),
        "dispatch_batched": (
            _ratio(ceiling.get("zeebe_celery_batched_per_s"), ceiling.get("raw_activate_and_lpush_per_s")),
            "x",
        ),
        "scaling_1_to_4": (_number(scaling.get("speedup_1_to_4")), "x"),
        "poller_rss_growth": (_number(memory.get("growth_mb")), "MB"),
        "engine_cpu_in_zeebe_celery_run": (_ratio(zc.get("engine_cpu_ms_per_instance"), bridge_cpu), "x"),
        "engine_cpu_in_raw_run": (_ratio(raw.get("engine_cpu_ms_per_instance"), bridge_cpu), "x"),
        "raw_grpc_vs_zeebe_celery": (_ratio(raw.get("throughput_per_s"), zc.get("throughput_per_s")), "x"),
        "batched_throughput_vs_pyzeebe": (_ratio(batched.get("throughput_per_s"), pz.get("throughput_per_s")), "x"),
        "batched_cpu_vs_pyzeebe": (_ratio(batched.get("cpu_ms_per_job"), pz.get("cpu_ms_per_job")), "x"),
        "batched_p50_vs_pyzeebe": (_difference(batched.get("p50_ms"), pz.get("p50_ms")), "ms"),
        "async_wait_vs_pyzeebe": (
            _ratio(
                waiting_async.get("zeebe_celery_batched", {}).get("throughput_per_s"),
                waiting_async.get("pyzeebe", {}).get("throughput_per_s"),
            ),
            "x",
        ),
        "bridge_cpu_over_floor": (_difference(bridge_cpu, floor.get("cpu_ms_per_job")), "ms"),
        "engine_rss_per_waiting_instance": (_number(waiting.get("kb_per_instance")), "KB"),
        "engine_rss_growth": (_number(completed.get("growth_mb")), "MB"),
    }
    counts = {"waiting": _count(waiting.get("instances")), "completed": _count(completed.get("instances"))}
    checks = {
        "throughput_vs_pyzeebe": lambda v: v >= 1.0,
        "throughput_vs_raw_grpc": lambda v: v >= 0.8,
        "p50_vs_pyzeebe": lambda v: v <= 5.0,
        "dispatch_ceiling": lambda v: v >= 0.8,
        "dispatch_batched": lambda v: v >= 1.0,
        "scaling_1_to_4": lambda v: v >= 3.5,
        "poller_rss_growth": lambda v: v <= 10.0,
        "engine_cpu_in_zeebe_celery_run": lambda v: v <= 0.5,
        "engine_cpu_in_raw_run": lambda v: v <= 0.5,
        "raw_grpc_vs_zeebe_celery": lambda v: v >= 2.0,
        "batched_throughput_vs_pyzeebe": lambda v: v >= 1.0,
        "batched_cpu_vs_pyzeebe": lambda v: v <= 2.0,
        "batched_p50_vs_pyzeebe": lambda v: v <= 5.0,
        "async_wait_vs_pyzeebe": lambda v: v >= 0.9,
        "bridge_cpu_over_floor": lambda v: v <= 0.2,
        "engine_rss_per_waiting_instance": lambda v: v <= 10.0,
        "engine_rss_growth": lambda v: v < 20.0,
    }
    evaluated = []
    for target in TARGETS:
        value, unit = values[target.name]
        met = None if math.isnan(value) else bool(checks[target.name](value))
        evaluated.append(
            {
                "name": target.name,
                "figure": target.figure.format(**counts),
                "wanted": target.wanted,
                "value": None if math.isnan(value) else round(value, 3),
                "unit": unit,
                "met": met,
            }
        )
    return evaluated


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _count(value: Any) -> str:
    """An instance count for a figure's description: ``10,000``, or ``?`` when not measured."""
    return f"{value:,}" if isinstance(value, int) else "?"


def _difference(a: Any, b: Any) -> float:
    return _number(a) - _number(b)
