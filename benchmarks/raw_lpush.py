"""The floor of dispatching: LPUSH ready-made Celery messages to a Redis list, batch by batch.

Each batch is one LPUSH of all its messages, the cheapest way Redis takes them (and the way the poller
publishes on a Redis broker); the messages are ones the poller published, so both send the same bytes.

    python -m benchmarks.raw_lpush REDIS_URL QUEUE PAYLOADS_JSON COUNT BATCH [--activate ADDRESS JOB_TYPE]

With ``--activate`` each batch is first taken from the gateway with one ActivateJobs call (and as many
messages are pushed as jobs came back): a poller without flow control, parsing or message building, the
floor for a poller that must talk to both sides.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import grpc
import redis

from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("queue")
    parser.add_argument("payloads", type=Path)
    parser.add_argument("count", type=int)
    parser.add_argument("batch", type=int)
    parser.add_argument("--activate", nargs=2, metavar=("ADDRESS", "JOB_TYPE"))
    args = parser.parse_args()
    payloads = [p.encode() for p in json.loads(args.payloads.read_text())]
    client = redis.Redis.from_url(args.url)
    client.ping()
    print("raw lpush ready", flush=True)
    stub = GatewayStub(grpc.insecure_channel(args.activate[0])) if args.activate else None
    sent = 0
    while sent < args.count:
        size = min(args.batch, args.count - sent)
        if stub is not None:
            request = pb.ActivateJobsRequest(
                type=args.activate[1], worker="raw", timeout=300_000, maxJobsToActivate=size, requestTimeout=10_000
            )
            size = sum(len(response.jobs) for response in stub.ActivateJobs(request, timeout=15))
            if not size:
                continue
        client.lpush(args.queue, *(payloads[i % len(payloads)] for i in range(sent, sent + size)))
        sent += size
    print(f"raw lpush sent {sent}", flush=True)


if __name__ == "__main__":
    main()
