"""The raw gRPC contender: ActivateJobs a batch, CompleteJob each, in one process, on the generated stubs.

It is the practical limit of a Python worker: no framework, no serialisation beyond protobuf. The
CompleteJob calls of a batch are issued together (gRPC futures) and awaited before the next
ActivateJobs, as a client that completes jobs concurrently does.

    python -m benchmarks.raw_worker ADDRESS JOB_TYPE [--batch 32]
"""

from __future__ import annotations

import argparse
import sys
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
    args = parser.parse_args(argv)
    channel = grpc.insecure_channel(args.address)
    stub = GatewayStub(channel)
    request = pb.ActivateJobsRequest(
        type=args.job_type,
        worker="raw-grpc",
        timeout=JOB_TIMEOUT_MS,
        maxJobsToActivate=args.batch,
        requestTimeout=LONG_POLL_MS,
    )
    print("raw worker ready", flush=True)
    # Runs until SIGTERM ends the process.
    while True:
        try:
            for response in stub.ActivateJobs(request, timeout=LONG_POLL_MS / 1000 + 5):
                pending = [stub.CompleteJob.future(pb.CompleteJobRequest(jobKey=job.key)) for job in response.jobs]
                for future in pending:
                    future.result()
        except grpc.RpcError as exc:
            print(f"raw worker: {exc.code()}: {exc.details()}", file=sys.stderr, flush=True)
            time.sleep(0.1)


if __name__ == "__main__":
    main()
