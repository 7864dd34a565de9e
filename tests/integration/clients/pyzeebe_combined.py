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
from typing import Any

from pyzeebe import Job, ZeebeWorker, create_insecure_channel
from pyzeebe_check import say, serve  # beside this file, which Python puts first on the path


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

    await serve(worker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("address")
    parser.add_argument("listener_type")
    parser.add_argument("ship_type")
    args = parser.parse_args()
    asyncio.run(work(args.address, args.listener_type, args.ship_type))


if __name__ == "__main__":
    main()
