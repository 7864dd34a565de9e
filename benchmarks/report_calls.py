"""What one report costs the process that sends it: the client CPU of a CompleteJob, by how it is made.

::

    python -m benchmarks.report_calls [--jobs 3000]

Each way runs in a process of its own against one engine (a process of its own too), completing jobs it
activated first; the figure is that process's CPU (all its threads, gRPC's own included) over the
completions, per call. The ways: grpcio's blocking stub, one call after another; the blocking stub from 8
threads; futures, 32 in flight; ``grpc.aio`` on the caller's own loop, 32 in flight; and ``grpc.aio`` on a
loop in another thread, fed from the caller's, 32 in flight, as the worker's report loop
(``zeebe_celery/report_loop.py``) does. Results go to ``benchmarks/results/report-calls.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

from benchmarks.engine_proc import EngineProcess
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub

RESULTS = Path(__file__).resolve().parent / "results" / "report-calls.md"
BPMN = Path(__file__).resolve().parent / "bench.bpmn"
WAYS = ("blocking", "threads", "futures", "aio", "aio-from-another-thread")
IN_FLIGHT = 32


def _request(key: int) -> pb.CompleteJobRequest:
    return pb.CompleteJobRequest(jobKey=key, variables="{}")


def _activated(stub: GatewayStub, way: str, count: int) -> list[int]:
    """``count`` jobs of a type of ``way``'s own, activated and waiting to be completed."""
    name = f"calls-{way}"
    xml = BPMN.read_text(encoding="utf-8").replace("JOB_TYPE", name).replace("PROCESS_ID", name)
    stub.DeployResource(pb.DeployResourceRequest(resources=[pb.Resource(name="calls.bpmn", content=xml.encode())]))
    for _ in range(count):
        stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(bpmnProcessId=name))
    keys: list[int] = []
    while len(keys) < count:
        request = pb.ActivateJobsRequest(
            type=name, worker="calls", timeout=600_000, maxJobsToActivate=1000, requestTimeout=-1
        )
        keys += [job.key for answer in stub.ActivateJobs(request) for job in answer.jobs]
    return keys


def _blocking(stub: GatewayStub, address: str, keys: list[int]) -> None:
    for key in keys:
        stub.CompleteJob(_request(key), timeout=30)


def _threads(stub: GatewayStub, address: str, keys: list[int]) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: stub.CompleteJob(_request(key), timeout=30), keys))


def _futures(stub: GatewayStub, address: str, keys: list[int]) -> None:
    free = threading.Semaphore(IN_FLIGHT)
    left = [len(keys)]
    done = threading.Event()

    def finished(call: grpc.Future) -> None:
        call.result()
        free.release()
        left[0] -= 1  # one callback thread
        if left[0] == 0:
            done.set()

    for key in keys:
        free.acquire()
        stub.CompleteJob.future(_request(key), timeout=30).add_done_callback(finished)
    done.wait()


async def _on_loop(address: str, keys: list[int]) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = GatewayStub(channel)
        free = asyncio.Semaphore(IN_FLIGHT)

        async def one(key: int) -> None:
            async with free:
                await stub.CompleteJob(_request(key), timeout=30)

        await asyncio.gather(*(one(key) for key in keys))


def _aio(stub: GatewayStub, address: str, keys: list[int]) -> None:
    asyncio.run(_on_loop(address, keys))


def _aio_from_another_thread(stub: GatewayStub, address: str, keys: list[int]) -> None:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    channel = grpc.aio.insecure_channel(address)
    aio_stub = GatewayStub(channel)
    free = threading.Semaphore(IN_FLIGHT)
    left = [len(keys)]
    done = threading.Event()

    async def one(key: int) -> None:
        try:
            await aio_stub.CompleteJob(_request(key), timeout=30)
        finally:
            free.release()
            left[0] -= 1  # on the loop's one thread
            if left[0] == 0:
                done.set()

    for key in keys:
        free.acquire()
        loop.call_soon_threadsafe(loop.create_task, one(key))
    done.wait()


_RUNNERS: dict[str, Callable[[GatewayStub, str, list[int]], None]] = {
    "blocking": _blocking,
    "threads": _threads,
    "futures": _futures,
    "aio": _aio,
    "aio-from-another-thread": _aio_from_another_thread,
}


def measure(way: str, address: str, count: int) -> float:
    """In this process: µs of this process's CPU per CompleteJob made ``way``."""
    with grpc.insecure_channel(address) as channel:
        stub = GatewayStub(channel)
        keys = _activated(stub, way, count)
        time.sleep(0.5)  # the activations' aftermath settles
        started = time.process_time()
        _RUNNERS[way](stub, address, keys)
        return (time.process_time() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--way", choices=WAYS, help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.way:
        print(f"{measure(args.way, args.address, args.jobs):.1f}")
        return
    rows = []
    with EngineProcess() as engine:
        for way in WAYS:
            command = [sys.executable, "-m", "benchmarks.report_calls", "--way", way, "--address", engine.address]
            done = subprocess.run([*command, "--jobs", str(args.jobs)], capture_output=True, text=True, check=True)
            rows.append((way, float(done.stdout.strip())))
            print(f"{way}: {rows[-1][1]:.1f} µs of client CPU per CompleteJob", flush=True)
    lines = [
        "# Client CPU per CompleteJob, by how the call is made",
        "",
        f"{args.jobs:,} jobs per way, each way in a process of its own against one engine; "
        f"measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on 2 shared cores "
        "(`python -m benchmarks.report_calls`).",
        "",
        "| way | µs of CPU per call |",
        "|---|---:|",
        *(f"| {way} | {cost:.1f} |" for way, cost in rows),
        "",
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
