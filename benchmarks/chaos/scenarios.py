"""The four chaos scenarios of issue 15, each a plan, a timeline of faults and the figures it adds.

1. ``network-cut``: the proxy between the bridge and the engine blackholes the link for 10 s.
2. ``back-pressure``: the engine answers RESOURCE_EXHAUSTED to 30% of ActivateJobs calls and reports for 20 s.
3. ``combined``: a worker and a poller killed with kill -9 (and started again, as a supervisor would);
   Redis restarted with its data lost, then again with AOF on; the engine killed with kill -9 and started
   again on its data directory; poison messages pushed onto the job type's queue.
4. ``fleet``: two pollers and four workers; one of each killed with kill -9, not replaced.

Each runs at a modest steady rate, so it holds on a shared two-core machine, and ends in about a minute.
"""

from __future__ import annotations

import base64
import importlib.util
import json
from collections.abc import Callable
from dataclasses import replace

from celery import Celery

from benchmarks.chaos.observe import Observer, Run, read_journal
from benchmarks.chaos.run import Fault, Outcome, run_scenario
from benchmarks.chaos.stack import ChaosStack, Plan

__all__ = ["DEAD_LETTERS", "SCENARIOS", "STORM_RPCS", "dead_letter_queue"]

CUT_SECONDS = 10.0
STORM_SECONDS = 20.0
STORM_FRACTION = 0.3
STORM_RPCS = ("ActivateJobs", "CompleteJob", "FailJob", "ThrowError")
# The bridge's keepalive in the network cut: short enough to notice the dead link within the cut.
CUT_KEEPALIVE = 2.0
TASK_NAME = "benchmarks.chaos.app.work"

# Whether the worker guards its queues with dead letters (issue 15, part 1): then messages that kill a
# bare Celery worker (not JSON, not base64) are pushed too, and must end up on ``zeebe.<type>.dead``.
DEAD_LETTERS = importlib.util.find_spec("zeebe_celery.deadletter") is not None


def dead_letter_queue(queue: str) -> str:
    return f"{queue}.dead"


# -- 1. a network cut --------------------------------------------------------------------------------


def network_cut(plan: Plan) -> Outcome:
    def cut(stack: ChaosStack) -> None:
        assert stack.proxy is not None
        stack.proxy.cut(CUT_SECONDS)

    return run_scenario(plan, [Fault(10.0, f"network cut for {CUT_SECONDS:.0f} s", cut)], inspect=_cut_figures)


def _cut_figures(stack: ChaosStack, observer: Observer, outcome: Outcome) -> None:
    assert stack.proxy is not None
    [(start, end)] = stack.proxy.cuts
    killed = stack.proxy.killed()
    noticed = [c.client_closed - start for c in killed if c.client_closed is not None]
    after = sorted(at for at in observer.jobs_completed.values() if at > end)
    outcome.figures.update(
        {
            "dead_connections": len(killed),
            "given_up_during_cut": sum(1 for c in killed if c.client_closed is not None and c.client_closed <= end),
            "given_up_at_all": len(noticed),
            "first_given_up_after_s": round(min(noticed), 2) if noticed else None,
            "first_completion_after_cut_s": round(after[0] - end, 2) if after else None,
            "completed_during_cut": sum(1 for at in observer.jobs_completed.values() if start < at <= end),
        }
    )


# -- 2. a back-pressure storm ------------------------------------------------------------------------


def back_pressure(plan: Plan) -> Outcome:
    def storm(stack: ChaosStack) -> None:
        for rpc in STORM_RPCS:
            stack.faults.fail(rpc, "RESOURCE_EXHAUSTED", fraction=STORM_FRACTION)

    def calm(stack: ChaosStack) -> None:
        stack.faults.clear()

    faults = [
        Fault(8.0, f"RESOURCE_EXHAUSTED to {STORM_FRACTION:.0%} of activations and reports", storm),
        Fault(8.0 + STORM_SECONDS, "the storm ends", calm),
    ]
    return run_scenario(plan, faults, inspect=_storm_figures)


def _storm_figures(stack: ChaosStack, observer: Observer, outcome: Outcome) -> None:
    starts = [at for at, what in stack.events if "RESOURCE_EXHAUSTED" in what]
    ends = [at for at, what in stack.events if "storm ends" in what]
    start, end = starts[0], ends[0]
    calls = stack.faults.calls()
    during = [(rpc, at, key) for rpc, at, key in calls if start <= at <= end]
    # The same length of time before the storm, or what there was of it.
    quiet = min(end - start, start - min((at for _, at, _ in calls), default=start)) or 1.0
    before = [(rpc, at) for rpc, at, _ in calls if start - quiet <= at < start]
    completed = sum(1 for at in observer.jobs_completed.values() if start <= at <= end)
    reports = sum(1 for rpc, _, _ in during if rpc == "CompleteJob")
    # A report the engine received after its job's deadline: the retries did not stop in time.
    deadlines: dict[int, float] = {}
    for run in stack_runs(stack):
        deadlines[run.key] = max(run.deadline, deadlines.get(run.key, 0.0))
    late = sum(1 for rpc, at, key in calls if rpc == "CompleteJob" and key in deadlines and at > deadlines[key])
    outcome.figures.update(
        {
            "storm_s": round(end - start, 1),
            "completed_during_storm": completed,
            "complete_calls_during_storm": reports,
            "attempts_per_completion": round(reports / completed, 2) if completed else None,
            "activate_calls_per_s_during_storm": round(_count(during, "ActivateJobs") / (end - start), 2),
            "activate_calls_per_s_before": round(sum(1 for rpc, _ in before if rpc == "ActivateJobs") / quiet, 2),
            "reports_after_deadline": late,
        }
    )


def _count(calls: list[tuple[str, float, int]], rpc: str) -> int:
    return sum(1 for name, _, _ in calls if name == rpc)


def stack_runs(stack: ChaosStack) -> list[Run]:
    return read_journal(stack.journal)


# -- 3. the combined run -----------------------------------------------------------------------------


def poison_messages(queue: str) -> list[bytes]:
    """Raw messages a bare Celery worker dies on (issue 15): not JSON, JSON of the wrong shape, a body that
    is not base64, a body that decodes to the wrong shape, a time limit that is not numbers."""

    def envelope(body: bytes, **headers: object) -> bytes:
        message = {
            "body": body.decode(),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": {"lang": "py", "task": TASK_NAME, "id": "poison", **headers},
            "properties": {
                "delivery_tag": "poison",
                "delivery_info": {"exchange": "", "routing_key": queue},
                "body_encoding": "base64",
                "priority": 0,
            },
        }
        return json.dumps(message).encode()

    good_body = base64.b64encode(json.dumps([[{}], {}, {}]).encode())
    return [
        b"garbage",
        b"[]",
        envelope(b"%%% not base64 %%%"),
        envelope(base64.b64encode(b'{"a":1}')),
        envelope(good_body, timelimit=["x", {}]),
    ]


def push_poison(stack: ChaosStack) -> None:
    """Messages a worker must survive: a task nobody registered, and a job payload that is not a job; with
    dead letters, also the raw poison of :func:`poison_messages`."""
    app = Celery("chaos-poison", broker=stack.redis_url)
    app.conf.broker_transport_options = {"ack_emulation": False}
    try:
        app.send_task("no.such.task", args=[{"n": 1}], queue=stack.queue)
        app.send_task(TASK_NAME, args=[{"key": "not a job"}], queue=stack.queue)
    finally:
        app.close()
    if DEAD_LETTERS:
        stack.push_raw(poison_messages(stack.queue))
    stack.note(f"poison pushed ({'with' if DEAD_LETTERS else 'without'} raw poison)")


def combined(plan: Plan) -> Outcome:
    faults = [
        Fault(5.0, "a worker killed with kill -9 (and started again)", lambda s: s.kill_worker(0, replace=True)),
        Fault(11.0, "the poller killed with kill -9 (and started again)", lambda s: s.kill_poller(0, replace=True)),
        Fault(17.0, "Redis restarted, its data lost", lambda s: s.restart_redis(aof=True)),
        Fault(25.0, "Redis restarted with AOF on", lambda s: s.restart_redis(aof=True)),
        Fault(32.0, "the engine killed with kill -9 and started again", lambda s: s.kill_engine(down_for=1.0)),
        Fault(40.0, "poison messages", push_poison),
    ]
    return run_scenario(plan, faults, inspect=_combined_figures)


def _combined_figures(stack: ChaosStack, observer: Observer, outcome: Outcome) -> None:
    outcome.figures["timed_out_after_each_fault"] = timed_out_after_faults(stack, observer)
    outcome.figures["workers_alive_at_end"] = len(stack.alive_workers())
    outcome.figures["worker_logs_with_unrecoverable_error"] = sum(
        1 for w in stack.workers if "Unrecoverable error" in w.log()
    )
    if DEAD_LETTERS:
        client = stack.redis_client()
        try:
            outcome.figures["dead_letters"] = int(client.llen(dead_letter_queue(stack.queue)))
        finally:
            client.close()


def timed_out_after_faults(stack: ChaosStack, observer: Observer) -> dict[str, int]:
    """Jobs that waited out their timeout, by the fault before them: a fault at T strands jobs in flight
    at T, which time out by T + the job timeout; the faults are further apart than that."""
    faults = [(at, what.removeprefix("fault: ")) for at, what in stack.events if what.startswith("fault: ")]
    counts: dict[str, int] = {}
    for index, (at, what) in enumerate(faults):
        until = faults[index + 1][0] if index + 1 < len(faults) else float("inf")
        counts[what] = sum(1 for _, timed_out in observer.timed_out if at < timed_out <= until)
    return counts


# -- 4. two pollers, four workers --------------------------------------------------------------------


def fleet(plan: Plan) -> Outcome:
    faults = [
        Fault(8.0, "one of four workers killed with kill -9", lambda s: s.kill_worker(0)),
        Fault(16.0, "one of two pollers killed with kill -9", lambda s: s.kill_poller(0)),
    ]
    return run_scenario(plan, faults, inspect=_fleet_figures)


def _fleet_figures(stack: ChaosStack, observer: Observer, outcome: Outcome) -> None:
    outcome.figures["timed_out_after_each_fault"] = timed_out_after_faults(stack, observer)


Scenario = tuple[Plan, Callable[[Plan], Outcome]]

SCENARIOS: dict[str, Scenario] = {
    "network-cut": (Plan("network-cut", proxy=True, keepalive=CUT_KEEPALIVE, job_timeout=8.0), network_cut),
    "back-pressure": (Plan("back-pressure", job_timeout=8.0), back_pressure),
    "combined": (Plan("combined", instances=240, workers=2, work=0.25), combined),
    "fleet": (Plan("fleet", pollers=2, workers=4, concurrency=1, work=0.25), fleet),
}


def run(name: str, **overrides: object) -> Outcome:
    """Run the scenario ``name``, with fields of its plan replaced by ``overrides``."""
    plan, scenario = SCENARIOS[name]
    return scenario(replace(plan, **overrides))  # type: ignore[arg-type]
