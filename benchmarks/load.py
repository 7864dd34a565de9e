"""Deploying the benchmark process and starting its instances: a backlog at once, or at a steady rate."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub

__all__ = ["Load"]

BPMN = Path(__file__).with_name("bench.bpmn")
# Back-pressure answers RESOURCE_EXHAUSTED when the engine is busy: wait and send again.
_RETRYABLE = (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
_CREATORS = 16


class Load:
    """Creates instances of one-task processes on the engine at ``address``."""

    def __init__(self, address: str) -> None:
        self._channel = grpc.insecure_channel(address)
        self._stub = GatewayStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def deploy(self, job_type: str, *, template: Path = BPMN) -> str:
        """Deploy ``template`` (bench.bpmn) with ``job_type`` as its task's type and its process id;
        returns the process id."""
        xml = template.read_text().replace("JOB_TYPE", job_type).replace("PROCESS_ID", job_type)
        resource = pb.Resource(name=f"{job_type}.bpmn", content=xml.encode())
        self._stub.DeployResource(pb.DeployResourceRequest(resources=[resource]), timeout=30)
        return job_type

    def create(self, process_id: str, n: int, deadline: float) -> int:
        """Create one instance with ``n``, sending again while the engine is busy or away until the
        ``deadline`` (a ``time.monotonic()`` time); returns its key."""
        request = pb.CreateProcessInstanceRequest(bpmnProcessId=process_id, version=-1, variables=json.dumps({"n": n}))
        attempt = 0
        while True:
            try:
                response = self._stub.CreateProcessInstance(request, timeout=10)
                return int(response.processInstanceKey)
            except grpc.RpcError as exc:
                attempt += 1
                if exc.code() not in _RETRYABLE or time.monotonic() > deadline:
                    raise
                time.sleep(min(0.5, 0.005 * 2**attempt))

    def backlog(self, process_id: str, count: int, *, timeout: float, first: int = 0) -> float:
        """Create ``count`` instances as fast as the engine takes them, with ``n`` from ``first`` up;
        returns instances/s."""
        started = time.monotonic()
        deadline = started + timeout
        with ThreadPoolExecutor(_CREATORS, thread_name_prefix="creator") as pool:
            for _ in pool.map(lambda n: self.create(process_id, n, deadline), range(first, first + count)):
                pass
        return count / (time.monotonic() - started)

    def paced(self, process_id: str, count: int, rate: float) -> tuple[float, int]:
        """Create ``count`` instances at ``rate`` per second, on schedule; returns (start epoch, refused).

        Calls are asynchronous, so a slow answer does not delay the next instance. Instances the engine
        refuses (back-pressure) are counted, not retried: a retry would break the schedule.
        """
        refused = 0
        lock = threading.Lock()
        pending: list[grpc.Future] = []

        def done(future: grpc.Future) -> None:
            nonlocal refused
            if future.exception() is not None:
                with lock:
                    refused += 1

        start_epoch = time.time()
        start = time.monotonic()
        for n in range(count):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            request = pb.CreateProcessInstanceRequest(
                bpmnProcessId=process_id, version=-1, variables=json.dumps({"n": n})
            )
            future = self._stub.CreateProcessInstance.future(request, timeout=10)
            future.add_done_callback(done)
            pending.append(future)
        for future in pending:
            future.exception()
        return start_epoch, refused
