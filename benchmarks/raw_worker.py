"""The raw gRPC contender: ActivateJobs a batch, CompleteJob each, in one process, on the generated stubs.

It is the practical limit of a Python worker: no framework, no serialisation beyond protobuf. Each
CompleteJob is sent asynchronously (a gRPC future) and the next ActivateJobs does not wait for them;
at most ``--in-flight`` jobs are held at once, as any worker bounds its jobs.

    python -m benchmarks.raw_worker ADDRESS JOB_TYPE [--batch 32] [--in-flight 64]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

import grpc

from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub

# The same job timeout and long poll as pyzeebe's defaults (10 s each).
JOB_TIMEOUT_MS = 10_000
LONG_POLL_MS = 10_000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("address")
    parser.add_argument("job_type")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--in-flight", type=int, default=64)
    args = parser.parse_args(argv)
    channel = grpc.insecure_channel(args.address)
    stub = GatewayStub(channel)
    slots = threading.Semaphore(args.in_flight)
    free = args.in_flight
    lock = threading.Lock()

    def completed(future: grpc.Future) -> None:
        nonlocal free
        if future.exception() is not None:
            print(f"raw worker: CompleteJob failed: {future.exception()}", file=sys.stderr, flush=True)
        with lock:
            free += 1
        slots.release()

    print("raw worker ready", flush=True)
    # Runs until SIGTERM ends the process.
    while True:
        # Wait for one free slot, then ask for as many jobs as are free (at most a batch).
        slots.acquire()
        slots.release()
        with lock:
            want = min(args.batch, free)
        request = pb.ActivateJobsRequest(
            type=args.job_type,
            worker="raw-grpc",
            timeout=JOB_TIMEOUT_MS,
            maxJobsToActivate=want,
            requestTimeout=LONG_POLL_MS,
        )
        try:
            for response in stub.ActivateJobs(request, timeout=LONG_POLL_MS / 1000 + 5):
                for job in response.jobs:
                    slots.acquire()
                    with lock:
                        free -= 1
                    stub.CompleteJob.future(pb.CompleteJobRequest(jobKey=job.key)).add_done_callback(completed)
        except grpc.RpcError as exc:
            print(f"raw worker: {exc.code()}: {exc.details()}", file=sys.stderr, flush=True)
            time.sleep(0.1)


if __name__ == "__main__":
    main()
