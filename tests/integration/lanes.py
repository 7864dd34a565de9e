"""Steps the bridge's broker lanes (RabbitMQ, Redis behind Sentinel) share: the processes that show jobs,
BPMN errors and retries work as on one Redis, and instances started at a steady rate while the broker is
disrupted midway."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.integration.bridge.conftest import EngineRecords, deploy_one_task, run_instances
from zeebe_celery.gateway.client import ZeebeClient


@dataclass(frozen=True)
class LaneProcesses:
    """The ids of the processes :func:`check_lane_outcomes` runs."""

    summed: str
    flaky: str
    boundary: str


def deploy_lane_processes(client: ZeebeClient, unique: Any) -> LaneProcesses:
    """One task adding numbers, one that fails once and is retried, and one whose BPMN error a boundary
    event catches (its job types: sum-numbers, flaky, check-stock and quick)."""
    summed = deploy_one_task(client, unique, "sum-numbers")
    flaky = deploy_one_task(client, unique, "flaky")
    boundary = unique("error-boundary")
    text = unique.text(
        "error_boundary.bpmn",
        "error-boundary",
        "reserve-work",
        "backorder-work",
        renames={"reserve-work": "check-stock", "backorder-work": "quick", "error-boundary": boundary},
    )
    client.deploy_resource((f"{boundary}.bpmn", text.encode()))
    return LaneProcesses(summed=summed, flaky=flaky, boundary=boundary)


def check_lane_outcomes(client: ZeebeClient, records: EngineRecords, processes: LaneProcesses) -> None:
    """Results, a caught BPMN error and a retry come out as they do on one Redis."""
    results = run_instances(client, processes.summed, 100, a=1, b=2)
    assert {r["sum"] for r in results} == {3}
    ended = client.create_process_instance_with_result(
        processes.boundary, variables={"item": "bolt", "n": 4}, request_timeout=60
    )
    assert (ended.variables["doubled"], ended.variables["reason"]) == (8, "bolt sold out")
    retried = client.create_process_instance_with_result(processes.flaky, request_timeout=60)
    assert retried.variables["attempts"] == 2
    assert [f["value"]["retries"] for f in records.find("JOB", "FAILED", bpmnProcessId=processes.flaky)] == [2]


def start_while_disrupted(
    client: ZeebeClient,
    process_id: str,
    *,
    count: int,
    rate: float,
    disrupt: Callable[[], None],
    within: float,
    failure: str,
) -> list[int]:
    """Start ``count`` instances (``n`` = 0..count-1) at ``rate`` a second, calling ``disrupt`` from another
    thread once a third of them are started; their keys. ``failure`` is the message should ``disrupt`` not
    have returned ``within`` seconds after the last start."""
    started: list[int] = []
    disrupted = threading.Event()

    def disrupt_midway() -> None:
        while len(started) < count // 3:
            time.sleep(0.05)
        disrupt()
        disrupted.set()

    disrupter = threading.Thread(target=disrupt_midway)
    disrupter.start()
    begin = time.monotonic()
    for i in range(count):
        started.append(client.create_process_instance(process_id, variables={"n": i}).process_instance_key)
        time.sleep(max(0.0, begin + (i + 1) / rate - time.monotonic()))
    disrupter.join(timeout=within)
    assert disrupted.is_set(), failure
    return started


def wait_until_completed(
    records: EngineRecords, process_id: str, started: list[int], *, within: float, note: str = ""
) -> None:
    """Wait until every instance in ``started`` has completed; ``note`` ends the message if some do not."""
    deadline = time.monotonic() + within
    while True:
        completed = records.completed_instances(process_id)
        if set(started) <= completed:
            return
        missing = len(set(started) - completed)
        assert time.monotonic() < deadline, f"{missing} of {len(started)} instances did not complete{note}"
        time.sleep(0.5)
