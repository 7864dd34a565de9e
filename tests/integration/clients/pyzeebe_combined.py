"""A pyzeebe worker for tests/integration/clients/test_combined_model.py: it does the child process's
execution listener jobs (completing them as they are) and its shipping jobs (``tracking = "T-" + orderId``).

It runs in benchmarks/.venv-pyzeebe and imports nothing from zeebe-celery. It prints ``{"event": "ready"}``
once its tasks are registered, one JSON line per job, and stops on SIGTERM with exit code 0.

    python pyzeebe_combined.py ADDRESS LISTENER_TYPE SHIP_TYPE
"""

# No `from __future__ import annotations`: pyzeebe finds the Job parameter by comparing its annotation to
# the Job class, which a string annotation never equals.
import argparse
import asyncio
import json
import signal
from typing import Any

from pyzeebe import Job, ZeebeWorker, create_insecure_channel


def say(**line: Any) -> None:
    print(json.dumps(line), flush=True)


async def work(address: str, listener_type: str, ship_type: str) -> None:
    worker = ZeebeWorker(create_insecure_channel(grpc_address=address), name="pyzeebe-combined")

    @worker.task(task_type=listener_type, timeout_ms=30_000)
    async def audit(job: Job) -> dict[str, Any]:
        say(event="job", type=job.type, element=job.element_id, orderId=job.variables.get("orderId"))
        return {}

    @worker.task(task_type=ship_type, timeout_ms=30_000)
    async def ship(orderId: str, job: Job) -> dict[str, Any]:
        say(event="job", type=job.type, element=job.element_id, orderId=orderId)
        return {"tracking": f"T-{orderId}"}

    stopping: set[asyncio.Task[None]] = set()

    def stop() -> None:
        stopping.add(asyncio.ensure_future(worker.stop()))

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop)
    loop.add_signal_handler(signal.SIGINT, stop)
    say(event="ready")
    await worker.work()
    await asyncio.gather(*stopping)
    say(event="stopped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("address")
    parser.add_argument("listener_type")
    parser.add_argument("ship_type")
    args = parser.parse_args()
    asyncio.run(work(args.address, args.listener_type, args.ship_type))


if __name__ == "__main__":
    main()
