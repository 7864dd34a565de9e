"""The results of a run: the machine, JSON, a Markdown table, and a PNG plot."""

from __future__ import annotations

import json
import math
import os
import platform
import re
import shutil
import subprocess
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from benchmarks.brokers import check_brokers, rabbitmq_version, render_brokers
from benchmarks.report_sections import async_wait_section, floor_section, pools_section
from benchmarks.report_sections import fmt as _f
from benchmarks.stack import PYZEEBE_PYTHON

__all__ = ["check_shape", "describe_machine", "render_markdown", "to_json", "write_plot"]

PACKAGES = ("zeebe-celery", "celery", "kombu", "redis", "grpcio", "protobuf", "pydantic")
LABELS = {"raw_grpc": "raw gRPC loop", "pyzeebe": "pyzeebe", "zeebe_celery": "zeebe-celery"}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return math.nan


def _command_version(argv: list[str], pattern: str) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    match = re.search(pattern, out.stdout + out.stderr)
    return match.group(1) if match else "unknown"


def describe_machine() -> dict[str, Any]:
    """CPU, cores, memory, OS, Python and the versions of everything that runs in the benchmark."""
    from zeebe_celery.engine.server import PROTOCOL_VERSION

    versions: dict[str, str] = {}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    if PYZEEBE_PYTHON.exists():
        versions["pyzeebe"] = _command_version(
            [str(PYZEEBE_PYTHON), "-c", "from importlib.metadata import version as v; print(v('pyzeebe'))"],
            r"(\S+)",
        )
        versions["pyzeebe venv: protobuf"] = _command_version(
            [str(PYZEEBE_PYTHON), "-c", "from importlib.metadata import version as v; print(v('protobuf'))"],
            r"(\S+)",
        )
    versions["engine"] = f"zeebe_celery.engine of this source, in memory (Topology reports {PROTOCOL_VERSION})"
    redis_server = shutil.which("redis-server")
    versions["redis-server"] = _command_version([redis_server, "--version"], r"v=(\S+)") if redis_server else "missing"
    versions["rabbitmq-server"] = rabbitmq_version()
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(_mem_gib(), 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": versions,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "source": _source(),
    }


def _source() -> dict[str, Any]:
    """The commit the figures belong to, and whether the package had uncommitted changes."""
    repo = Path(__file__).resolve().parent.parent
    commit = _command_version(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], r"(\S+)")
    try:
        status = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--", "zeebe_celery"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        status = ""
    return {"commit": commit, "zeebe_celery_uncommitted_changes": bool(status.strip())}


REQUIRED = {
    "contenders": {
        name: ("throughput_per_s", "p50_ms", "p95_ms", "p99_ms") for name in ("raw_grpc", "pyzeebe", "zeebe_celery")
    },
    "dispatch_ceiling": ("zeebe_celery_per_s", "raw_lpush_per_s"),
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_shape(results: dict[str, Any]) -> list[str]:
    """What is missing or malformed in ``results`` against the agreed JSON shape; empty when it fits.

    A figure must be a finite number: NaN means a phase measured nothing.
    """
    problems = [
        f"missing {key!r}"
        for key in ("contenders", "dispatch_ceiling", "scaling", "memory", "engine", "brokers")
        if key not in results
    ]
    contenders = results.get("contenders", {})
    if set(contenders) != set(REQUIRED["contenders"]):
        problems.append(f"contenders are {sorted(contenders)}, not raw_grpc, pyzeebe and zeebe_celery")
    for name, keys in REQUIRED["contenders"].items():
        for key in keys:
            value = contenders.get(name, {}).get(key)
            if not _is_number(value):
                problems.append(f"contenders.{name}.{key} is {value!r}, not a number")
    for key in REQUIRED["dispatch_ceiling"]:
        value = results.get("dispatch_ceiling", {}).get(key)
        if not _is_number(value):
            problems.append(f"dispatch_ceiling.{key} is {value!r}, not a number")
    for key in ("scaling", "memory", "engine"):
        if key in results and not isinstance(results[key], dict):
            problems.append(f"{key} is not an object")
    engine = results.get("engine", {})
    for phase, key in (("waiting", "kb_per_instance"), ("completed", "growth_mb")):
        value = engine.get(phase, {}).get(key) if isinstance(engine, dict) else None
        if not _is_number(value):
            problems.append(f"engine.{phase}.{key} is {value!r}, not a number")
    return problems + (check_brokers(results["brokers"]) if "brokers" in results else [])


def _clean(value: Any) -> Any:
    """NaN and infinities become null: JSON has no NaN."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def to_json(results: dict[str, Any]) -> str:
    return json.dumps(_clean(results), indent=2, allow_nan=False) + "\n"


def _times(value: Any, base: Any) -> str:
    """``value / base`` as ``0.81x``, or empty when either is missing."""
    if not (_is_number(value) and _is_number(base)) or not base:
        return ""
    return f"{value / base:.2f}x"


def _contender_rows(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    contenders = results["contenders"]
    rows = [(LABELS[name], contenders[name]) for name in ("raw_grpc", "pyzeebe", "zeebe_celery") if name in contenders]
    scaled = contenders.get("zeebe_celery", {}).get("scaled")
    if scaled:
        rows.append((f"zeebe-celery, {scaled['processes']:.0f} processes", scaled))
    batched = contenders.get("zeebe_celery", {}).get("batched")
    if batched:
        rows.append((f"zeebe-celery, batched ({batched.get('batch', '?')} jobs per message)", batched))
    defaults = contenders.get("pyzeebe", {}).get("defaults")
    if defaults:
        rows.append(("pyzeebe, all defaults", defaults))
    return rows


def render_markdown(results: dict[str, Any]) -> str:
    """The report: machine, contenders, dispatch ceiling, scaling, memory, targets, method."""
    m = results["machine"]
    out = [
        f"# zeebe-celery benchmarks: {results['mode']} run",
        "",
        f"{results['started_at']}, {results['duration_s']:.0f} s. Figures, not pass/fail; the targets are at the end.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {m['cpu_model']}, {m['cores']} cores |",
        f"| RAM | {m['ram_gib']} GiB |",
        f"| OS | {m['os']} |",
        f"| Python | {m['python']} |",
        f"| load average (1/5/15 min) | start {m['load_average_at_start']}, end {m.get('load_average_at_end')} |",
        f"| source | {m['source']['commit']}"
        + (" + uncommitted changes in zeebe_celery/" if m["source"]["zeebe_celery_uncommitted_changes"] else "")
        + " |",
    ]
    out += [f"| {name} | {ver} |" for name, ver in m["versions"].items()]
    out += [
        "",
        "## Contenders",
        "",
        "Same process (one service task, no-op handler), same number of instances, one after another on one "
        "engine. Latency is the engine's activation -> completion time of each job (exported records' timestamps), "
        f"under a steady {results['method']['latency_rate_per_s']:.0f} instances/s; 'saturated' is the same "
        "while a backlog drains. CPU is that of the contender's processes over the steady window (for "
        "zeebe-celery: the poller plus the Celery workers).",
        "",
        "| contender | processes | instances/s | p50 ms | p95 ms | p99 ms | saturated p50 ms | CPU s | CPU ms/job "
        "| peak RSS MB | jobs per activation | engine CPU ms/instance |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, c in _contender_rows(results):
        out.append(
            f"| {label} | {_f(c.get('processes', 1), 0)} | {_f(c.get('throughput_per_s'))} | {_f(c.get('p50_ms'))} "
            f"| {_f(c.get('p95_ms'))} | {_f(c.get('p99_ms'))} | {_f(c.get('saturated_p50_ms'))} "
            f"| {_f(c.get('cpu_s'), 2)} | {_f(c.get('cpu_ms_per_job'), 2)} | {_f(c.get('peak_rss_mb'))} "
            f"| {_f(c.get('activation_batch_mean'))} | {_f(c.get('engine_cpu_ms_per_instance'), 2)} |"
        )
    zc = results["contenders"].get("zeebe_celery", {})
    if "poller_cpu_s" in zc:
        out += [
            "",
            f"zeebe-celery's peak RSS is the poller's; the poller used {_f(zc['poller_cpu_s'], 2)} of its "
            f"{_f(zc.get('cpu_s'), 2)} CPU seconds (launched via {zc.get('poller_launcher')}).",
        ]
    out += floor_section(results)
    out += async_wait_section(results)
    out += pools_section(results)
    ceiling = results["dispatch_ceiling"]
    out += [
        "",
        "## Dispatch ceiling",
        "",
        "The real poller against an engine holding every job before it starts (each ActivateJobs finds a full "
        "batch), publishing to the real Redis; a drainer frees the slots. Versus a bare loop of ActivateJobs "
        "and one LPUSH of the same messages per activation (no flow control, parsing or message building), and "
        "a bare redis-py LPUSH of the same messages, in batches of the same size.",
        "",
        "| | jobs/s | vs the bare ActivateJobs + LPUSH loop |",
        "|---|---:|---:|",
        f"| zeebe-celery poller | {_f(ceiling.get('zeebe_celery_per_s'), 0)} | "
        f"{_times(ceiling.get('zeebe_celery_per_s'), ceiling.get('raw_activate_and_lpush_per_s'))} |",
        f"| zeebe-celery poller, batched ({ceiling.get('batch', '?')} jobs per message), per job | "
        f"{_f(ceiling.get('zeebe_celery_batched_per_s'), 0)} | "
        f"{_times(ceiling.get('zeebe_celery_batched_per_s'), ceiling.get('raw_activate_and_lpush_per_s'))} |",
        f"| bare ActivateJobs + LPUSH loop | {_f(ceiling.get('raw_activate_and_lpush_per_s'), 0)} | 1.00x |",
        f"| raw LPUSH (redis-py), no gateway (context) | {_f(ceiling.get('raw_lpush_per_s'), 0)} | |",
        "",
        f"Jobs per activation {_f(ceiling.get('batch_mean'))} (bound {ceiling.get('max_jobs')}); poller CPU "
        f"{_f(ceiling.get('poller_cpu_us_per_job'), 0)} µs/job, batched "
        f"{_f(ceiling.get('batched_poller_cpu_us_per_job'), 0)} µs/job; {ceiling.get('jobs_per_round')} jobs per "
        f"round, {len(ceiling.get('rounds', []))} round(s).",
    ]
    scaling = results["scaling"]
    out += [
        "",
        "## Scaling",
        "",
        f"Handler sleeping {scaling.get('handler_sleep_ms')} ms; each worker process is a `celery worker` "
        f"with concurrency {scaling.get('concurrency_per_process')}.",
        "",
        "| worker processes | jobs/s | ideal | CPU s |",
        "|---:|---:|---:|---:|",
    ]
    for n, run in scaling.get("runs", {}).items():
        out.append(
            f"| {n} | {_f(run.get('throughput_per_s'))} | {_f(run.get('ideal_per_s'), 0)} | {_f(run.get('cpu_s'), 2)} |"
        )
    out += ["", f"Speed-up 1 -> 4 processes: {_f(scaling.get('speedup_1_to_4'), 2)}x."]
    memory = results["memory"]
    out += ["", "## Poller memory", ""]
    if memory.get("skipped"):
        out.append(f"Not measured: {memory['skipped']}.")
    else:
        out += [
            f"The poller's RSS while it dispatches {memory.get('jobs'):,} jobs (growth counted after the first "
            f"{memory.get('warmup_jobs'):,}):",
            "",
            "| at start | after warm-up | middle | end | growth | peak |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {_f(memory.get('rss_start_mb'))} MB | {_f(memory.get('rss_after_warmup_mb'))} MB | "
            f"{_f(memory.get('rss_middle_mb'))} MB | {_f(memory.get('rss_end_mb'))} MB | "
            f"{_f(memory.get('growth_mb'))} MB | {_f(memory.get('peak_rss_mb'))} MB |",
        ]
    out += render_brokers(results.get("brokers", {})) if results.get("brokers") else []
    out += _engine_section(results)
    out += ["", "## Targets", "", "| target | figure | wanted | value | |", "|---|---|---|---:|---|"]
    for t in results["targets"]:
        met = {True: "met", False: "**missed**", None: "not measured"}[t["met"]]
        value = "n/a" if t["value"] is None else f"{t['value']:.2f} {t['unit']}"
        out.append(f"| {t['name']} | {t['figure']} | {t['wanted']} | {value} | {met} |")
    out += ["", "## Method", ""]
    out += [f"- {note}" for note in results["method"]["notes"]]
    return "\n".join(out) + "\n"


def _engine_section(results: dict[str, Any]) -> list[str]:
    """The engine's own figures: CPU per instance beside the bridge's per job, and its memory."""
    contenders = results["contenders"]
    zc, raw = contenders.get("zeebe_celery", {}), contenders.get("raw_grpc", {})
    out = [
        "",
        "## Engine",
        "",
        "CPU of the engine process per one-task instance (create, activate, complete, end), beside the bridge's "
        "CPU per job (poller + Celery worker processes) in the zeebe-celery run. Over several rounds each column "
        "is a median of its own, so the parts need not add up to the whole.",
        "",
        "| run | engine CPU ms/instance | of which create | of which activate, complete, end "
        "| bridge CPU ms/job | instances/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, c in (("zeebe-celery, 1 process", zc), ("raw gRPC loop", raw)):
        out.append(
            f"| {label} | {_f(c.get('engine_cpu_ms_per_instance'), 3)} "
            f"| {_f(c.get('engine_create_cpu_ms_per_instance'), 3)} "
            f"| {_f(c.get('engine_drain_cpu_ms_per_instance'), 3)} "
            f"| {_f(zc.get('cpu_ms_per_job'), 3) if c is zc else ''} | {_f(c.get('throughput_per_s'))} |"
        )
    engine = results.get("engine", {})
    waiting, completed = engine.get("waiting", {}), engine.get("completed", {})
    if waiting:
        out += [
            "",
            f"Memory, each on an engine process of its own keeping {waiting.get('records_limit'):,} exported "
            "records (the retention is bounded by design; at its default of 100,000 it would dominate):",
            "",
            f"- {waiting.get('instances'):,} instances waiting at a job nobody takes: "
            f"{_f(waiting.get('job_kb_per_instance'), 2)} KB each "
            f"({_f(waiting.get('job_rss_before_mb'))} -> {_f(waiting.get('job_rss_after_mb'))} MB); as many "
            f"waiting at a message catch: {_f(waiting.get('message_kb_per_instance'), 2)} KB each "
            f"({_f(waiting.get('message_rss_before_mb'))} -> {_f(waiting.get('message_rss_after_mb'))} MB).",
        ]
    if completed:
        out.append(
            f"- {completed.get('instances'):,} instances created and completed by a raw loop, after "
            f"{completed.get('warmup_instances'):,} of warm-up: RSS {_f(completed.get('rss_after_warmup_mb'))} -> "
            f"{_f(completed.get('rss_end_mb'))} MB, growth {_f(completed.get('growth_mb'))} MB "
            f"({_f(completed.get('instances_per_s'), 0)} instances/s, engine CPU "
            f"{_f(completed.get('engine_cpu_ms_per_instance'), 3)} ms/instance with the small record log)."
        )
    return out


def write_plot(results: dict[str, Any], path: Path) -> None:
    """Throughput and latency (p50/p95/p99) by contender, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _contender_rows(results)
    labels = [label for label, _ in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    throughput = [c.get("throughput_per_s") or 0 for _, c in rows]
    left.barh(labels, throughput, color="#4c72b0")
    left.set_xlabel("completed instances/s (steady window)")
    left.invert_yaxis()
    for i, v in enumerate(throughput):
        left.text(v, i, f" {v:.0f}", va="center")
    left.set_xlim(0, max(throughput, default=1) * 1.15 or 1)
    height = 0.25
    for k, (q, colour) in enumerate((("p50", "#55a868"), ("p95", "#dd8452"), ("p99", "#c44e52"))):
        values = [c.get(f"{q}_ms") or 0 for _, c in rows]
        right.barh([i + (k - 1) * height for i in range(len(rows))], values, height, label=q, color=colour)
    right.set_yticks(range(len(rows)), labels)
    right.invert_yaxis()
    right.set_xlabel(f"activation -> completion, ms (at {results['method']['latency_rate_per_s']:.0f} instances/s)")
    right.legend()
    fig.suptitle(f"zeebe-celery benchmarks ({results['mode']}, {results['machine']['cores']} cores)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
