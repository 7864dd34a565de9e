"""The engine's own CPU per one-task instance, with no gRPC transport: its Gateway servicer driven directly.

``python benchmarks/servicer_loop.py --instances N --rounds R`` (run with the source tree to measure first on
``PYTHONPATH``, as :mod:`benchmarks.engine_redesign` does for an earlier revision) deploys the benchmark
process into an in-process engine, then in each round creates N instances through ``CreateProcessInstance``,
activates their jobs 32 at a time through ``ActivateJobs`` and completes each through ``CompleteJob``, calling
the servicer's methods with a stand-in for gRPC's context. It prints ``servicer us/instance V`` per round:
the process CPU time of the round over N. With gRPC's own work (identical library code for any engine) out of
the figure, what is left is the engine's: request decoding, the commands and their records, the answers.

It uses only what every revision of the engine since the first benchmark has: ``ZeebeEngine``'s runtime,
faults and back pressure, and ``GatewayServicer``'s constructor.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zeebe_celery.engine.engine import ZeebeEngine
from zeebe_celery.engine.server import GatewayServicer
from zeebe_celery.gateway.proto import gateway_pb2 as pb

BPMN = Path(__file__).with_name("bench.bpmn")
BATCH = 32
WARM = 2000


class _Context:
    """What the servicer asks of gRPC's context; the callbacks run when the call ends, as gRPC runs them."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[], None]] = []

    def invocation_metadata(self) -> tuple[()]:
        return ()

    def time_remaining(self) -> float:
        return 10.0

    def is_active(self) -> bool:
        return True

    def add_callback(self, callback: Callable[[], None]) -> bool:
        self._callbacks.append(callback)
        return True

    def abort(self, code: Any, details: str) -> None:
        raise RuntimeError(f"{code}: {details}")

    def end(self) -> None:
        for callback in self._callbacks:
            callback()


def _call(method: Callable[[Any, Any], Any], request: Any) -> Any:
    context = _Context()
    response = method(request, context)
    if not hasattr(response, "ByteSize"):
        response = list(response)  # a streaming answer: the messages it yields
    context.end()
    return response


def _instances(servicer: GatewayServicer, count: int) -> None:
    """Create ``count`` instances and complete their jobs; raises unless every one was completed."""
    completed = 0
    activate = pb.ActivateJobsRequest(
        type="bench", worker="w", timeout=60_000, maxJobsToActivate=BATCH, requestTimeout=1
    )
    for first in range(0, count, BATCH):
        for n in range(first, min(first + BATCH, count)):
            variables = json.dumps({"n": n})
            _call(
                servicer.CreateProcessInstance,
                pb.CreateProcessInstanceRequest(bpmnProcessId="bench", version=-1, variables=variables),
            )
        for response in _call(servicer.ActivateJobs, activate):
            for job in response.jobs:
                _call(servicer.CompleteJob, pb.CompleteJobRequest(jobKey=job.key))
                completed += 1
    if completed != count:
        raise RuntimeError(f"{completed} of {count} jobs were handed out and completed")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=3200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    engine = ZeebeEngine(records_limit=1000)
    servicer = GatewayServicer(
        engine.runtime, host="127.0.0.1", port=lambda: 0, faults=engine.faults, back_pressure=engine.back_pressure
    )
    xml = BPMN.read_text().replace("JOB_TYPE", "bench").replace("PROCESS_ID", "bench")
    _call(
        servicer.DeployResource,
        pb.DeployResourceRequest(resources=[pb.Resource(name="bench.bpmn", content=xml.encode())]),
    )
    _instances(servicer, WARM)
    for _ in range(args.rounds):
        started = time.process_time()
        _instances(servicer, args.instances)
        print(f"servicer us/instance {(time.process_time() - started) / args.instances * 1e6:.1f}", flush=True)


if __name__ == "__main__":
    main()
