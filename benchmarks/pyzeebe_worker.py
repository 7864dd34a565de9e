"""The pyzeebe contender: one ZeebeWorker with pyzeebe's defaults and a no-op task.

It runs in its own virtual environment (``benchmarks/setup_pyzeebe.sh``), because pyzeebe pins
protobuf below 7 and zeebe-celery needs 7.35 or newer; it imports nothing from zeebe-celery.

    python pyzeebe_worker.py ADDRESS JOB_TYPE [--async-wait-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
from importlib.metadata import version

from pyzeebe import ZeebeWorker, create_insecure_channel


async def work(address: str, job_type: str, poll_retry_delay: int, wait_ms: int) -> None:
    worker = ZeebeWorker(
        create_insecure_channel(grpc_address=address), name="pyzeebe-bench", poll_retry_delay=poll_retry_delay
    )

    # pyzeebe's defaults: timeout_ms=10000, max_jobs_to_activate=32, max_running_jobs=32. An async
    # handler is pyzeebe's fast path (a plain function would run in a thread pool).
    @worker.task(task_type=job_type)
    async def noop() -> dict[str, object]:
        if wait_ms:
            await asyncio.sleep(wait_ms / 1000)  # an async handler waiting on I/O
        return {}

    print(f"pyzeebe {version('pyzeebe')} worker ready", flush=True)
    await worker.work()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("address")
    parser.add_argument("job_type")
    parser.add_argument("--poll-retry-delay", type=int, default=5, help="pyzeebe's default is 5 (seconds)")
    parser.add_argument("--async-wait-ms", type=int, default=0, help="the task awaits this long (0: a no-op)")
    args = parser.parse_args()
    asyncio.run(work(args.address, args.job_type, args.poll_retry_delay, args.async_wait_ms))


if __name__ == "__main__":
    main()
