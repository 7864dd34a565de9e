"""The engine's CPU per one-task instance, against the engine of an earlier revision, side by side.

``python -m benchmarks.engine_redesign [--reference REV] [--instances N] [--rounds R]`` checks the reference
revision out into a temporary git worktree, then, in interleaved rounds, starts each engine in a process of its
own (the reference one from its worktree, this one from this source) and drives it with the same raw gRPC loop:
N one-task instances created, activated and completed after a warm-up. It prints the engine CPU per instance
of each, their medians and the ratio, and writes them to benchmarks/results/engine-redesign.md.

Each round also runs :mod:`benchmarks.servicer_loop` on each tree: the same instances with the servicer called
directly, so gRPC's transport (the same library code for both engines, and most of a process's CPU) is out
of the figure, and with it most of the noise of a shared machine.

The default reference is the last commit before the engine's transactional redesign (issue 14).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.engine_figures import Completer
from benchmarks.engine_proc import EngineProcess
from benchmarks.load import Load
from benchmarks.procs import REPO
from benchmarks.procstats import cpu_seconds

__all__ = ["main"]

REFERENCE = "ea4c2ae"
WARM = 1000
RESULTS = REPO / "benchmarks" / "results" / "engine-redesign.md"


def measure(cwd: Path, instances: int, *, timeout: float) -> float:
    """Engine CPU ms per instance of the engine whose source is ``cwd``."""
    with EngineProcess(records_limit=1000, cwd=cwd) as engine:
        load = Load(engine.address)
        process_id = load.deploy("redesign")
        completer = Completer(engine.address, "redesign")
        completer.start()
        try:
            load.backlog(process_id, WARM, timeout=timeout)
            completer.wait_for(WARM, timeout)
            before = cpu_seconds(engine.pid)
            load.backlog(process_id, instances, timeout=timeout, first=WARM)
            if not completer.wait_for(WARM + instances, timeout):
                raise RuntimeError(f"the engine in {cwd} did not complete {instances} instances in {timeout}s")
            return (cpu_seconds(engine.pid) - before) / instances * 1000
        finally:
            completer.stop()
            load.close()


SERVICER_LOOP = Path(__file__).with_name("servicer_loop.py")


def measure_servicer(cwd: Path, instances: int) -> float:
    """Engine CPU µs per instance of the engine whose source is ``cwd``, its servicer driven directly."""
    run = subprocess.run(
        [sys.executable, str(SERVICER_LOOP), "--instances", str(instances), "--rounds", "3"],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(cwd)},
        capture_output=True,
        text=True,
        check=True,
    )
    return min(float(line.split()[-1]) for line in run.stdout.splitlines() if line.startswith("servicer"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference", default=REFERENCE)
    parser.add_argument("--instances", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--servicer-instances", type=int, default=3200)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="engine-reference-") as scratch:
        tree = Path(scratch) / "tree"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), args.reference], check=True)
        try:
            figures: dict[str, list[float]] = {"reference": [], "current": []}
            servicer: dict[str, list[float]] = {"reference": [], "current": []}
            for round_ in range(args.rounds):
                order = ["reference", "current"] if round_ % 2 == 0 else ["current", "reference"]
                for name in order:
                    cwd = tree if name == "reference" else REPO
                    figures[name].append(measure(cwd, args.instances, timeout=args.timeout))
                    servicer[name].append(measure_servicer(cwd, args.servicer_instances))
                    print(
                        f"round {round_ + 1} {name}: {figures[name][-1]:.3f} ms/instance over gRPC, "
                        f"{servicer[name][-1]:.1f} µs/instance in the servicer",
                        flush=True,
                    )
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)
    reference, current = (statistics.median(figures[k]) for k in ("reference", "current"))
    own_reference, own_current = (statistics.median(servicer[k]) for k in ("reference", "current"))
    lines = [
        "# Engine CPU per one-task instance: this engine against the reference revision",
        "",
        f"Reference `{args.reference}`; {args.instances:,} instances per run after {WARM:,} of warm-up, "
        f"{args.rounds} interleaved rounds, each engine in a process of its own driven by the same raw gRPC "
        f"loop; medians. Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {sys.platform}.",
        "",
        "| engine | CPU ms/instance (median) | rounds |",
        "|---|---:|---|",
        f"| reference | {reference:.3f} | {', '.join(f'{v:.3f}' for v in figures['reference'])} |",
        f"| current | {current:.3f} | {', '.join(f'{v:.3f}' for v in figures['current'])} |",
        f"| ratio | {current / reference:.2f}x | |",
        "",
        "The engine's own work, its servicer called directly in-process with no gRPC transport (the best of three "
        f"runs of {args.servicer_instances:,} instances per round; medians over the rounds):",
        "",
        "| engine | CPU µs/instance (median) | rounds |",
        "|---|---:|---|",
        f"| reference | {own_reference:.1f} | {', '.join(f'{v:.1f}' for v in servicer['reference'])} |",
        f"| current | {own_current:.1f} | {', '.join(f'{v:.1f}' for v in servicer['current'])} |",
        f"| ratio | {own_current / own_reference:.2f}x | |",
        "",
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
