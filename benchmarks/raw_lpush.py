"""The floor of dispatching: LPUSH ready-made Celery messages to a Redis list, batch by batch.

Each batch is one LPUSH of all its messages, the cheapest way Redis takes them (and the way the poller
publishes on a Redis broker); the messages are ones the poller published, so both send the same bytes.

    python -m benchmarks.raw_lpush REDIS_URL QUEUE PAYLOADS_JSON COUNT BATCH
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import redis


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("queue")
    parser.add_argument("payloads", type=Path)
    parser.add_argument("count", type=int)
    parser.add_argument("batch", type=int)
    args = parser.parse_args()
    payloads = [p.encode() for p in json.loads(args.payloads.read_text())]
    client = redis.Redis.from_url(args.url)
    client.ping()
    print("raw lpush ready", flush=True)
    sent = 0
    while sent < args.count:
        size = min(args.batch, args.count - sent)
        client.lpush(args.queue, *(payloads[i % len(payloads)] for i in range(sent, sent + size)))
        sent += size
    print(f"raw lpush sent {sent}", flush=True)


if __name__ == "__main__":
    main()
