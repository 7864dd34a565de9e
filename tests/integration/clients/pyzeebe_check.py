"""A pyzeebe worker for tests/integration/clients/test_pyzeebe.py: it completes each job with ``doubled = 2 * x``.

Unless the job's variable ``mode`` says otherwise: ``"fail-once"`` raises on the job's first attempt (while it
has 3 retries), which pyzeebe reports with FailJob and one retry fewer; ``"no-stock"`` raises pyzeebe's
BusinessError with code ``NO_STOCK``, which pyzeebe reports with ThrowError.

It runs in benchmarks/.venv-pyzeebe (pyzeebe pins protobuf below 7, the project needs 7.35 or newer), so it
imports nothing from zeebe-celery. It prints ``{"event": "ready"}`` once its task is registered, then one
JSON line per job it handles, and stops gracefully on SIGTERM with exit code 0.

    python pyzeebe_check.py ADDRESS JOB_TYPE [--stream]
"""

# No `from __future__ import annotations`: pyzeebe finds the Job parameter by comparing its annotation to
# the Job class, which a string annotation never equals.
import argparse
import asyncio
import json
import signal
from typing import Any

from pyzeebe import Job, ZeebeWorker, create_insecure_channel
from pyzeebe.errors import BusinessError


def say(**line: Any) -> None:
    print(json.dumps(line), flush=True)


async def work(address: str, job_type: str, *, stream: bool) -> None:
    worker = ZeebeWorker(create_insecure_channel(grpc_address=address), name="pyzeebe-check", stream_enabled=stream)

    @worker.task(task_type=job_type, timeout_ms=30_000)
    async def double(x: int, job: Job, mode: str = "complete") -> dict[str, Any]:
        say(
            event="job",
            key=job.key,
            type=job.type,
            worker=job.worker,
            retries=job.retries,
            processInstanceKey=job.process_instance_key,
            elementId=job.element_id,
            customHeaders=dict(job.custom_headers),
            variables=dict(job.variables),
        )
        if mode == "fail-once" and job.retries == 3:
            raise RuntimeError("flaky on the first attempt")
        if mode == "no-stock":
            raise BusinessError("NO_STOCK")
        return {"doubled": 2 * x, "handledBy": "pyzeebe"}

    await serve(worker)


async def serve(worker: ZeebeWorker) -> None:
    """Work until SIGTERM or SIGINT, then stop gracefully; say when ready and when stopped."""
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
    parser.add_argument("job_type")
    parser.add_argument("--stream", action="store_true", help="stream jobs as well as polling for them")
    args = parser.parse_args()
    asyncio.run(work(args.address, args.job_type, stream=args.stream))


if __name__ == "__main__":
    main()
