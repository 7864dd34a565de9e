"""``zeebe-celery dev demo``: the example shop on a real local stack, end to end.

It starts the project's Zeebe-compatible engine and Redis (or uses running ones), a poller and two Celery
prefork workers, deploys ``examples/order_process.bpmn``, runs a few hundred orders through it behind a
progress bar, and prints what happened: completed orders (shipped or declined through the BPMN error path),
jobs that failed once and succeeded on retry, instances that did not finish (incidents), throughput and
latency.
It stops everything it started and exits 0 when every instance completed.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import statistics
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TextIO

from zeebe_celery.config import ZeebeSettings
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.errors import GatewayError
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.stack.fleet import CeleryWorker, PollerProcess, stack_env
from zeebe_celery.stack.redis import RedisServer

__all__ = ["DemoResult", "main", "run_orders"]

logger = logging.getLogger(__name__)

PROCESS_ID = "order-fulfilment"
JOB_TYPES = ("validate-order", "charge-card", "reserve-stock", "ship-order", "notify-customer")
APP = "examples.app"
# Above the example app's CARD_LIMIT: such orders take the CARD_DECLINED path.
_DECLINED_EVERY = 10


@dataclass
class DemoResult:
    """What the orders did: outcomes, retried jobs, and per-instance latency in seconds."""

    instances: int = 0
    shipped: int = 0
    declined: int = 0
    retried: int = 0
    unfinished: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def completed(self) -> int:
        return self.shipped + self.declined

    @property
    def ok(self) -> bool:
        return self.completed == self.instances and not self.unfinished

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(q) - 1]

    def summary(self) -> str:
        throughput = self.completed / self.elapsed if self.elapsed > 0 else 0.0
        return "\n".join(
            [
                f"instances   {self.instances}",
                f"completed   {self.completed}  (shipped {self.shipped}, declined by BPMN error {self.declined})",
                f"failed      {self.retried} jobs failed once and succeeded on retry",
                f"incidents   {len(self.unfinished)} instances did not finish"
                + (f": {', '.join(self.unfinished[:5])}" if self.unfinished else ""),
                f"throughput  {throughput:.1f} instances/s over {self.elapsed:.1f}s",
                f"latency     p50 {self.percentile(50) * 1000:.0f} ms, p99 {self.percentile(99) * 1000:.0f} ms "
                "(start to end of an instance, four or five jobs and a message)",
            ]
        )


def order(index: int) -> dict[str, object]:
    """The ``order`` variable of the index-th demo order; every tenth is over the card limit."""
    amount = 950.0 + index if index % _DECLINED_EVERY == 3 else 10.0 + (index * 37) % 800
    return {"order_id": f"A-{index:05d}", "amount": amount, "items": 1 + index % 3}


def run_orders(
    client: ZeebeClient,
    count: int,
    *,
    concurrency: int = 32,
    timeout: float = 120.0,
    progress: TextIO | None = None,
) -> DemoResult:
    """Start ``count`` orders and wait for each to end; the payment message is published first (buffered)."""
    result = DemoResult(instances=count)
    lock = threading.Lock()
    done = 0

    def one(index: int) -> tuple[str, float, dict[str, object]]:
        variables = order(index)
        order_id = str(variables["order_id"])
        # The payment provider confirms before the process waits for it; the message waits (TTL) for the
        # subscription to open.
        client.publish_message(
            "payment-settled", correlation_key=order_id, time_to_live=timeout, message_id=f"settled-{order_id}"
        )
        started = time.perf_counter()
        ended = client.create_process_instance_with_result(
            PROCESS_ID, variables={"order": variables}, request_timeout=timeout
        )
        return order_id, time.perf_counter() - started, ended.variables

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="order") as pool:
        futures = {pool.submit(one, i): i for i in range(count)}
        for future in as_completed(futures):
            index = futures[future]
            try:
                _, latency, variables = future.result()
            except GatewayError as exc:
                with lock:
                    result.unfinished.append(f"A-{index:05d} ({exc.code.name if exc.code else type(exc).__name__})")
            else:
                with lock:
                    result.latencies.append(latency)
                    if variables.get("shipped"):
                        result.shipped += 1
                    elif variables.get("declined"):
                        result.declined += 1
                    else:
                        result.unfinished.append(f"A-{index:05d} (ended without shipping or declining)")
                    attempts = variables.get("stock_attempts")
                    if isinstance(attempts, int) and attempts > 1:
                        result.retried += attempts - 1
            done += 1
            if progress is not None:
                _draw(progress, done, count)
    result.elapsed = time.perf_counter() - started
    if progress is not None and progress.isatty():
        progress.write("\n")
    return result


def _draw(out: TextIO, done: int, total: int, width: int = 40) -> None:
    filled = width * done // total
    if out.isatty():
        out.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    elif done == total or width * (done - 1) // total // 4 != filled // 4:
        # A log file gets a line every tenth of the way, not a carriage-return animation.
        out.write(f"  [{'#' * filled}{'.' * (width - filled)}] {done}/{total}\n")
    out.flush()


def examples_dir() -> Path:
    """The repository's examples/ folder (the demo runs from a clone)."""
    here = Path(__file__).resolve().parent.parent / "examples"
    if not (here / "app.py").is_file():
        raise FileNotFoundError(f"the demo needs the repository's examples/ folder, not found at {here}")
    return here


@contextlib.contextmanager
def _stack(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    if args.address and args.redis_url:
        yield args.address, args.redis_url
        return
    print("starting the engine and Redis on 127.0.0.1 ...", file=sys.stderr)
    with ZeebeEngine(monitoring_port=0) as engine, RedisServer() as redis:
        print(f"watch the orders run in the engine's web UI: {engine.web_url}", file=sys.stderr)
        yield engine.address, redis.url


def _wait_for_a_stop_signal() -> None:
    """Until SIGINT or SIGTERM; the stack is then stopped as after the orders."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(1.0):
            pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns 0 when every instance completed, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="zeebe-celery dev demo", description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=300, help="orders to run (default 300)")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (default 2)")
    parser.add_argument("--concurrency", type=int, default=4, help="prefork children per worker (default 4)")
    parser.add_argument("--address", help="use this running Zeebe gateway instead of starting one")
    parser.add_argument("--redis-url", help="use this running Redis instead of starting one")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds an instance may take")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="after the orders, keep the stack (and the engine's web UI) running until Ctrl-C",
    )
    args = parser.parse_args(argv)
    if args.instances < 1 or args.workers < 1 or args.concurrency < 1:
        parser.error("--instances, --workers and --concurrency must be at least 1")
    examples = examples_dir()
    root = examples.parent
    with contextlib.ExitStack() as stack:
        address, redis_url = stack.enter_context(_stack(args))
        env = stack_env(zeebe_address=address, redis_url=redis_url, max_jobs="64")
        queues = [f"zeebe.{t}" for t in JOB_TYPES]
        print(f"starting {args.workers} Celery prefork workers and a poller ...", file=sys.stderr)
        workers = [
            CeleryWorker(APP, queues, env=env, concurrency=args.concurrency, cwd=root) for _ in range(args.workers)
        ]
        for worker in workers:
            stack.enter_context(worker.start(wait=False))
        poller = stack.enter_context(PollerProcess(APP, env=env, cwd=root).start(wait=False))
        for worker in workers:
            worker.wait_ready()
        poller.wait_ready()
        client = stack.enter_context(ZeebeClient(ZeebeSettings(address=address)))
        deployment = client.deploy_resource(examples / "order_process.bpmn")
        print(f"deployed {PROCESS_ID} version {deployment.processes[0].version}", file=sys.stderr)
        print(f"running {args.instances} orders:", file=sys.stderr)
        result = run_orders(client, args.instances, timeout=args.timeout, progress=sys.stderr)
        if args.keep:
            print(result.summary(), flush=True)
            print("the stack keeps running (--keep); Ctrl-C or SIGTERM stops it", file=sys.stderr)
            _wait_for_a_stop_signal()
        print("stopping ...", file=sys.stderr)
    if not args.keep:
        print(result.summary())
    return 0 if result.ok else 1
