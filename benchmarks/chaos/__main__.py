"""``make chaos``: run the four chaos scenarios on the real stack and print one table.

    python -m benchmarks.chaos [SCENARIO ...] [--no-save]

Each row: instances, completed, lost, duplicate runs, the longest a run went on past its job's deadline,
and flow-control slots leaked. The scenarios' own figures follow the table. The table and the figures go
to ``benchmarks/results/chaos.{md,json}`` (unless ``--no-save``). Exits 1 when a row lost an instance,
leaked a slot or overran a deadline.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.chaos.run import Outcome
from benchmarks.chaos.scenarios import DEAD_LETTERS, SCENARIOS, run

RESULTS = Path(__file__).resolve().parent.parent / "results"
COLUMNS = ("scenario", "instances", "completed", "lost", "duplicates", "max job overrun", "slots leaked")


def table(outcomes: list[Outcome]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for outcome in outcomes:
        row = outcome.row()
        cells = [
            row["scenario"],
            row["instances"],
            row["completed"],
            row["lost"],
            row["duplicates"],
            f"{row['max_job_overrun_ms']} ms",
            row["slots_leaked"],
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def details(outcome: Outcome) -> str:
    plan = outcome.plan
    lines = [
        f"### {plan.name}",
        "",
        f"{plan.instances} instances at {plan.rate:g}/s; {plan.pollers} poller(s), {plan.workers} worker(s) x "
        f"{plan.concurrency} process(es); job timeout {plan.job_timeout:g} s; each run {plan.work * 1000:g} ms; "
        f"{outcome.seconds:.0f} s in all. Jobs that waited out their timeout: {outcome.timed_out}; "
        f"open incidents: {outcome.incidents}.",
        "",
    ]
    lines += [f"- {what}" for _, what in outcome.events]
    lines += [f"- `{key}`: {json.dumps(value)}" for key, value in outcome.figures.items()]
    lines += [f"- error: {error}" for error in outcome.errors]
    if outcome.leaked:
        lines.append(f"- leaked slots: {', '.join(outcome.leaked)}")
    return "\n".join(lines) + "\n"


def failed(outcome: Outcome) -> bool:
    return bool(outcome.lost or outcome.slots_leaked or outcome.max_overrun > 0 or outcome.errors)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=f"of {', '.join(SCENARIOS)}; default all")
    parser.add_argument("--no-save", action="store_true", help="print only; write nothing under results/")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.scenarios) - set(SCENARIOS))
    if unknown:
        parser.error(f"no scenario {', '.join(unknown)}; there are {', '.join(SCENARIOS)}")
    outcomes: list[Outcome] = []
    for name in args.scenarios or list(SCENARIOS):
        print(f"[chaos] {name} ...", file=sys.stderr, flush=True)
        outcomes.append(run(name))
    text = table(outcomes)
    print(text)
    print()
    for outcome in outcomes:
        print(details(outcome))
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        header = (
            f"# Chaos scenarios\n\n`make chaos` on {time.strftime('%Y-%m-%d %H:%M')} ({platform.node()}, "
            f"{platform.python_version()}); raw poison messages "
            f"{'pushed (dead letters present)' if DEAD_LETTERS else 'not pushed (no dead-letter guard yet)'}.\n\n"
        )
        body = header + text + "\n\n" + "\n".join(details(o) for o in outcomes)
        (RESULTS / "chaos.md").write_text(body)
        payload: list[dict[str, Any]] = [
            {**o.row(), "figures": o.figures, "events": o.events, "timed_out": o.timed_out, "seconds": o.seconds}
            for o in outcomes
        ]
        (RESULTS / "chaos.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return 1 if any(failed(o) for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
