"""Where zeebe-celery's time goes: py-spy profiles of the poller, the Celery consumer and a pool process.

::

    python -m benchmarks.profile_bridge                      # the benchmark's 1-process configuration
    python -m benchmarks.profile_bridge --ack-emulation off --min-free 16   # what-ifs, see below
    python -m benchmarks.profile_bridge --ceiling            # the poller against an engine whose jobs wait
    python -m benchmarks.profile_bridge --engine             # the engine under the raw loop

py-spy is installed on first use into ``benchmarks/.venv-tools`` (it is not a project dependency). A
backlog drains through the bridge while each process is sampled twice: ``gil`` (only samples holding the
GIL: where CPU goes) and ``idle`` (every sample: where wall time goes). Each process's CPU per job comes
from /proc over the same period. Collapsed stacks and a summary go to ``benchmarks/results/profiles/``.

What-ifs, for measuring a proposed fix without changing the package: ``--ack-emulation off`` sets
kombu's ``ack_emulation=False`` on the bench app; ``--min-free N`` runs the poller through
``benchmarks.poller_runner``, whose store reports "full" until N slots are free.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import redis

from benchmarks import dispatch
from benchmarks.celery_floor import publish as publish_floor
from benchmarks.contenders import MAX_JOBS, REPORT_CONCURRENCY
from benchmarks.procs import APP, REPO, Program, poller_process
from benchmarks.procstats import cpu_seconds, descendants
from benchmarks.stack import HERE, Stack, open_stack, say
from benchmarks.stats import rate_between, steady_window
from zeebe_celery.stack.fleet import CeleryWorker, _Process
from zeebe_celery.testing import RedisServer

PY_SPY = HERE / ".venv-tools" / "bin" / "py-spy"
OUT = HERE / "results" / "profiles"
# Frames every stack of a process shares (interpreter start, Celery's command line and bootsteps).
_BOILERPLATE = re.compile(
    r"click/|celery/bin/|celery/__main__|runpy|bootsteps|WorkController|billiard/(popen|context|process)|"
    r"_create_worker_process|TaskPool\.on_start|BasePool\.start|AsynPool\.__init__|Pool\.__init__|"
    r"Worker\.__call__|Popen|threading\.py|<module>|Consumer\.start|Evloop\.start"
)


def ensure_py_spy() -> Path:
    if not PY_SPY.exists():
        say("installing py-spy into benchmarks/.venv-tools")
        subprocess.run([sys.executable, "-m", "venv", str(PY_SPY.parent.parent)], check=True)
        subprocess.run([str(PY_SPY.parent / "pip"), "install", "-q", "py-spy"], check=True)
    return PY_SPY


def summarize(path: Path, top: int = 25) -> list[str]:
    """Inclusive share of the busiest frames in a collapsed-stack file, boilerplate left out."""
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = {re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")}
        for frame in frames:
            inclusive[frame] += n
    rows = [(frame, n) for frame, n in inclusive.most_common() if not _BOILERPLATE.search(frame)]
    return [f"{total} samples"] + [f"{100 * n / total:5.1f}%  {frame}" for frame, n in rows[:top]]


def record(pids: dict[str, int], seconds: float, mode: str, into: Path) -> dict[str, Path]:
    """Sample every process at once for ``seconds``; returns the collapsed-stack file of each."""
    flags = ["--gil"] if mode == "gil" else ["--idle"]
    files = {role: into / f"{role}-{mode}.txt" for role in pids}
    spies = [
        subprocess.Popen(
            [
                *(str(PY_SPY), "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "200"),
                *("--format", "raw", "-o", str(files[role]), *flags),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for role, pid in pids.items()
    ]
    for spy in spies:
        spy.wait()
    return files


def profile_bridge(stack: Stack, args: argparse.Namespace, into: Path) -> list[str]:
    job_type = "profile"
    count = int(600 * (4 + 2 * args.seconds))  # enough that both samplings see a backlog draining
    stack.load.backlog(stack.load.deploy(job_type), count, timeout=300)
    # The contenders' settings: the bound and the reports in flight per pool process.
    env = stack.env(max_jobs=MAX_JOBS, report_concurrency=args.report_concurrency)
    env["BENCH_NOOP_TYPE"] = job_type
    env["BENCH_BATCH"] = str(args.batch)
    env["BENCH_ACK_EMULATION"] = args.ack_emulation
    worker = CeleryWorker(APP, [f"zeebe.{job_type}"], env=env, concurrency=args.processes, cwd=REPO).start()
    poller: _Process
    if args.min_free > 1:
        argv = [sys.executable, "-m", "benchmarks.poller_runner", APP, "--min-free", str(args.min_free)]
        poller = Program("poller", argv, ready_marker="polling ", env=env).start()
    else:
        poller = poller_process(env).start()
    try:
        time.sleep(3)
        children = descendants(worker.pid)[1:]
        pids = {"poller": poller.pid, "consumer": worker.pid, "pool-process": children[0]}
        roles = {"poller": [poller.pid], "consumer": [worker.pid], "pool processes": children}
        stack.records.poll()
        done_before = stack.records.completed_count(job_type)
        cpu_before = {role: sum(cpu_seconds(p) for p in ps) for role, ps in roles.items()}
        files: dict[str, Path] = {}
        for mode in ("gil", "idle"):
            say(f"  sampling ({mode}) for {args.seconds:.0f} s")
            files.update({f"{role} ({mode})": f for role, f in record(pids, args.seconds, mode, into).items()})
        stack.records.poll()
        jobs = stack.records.completed_count(job_type) - done_before
        cpu = {role: sum(cpu_seconds(p) for p in ps) - cpu_before[role] for role, ps in roles.items()}
    finally:
        poller.cleanup()
        worker.cleanup()
    completions = [j.completed / 1000 for j in stack.records.jobs(job_type)]
    start, end, window = steady_window(completions)
    lines = [
        f"throughput {rate_between(start, end, window):.0f} jobs/s; jobs per activation "
        f"{stack.records.mean_batch(job_type, start * 1000, end * 1000):.1f}; {jobs} jobs while sampled",
        "CPU per job: "
        + ", ".join(f"{role} {cpu[role] / jobs * 1000:.2f} ms" for role in roles)
        + f"; total {sum(cpu.values()) / jobs * 1000:.2f} ms",
    ]
    for name, path in files.items():
        lines += ["", f"### {name}", "", "```", *summarize(path), "```"]
    return lines


def profile_floor(stack: Stack, args: argparse.Namespace, into: Path) -> list[str]:
    """Celery's floor (benchmarks.celery_floor): a no-op Celery task, no Zeebe, drained by one prefork worker."""
    queue = f"bench.floor-{uuid.uuid4().hex[:8]}"
    env = stack.env(max_jobs=MAX_JOBS, report_concurrency=args.report_concurrency)
    env["BENCH_NOOP_TYPE"] = f"floor-unused-{uuid.uuid4().hex[:8]}"
    publish_floor(stack.redis.url, queue, int(3000 * (2 + args.seconds)))
    store = redis.Redis.from_url(stack.redis.url)
    worker = CeleryWorker(APP, [queue], env=env, concurrency=1, cwd=REPO).start()
    try:
        time.sleep(1)
        pids = {"consumer": worker.pid, "pool-process": descendants(worker.pid)[1]}
        waiting, cpu_before = int(store.llen(queue)), {role: cpu_seconds(pid) for role, pid in pids.items()}
        files = record(pids, args.seconds, "gil", into)
        tasks = waiting - int(store.llen(queue))
        cpu = {role: cpu_seconds(pid) - cpu_before[role] for role, pid in pids.items()}
    finally:
        worker.cleanup()
        store.delete(queue)
        store.close()
    lines = [
        f"{tasks} no-op tasks while sampled ({tasks / args.seconds:.0f}/s); CPU per task: "
        + ", ".join(f"{role} {cpu[role] / tasks * 1000:.2f} ms" for role in pids)
        + f"; total {sum(cpu.values()) / tasks * 1000:.2f} ms"
    ]
    for name, path in files.items():
        lines += ["", f"### {name} (gil)", "", "```", *summarize(path), "```"]
    return lines


def profile_ceiling(args: argparse.Namespace, into: Path) -> list[str]:
    path = into / "poller-gil.txt"

    def spy() -> None:
        for _ in range(300):
            for proc in Path("/proc").iterdir():
                try:
                    cmdline = (proc / "cmdline").read_bytes()
                except OSError:
                    continue
                if b"poller" in cmdline and APP.encode() in cmdline and b"profile_bridge" not in cmdline:
                    time.sleep(1)
                    record({"poller": int(proc.name)}, args.seconds, "gil", into)
                    return
            time.sleep(0.1)

    count = 5_000 * int(args.seconds)
    with RedisServer() as redis, dispatch.engine_with_jobs({"ceiling-profile": count}, timeout=300) as engine:
        thread = threading.Thread(target=spy)
        thread.start()
        run = dispatch._run_poller(redis.url, engine.address, None, "ceiling-profile", count, 300, memory=False)
        thread.join()
    return [
        f"{run['per_s']:.0f} jobs/s, {run['batch_mean']:.1f} jobs per activation, "
        f"poller {run['poller_cpu_us_per_job']:.0f} µs CPU per job",
        "",
        "### poller (gil)",
        "",
        "```",
        *summarize(path, top=40),
        "```",
    ]


def profile_engine(stack: Stack, args: argparse.Namespace, into: Path) -> list[str]:
    """The engine while the raw gRPC loop completes instances that are created meanwhile."""
    job_type = "profile-engine"
    process_id = stack.load.deploy(job_type)
    count = int(1500 * (args.seconds + 6))
    argv = [sys.executable, "-m", "benchmarks.raw_worker", stack.engine.address, job_type]
    worker = Program("raw-grpc", argv, ready_marker="raw worker ready").start()
    creator = threading.Thread(target=stack.load.backlog, args=(process_id, count), kwargs={"timeout": 600})
    try:
        creator.start()
        time.sleep(2)
        stack.records.poll()
        done_before = stack.records.completed_count(job_type)
        cpu_before = cpu_seconds(stack.engine.pid)
        say(f"  sampling the engine (gil) for {args.seconds:.0f} s")
        files = record({"engine": stack.engine.pid}, args.seconds, "gil", into)
        cpu = cpu_seconds(stack.engine.pid) - cpu_before
        stack.records.poll()
        jobs = stack.records.completed_count(job_type) - done_before
        creator.join()
    finally:
        worker.cleanup()
    return [
        f"{jobs} instances completed while sampled ({jobs / args.seconds:.0f}/s, created meanwhile); "
        f"engine CPU {cpu / max(jobs, 1) * 1000:.3f} ms per instance (create, activate, complete, end)",
        "",
        "### engine (gil)",
        "",
        "```",
        *summarize(files["engine"], top=45),
        "```",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_bridge", description=__doc__)
    parser.add_argument("--processes", type=int, default=1, help="Celery pool processes (default 1)")
    parser.add_argument("--ack-emulation", choices=("on", "off"), default="off")
    parser.add_argument("--min-free", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1, help="jobs per Celery message (@zeebe_task(batch=N))")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument(
        "--report-concurrency", default=REPORT_CONCURRENCY, help="reports in flight per pool process (as the bench)"
    )
    parser.add_argument("--ceiling", action="store_true", help="profile the dispatch ceiling instead")
    parser.add_argument("--engine", action="store_true", help="profile the engine under the raw loop instead")
    parser.add_argument("--floor", action="store_true", help="profile Celery's floor (no Zeebe) instead")
    args = parser.parse_args()
    ensure_py_spy()
    name = "ceiling" if args.ceiling else f"{args.processes}proc-ack-{args.ack_emulation}-minfree-{args.min_free}"
    name += f"-batch-{args.batch}" if args.batch > 1 and not args.ceiling else ""
    name = "engine" if args.engine else "floor" if args.floor else name
    into = OUT / name
    into.mkdir(parents=True, exist_ok=True)
    if args.ceiling:
        lines = profile_ceiling(args, into)
    elif args.engine:
        with open_stack() as stack:
            lines = profile_engine(stack, args, into)
    elif args.floor:
        with open_stack() as stack:
            lines = profile_floor(stack, args, into)
    else:
        with open_stack() as stack:
            lines = profile_bridge(stack, args, into)
    summary = into / "summary.md"
    summary.write_text(f"# Profile: {name}\n\n" + "\n".join(lines) + "\n")
    print(summary.read_text())


if __name__ == "__main__":
    main()
