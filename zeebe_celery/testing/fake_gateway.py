"""A fault-injecting fake Zeebe gateway: a real gRPC server on 127.0.0.1 whose answers a test scripts.

It is the one place where Zeebe is faked, for tests that need faults a real broker will not produce on
demand::

    from zeebe_celery.testing.fake_gateway import FakeGateway, make_job

    with FakeGateway() as gateway:
        gateway.fail_next("CompleteJob", grpc.StatusCode.RESOURCE_EXHAUSTED, times=2)
        gateway.add_jobs("charge-card", [make_job(1, "charge-card", variables={"amount": 3})])
        with ZeebeClient(ZeebeSettings(address=gateway.address)) as client:
            ...
        assert gateway.calls_to("CompleteJob")[-1].request.jobKey == 1

Unless a call is scripted otherwise it succeeds with the empty response of its RPC (or one set with
``set_response``); Topology reports one broker leading partition 1, healthy. ActivateJobs serves queued
jobs, then a job factory's; with none it long-polls for its ``requestTimeout`` (0 means 10 s, a negative
one answers at once), wakes when jobs are added and ends with no response message. Like the real
gateway it refuses a blank type or worker, a timeout or maxJobsToActivate below 1 (INVALID_ARGUMENT).
StreamActivatedJobs pushes queued jobs until the call ends. Every call is recorded with its request,
metadata and deadline.
"""

from __future__ import annotations

import collections
import enum
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayServicer, add_GatewayServicer_to_server

__all__ = ["RPCS", "FakeGateway", "JobFactory", "RecordedCall", "Responder", "make_job"]

_M = TypeVar("_M", bound=Message)

Responder = Message | Callable[[Any], Message]
"""A fixed response message, or a function from the request to the response."""

JobFactory = Callable[[pb.ActivateJobsRequest], Iterable[pb.ActivatedJob]]
"""Makes the jobs of one ActivateJobs call when none are queued; at most ``maxJobsToActivate`` are sent."""

STREAMING_RPCS = frozenset({"ActivateJobs", "StreamActivatedJobs"})
RPCS = frozenset(
    {
        "BroadcastSignal",
        "CancelProcessInstance",
        "CompleteJob",
        "CreateProcessInstance",
        "CreateProcessInstanceWithResult",
        "DeleteResource",
        "DeployProcess",
        "DeployResource",
        "EvaluateDecision",
        "FailJob",
        "MigrateProcessInstance",
        "ModifyProcessInstance",
        "PublishMessage",
        "ResolveIncident",
        "SetVariables",
        "ThrowError",
        "Topology",
        "UpdateJobRetries",
        "UpdateJobTimeout",
        *STREAMING_RPCS,
    }
)
"""The names of the Gateway service's RPCs, as :meth:`FakeGateway.fail_next` and friends take them."""

# What the real gateway waits for jobs when a request leaves requestTimeout at 0.
DEFAULT_LONG_POLL = 10.0


def make_job(
    key: int,
    job_type: str,
    *,
    variables: Mapping[str, Any] | str | None = None,
    deadline_ms: int | None = None,
    retries: int = 3,
    custom_headers: Mapping[str, Any] | None = None,
    worker: str = "fake-gateway",
    process_instance_key: int = 1,
    bpmn_process_id: str = "process",
    process_definition_key: int = 1,
    process_definition_version: int = 1,
    element_id: str = "task",
    element_instance_key: int = 1,
    tenant_id: str = "<default>",
) -> pb.ActivatedJob:
    """An ActivatedJob as the gateway would send it; ``variables`` may be a dict or encoded JSON.

    ``deadline_ms`` (epoch milliseconds) defaults to five minutes from now.
    """
    if deadline_ms is None:
        deadline_ms = int((time.time() + 300) * 1000)
    return pb.ActivatedJob(
        key=key,
        type=job_type,
        processInstanceKey=process_instance_key,
        bpmnProcessId=bpmn_process_id,
        processDefinitionVersion=process_definition_version,
        processDefinitionKey=process_definition_key,
        elementId=element_id,
        elementInstanceKey=element_instance_key,
        customHeaders=json.dumps(dict(custom_headers or {})),
        worker=worker,
        retries=retries,
        deadline=deadline_ms,
        variables=variables if isinstance(variables, str) else json.dumps(dict(variables or {})),
        tenantId=tenant_id,
    )


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One call the gateway received, recorded as it arrived (before any scripted fault)."""

    rpc: str
    request: Any
    """The request message, e.g. a ``FailJobRequest``."""
    metadata: tuple[tuple[str, str | bytes], ...]
    time_remaining: float | None
    """Seconds left until the call's deadline when it arrived; None for a call without a deadline."""
    at: float
    """``time.monotonic()`` when the call arrived."""

    def header(self, name: str) -> str | bytes | None:
        """The value of invocation metadata ``name`` (lower case, as gRPC sends it), or None."""
        for key, value in self.metadata:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class _Step:
    delay: float = 0.0
    code: grpc.StatusCode | None = None
    details: str = ""


class _State(enum.Enum):
    UNSTARTED = 1
    RUNNING = 2
    STOPPED = 3


def _topology(port: int) -> pb.TopologyResponse:
    partition = pb.Partition(partitionId=1, role=pb.Partition.LEADER, health=pb.Partition.HEALTHY)
    broker = pb.BrokerInfo(nodeId=0, host="127.0.0.1", port=port, partitions=[partition], version="fake")
    return pb.TopologyResponse(
        brokers=[broker], clusterSize=1, partitionsCount=1, replicationFactor=1, gatewayVersion="fake"
    )


def _validate_activation(
    context: grpc.ServicerContext, job_type: str, timeout: int, *, worker: str | None = None, max_jobs: int = 1
) -> None:
    """Refuse a job activation or job stream the way the real gateway does: INVALID_ARGUMENT."""
    problems = []
    if not job_type.strip():
        problems.append("type must not be blank")
    if worker is not None and not worker.strip():
        problems.append("worker must not be blank")
    if timeout < 1:
        problems.append(f"timeout must be greater than zero, but was {timeout}")
    if max_jobs < 1:
        problems.append(f"maxJobsToActivate must be greater than zero, but was {max_jobs}")
    if problems:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "; ".join(problems))


class FakeGateway:
    """A Zeebe gateway on ``127.0.0.1:<free port>`` that fails, stalls and answers as scripted.

    Each RPC has a script of outcomes, consumed one per call in the order they were added
    (:meth:`fail_next`, :meth:`delay_next`); a call with nothing scripted succeeds. Thread-safe: tests
    may script, queue jobs and read calls while clients call from other threads. Use it as a context
    manager, or call :meth:`start` and :meth:`stop`; it cannot be restarted once stopped.
    """

    def __init__(
        self,
        *,
        max_workers: int = 32,
        record_calls: bool = True,
        default_long_poll: float = DEFAULT_LONG_POLL,
    ) -> None:
        self._max_workers = max_workers
        self._record_calls = record_calls
        self._default_long_poll = default_long_poll
        self._lock = threading.Lock()
        # Both conditions share the lock: one wakes long polls when jobs arrive, one wakes wait_for().
        self._jobs_added = threading.Condition(self._lock)
        self._called = threading.Condition(self._lock)
        self._scripts: dict[str, collections.deque[_Step]] = collections.defaultdict(collections.deque)
        self._responses: dict[str, Responder] = {}
        self._batches: dict[str, collections.deque[pb.ActivateJobsResponse]] = collections.defaultdict(
            collections.deque
        )
        self._factories: dict[str, JobFactory] = {}
        self._calls: list[RecordedCall] = []
        self._delays: set[threading.Event] = set()
        # Bumped whenever jobs are queued or a factory is set, so a long poll never sleeps through it.
        self._generation = 0
        self._counts: collections.Counter[str] = collections.Counter()
        self._state = _State.UNSTARTED
        self._server: grpc.Server | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._port = 0
        self._topology = pb.TopologyResponse()

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> FakeGateway:
        """Bind a free loopback port and start serving. Raises RuntimeError when started before."""
        with self._lock:
            if self._state is not _State.UNSTARTED:
                raise RuntimeError(f"this FakeGateway is {self._state.name.lower()}; make a new one")
            self._state = _State.RUNNING
        self._executor = ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="fake-gateway")
        self._server = grpc.server(self._executor)
        add_GatewayServicer_to_server(_Servicer(self), self._server)
        self._port = self._server.add_insecure_port("127.0.0.1:0")
        self._topology = _topology(self._port)
        self._server.start()
        return self

    def stop(self, grace: float = 1.0) -> None:
        """End open calls (after ``grace`` seconds at most) and free the port. Safe to call twice."""
        with self._lock:
            if self._state is _State.STOPPED:
                return
            self._state = _State.STOPPED
            self._jobs_added.notify_all()
            self._called.notify_all()
            for delay in self._delays:
                delay.set()
        if self._server is not None:
            self._server.stop(grace).wait()
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    def __enter__(self) -> FakeGateway:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"FakeGateway(port={self._port}, state={self._state.name})"

    @property
    def address(self) -> str:
        """``"127.0.0.1:PORT"``, for ``ZeebeSettings(address=...)``. Raises RuntimeError before start."""
        if not self._port:
            raise RuntimeError("the FakeGateway has no address until it is started")
        return f"127.0.0.1:{self._port}"

    # -- scripting -----------------------------------------------------------------------------------

    def fail_next(self, rpc: str, code: grpc.StatusCode, details: str = "", *, times: int = 1) -> None:
        """The next ``times`` calls of ``rpc`` (after those already scripted) fail with ``code``."""
        if code is grpc.StatusCode.OK:
            raise ValueError("fail_next needs an error code, not OK")
        self._script(rpc, _Step(code=code, details=details), times)

    def delay_next(self, rpc: str, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` calls of ``rpc`` (after those already scripted) answer ``seconds`` late.

        A call whose client gives up in the meantime (its deadline passes) ends the wait early.
        """
        if seconds < 0:
            raise ValueError("a delay cannot be negative")
        self._script(rpc, _Step(delay=seconds), times)

    def clear_script(self, rpc: str | None = None) -> None:
        """Drop the outcomes scripted for ``rpc`` (for every RPC when None) that no call consumed."""
        if rpc is not None:
            self._check_rpc(rpc)
        with self._lock:
            if rpc is None:
                self._scripts.clear()
            else:
                self._scripts.pop(rpc, None)

    def set_response(self, rpc: str, response: Responder | None) -> None:
        """Answer successful calls of the unary ``rpc`` with ``response`` (None: the default again)."""
        self._check_rpc(rpc)
        if rpc in STREAMING_RPCS:
            raise ValueError(f"{rpc} streams jobs: use add_jobs() or set_job_factory()")
        with self._lock:
            if response is None:
                self._responses.pop(rpc, None)
            else:
                self._responses[rpc] = response

    def add_jobs(self, job_type: str, jobs: Iterable[pb.ActivatedJob]) -> None:
        """Queue ``jobs`` for ActivateJobs and StreamActivatedJobs calls of ``job_type``.

        The jobs are sent as built: ``worker`` and ``deadline`` are not rewritten. A list queued at once
        is sent as one pre-built response when a call asks for at least that many, so serving is cheap.
        """
        batch = pb.ActivateJobsResponse(jobs=jobs)
        if not batch.jobs:
            return
        with self._lock:
            self._batches[job_type].append(batch)
            self._generation += 1
            self._jobs_added.notify_all()

    def set_job_factory(self, job_type: str, factory: JobFactory | None) -> None:
        """Make ActivateJobs calls of ``job_type`` that find no queued job take jobs from ``factory``."""
        with self._lock:
            if factory is None:
                self._factories.pop(job_type, None)
            else:
                self._factories[job_type] = factory
                self._generation += 1
                self._jobs_added.notify_all()

    def pending_jobs(self, job_type: str) -> int:
        """How many queued jobs of ``job_type`` no call has taken yet."""
        with self._lock:
            return sum(len(batch.jobs) for batch in self._batches[job_type])

    # -- inspection ----------------------------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        """Every call received so far, oldest first (a copy); empty when ``record_calls`` is off."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, rpc: str) -> list[RecordedCall]:
        """The recorded calls of ``rpc``, oldest first."""
        self._check_rpc(rpc)
        with self._lock:
            return [call for call in self._calls if call.rpc == rpc]

    def call_count(self, rpc: str) -> int:
        """How many calls of ``rpc`` arrived, counted even when ``record_calls`` is off."""
        self._check_rpc(rpc)
        with self._lock:
            return self._counts[rpc]

    def wait_for(self, rpc: str, count: int = 1, *, timeout: float = 5.0) -> int:
        """Block until ``count`` calls of ``rpc`` have arrived; return the number that did.

        Raises TimeoutError when fewer arrived within ``timeout`` seconds.
        """
        self._check_rpc(rpc)
        with self._lock:
            if not self._called.wait_for(lambda: self._counts[rpc] >= count, timeout):
                raise TimeoutError(f"{self._counts[rpc]} of {count} {rpc} calls arrived within {timeout}s")
            return self._counts[rpc]

    # -- serving (called by the servicer, on the server's threads) -----------------------------------

    def _check_rpc(self, rpc: str) -> None:
        if rpc not in RPCS:
            raise ValueError(f"unknown RPC {rpc!r}; the Gateway service has {', '.join(sorted(RPCS))}")

    def _script(self, rpc: str, step: _Step, times: int) -> None:
        self._check_rpc(rpc)
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._scripts[rpc].extend([step] * times)

    def _begin(self, rpc: str, request: Message, context: grpc.ServicerContext) -> None:
        """Record the call, then play its scripted step: wait, abort, or neither."""
        with self._lock:
            self._counts[rpc] += 1
            if self._record_calls:
                metadata = tuple((key, value) for key, value in context.invocation_metadata())
                self._calls.append(RecordedCall(rpc, request, metadata, context.time_remaining(), time.monotonic()))
            script = self._scripts.get(rpc)
            step = script.popleft() if script else None
            self._called.notify_all()
        if step is None:
            return
        if step.delay:
            ended = threading.Event()
            with self._lock:
                self._delays.add(ended)
                stopping = self._state is not _State.RUNNING
            try:
                if not stopping and context.add_callback(ended.set):
                    ended.wait(step.delay)
            finally:
                with self._lock:
                    self._delays.discard(ended)
        if step.code is not None:
            context.abort(step.code, step.details)

    def _respond(self, rpc: str, request: Message, cls: type[_M], default: _M | None = None) -> _M:
        """The response set for ``rpc``, else ``default``, else an empty ``cls``."""
        with self._lock:
            responder = self._responses.get(rpc)
        if responder is None:
            return default if default is not None else cls()
        response = responder if isinstance(responder, Message) else responder(request)
        if not isinstance(response, cls):
            raise TypeError(f"the response set for {rpc} is a {type(response).__name__}, not {cls.__name__}")
        return response

    def _take(self, job_type: str, limit: int) -> pb.ActivateJobsResponse | None:
        """Up to ``limit`` queued jobs, as one response; the caller holds the lock."""
        batches = self._batches.get(job_type)
        if not batches or limit < 1:
            return None
        first = batches[0]
        if len(first.jobs) > limit:
            taken = pb.ActivateJobsResponse(jobs=first.jobs[:limit])
            del first.jobs[:limit]
            return taken
        batches.popleft()
        if not batches or len(first.jobs) + len(batches[0].jobs) > limit:
            return first
        merged = pb.ActivateJobsResponse(jobs=first.jobs)
        while batches and len(merged.jobs) + len(batches[0].jobs) <= limit:
            merged.jobs.extend(batches.popleft().jobs)
        return merged

    def _wake_on_end(self, context: grpc.ServicerContext) -> bool:
        """Make the end of the call (cancel, deadline) wake the long polls; False if it already ended."""

        def wake() -> None:
            with self._lock:
                self._jobs_added.notify_all()

        return context.add_callback(wake)

    def _activate(
        self, request: pb.ActivateJobsRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.ActivateJobsResponse]:
        self._begin("ActivateJobs", request, context)
        _validate_activation(
            context, request.type, request.timeout, worker=request.worker, max_jobs=request.maxJobsToActivate
        )
        response, seen = self._next_batch(request)
        if response is None and request.requestTimeout >= 0 and self._wake_on_end(context):
            wait = request.requestTimeout / 1000 if request.requestTimeout > 0 else self._default_long_poll
            ends = time.monotonic() + wait
            while response is None:
                # Checked under the lock that stop() and the end-of-call callback take to notify.
                with self._lock:
                    left = ends - time.monotonic()
                    if left <= 0 or self._state is not _State.RUNNING or not context.is_active():
                        break
                    if self._generation == seen:
                        self._jobs_added.wait(left)
                response, seen = self._next_batch(request)
        if response is not None:
            yield response

    def _next_batch(self, request: pb.ActivateJobsRequest) -> tuple[pb.ActivateJobsResponse | None, int]:
        """Queued jobs first, else the factory's (called without the lock held), else None; and the
        generation of jobs and factories that answer saw."""
        with self._lock:
            response = self._take(request.type, request.maxJobsToActivate)
            factory = self._factories.get(request.type)
            seen = self._generation
        if response is None and factory is not None:
            jobs = list(factory(request))[: request.maxJobsToActivate]
            response = pb.ActivateJobsResponse(jobs=jobs) if jobs else None
        return response, seen

    def _stream(
        self, request: pb.StreamActivatedJobsRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.ActivatedJob]:
        self._begin("StreamActivatedJobs", request, context)
        _validate_activation(context, request.type, request.timeout)
        if not self._wake_on_end(context):
            return
        while True:
            with self._lock:
                response = self._take(request.type, 2**31 - 1)
                while response is None and self._state is _State.RUNNING and context.is_active():
                    self._jobs_added.wait()
                    response = self._take(request.type, 2**31 - 1)
            if response is None:
                return
            yield from response.jobs


class _Servicer(GatewayServicer):
    """Hands every RPC to its :class:`FakeGateway`."""

    def __init__(self, gateway: FakeGateway) -> None:
        self._gateway = gateway

    def _unary(self, rpc: str, request: Message, context: grpc.ServicerContext, default: type[_M]) -> _M:
        self._gateway._begin(rpc, request, context)
        return self._gateway._respond(rpc, request, default)

    def ActivateJobs(
        self, request: pb.ActivateJobsRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.ActivateJobsResponse]:
        return self._gateway._activate(request, context)

    def StreamActivatedJobs(
        self, request: pb.StreamActivatedJobsRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.ActivatedJob]:
        return self._gateway._stream(request, context)

    def Topology(self, request: pb.TopologyRequest, context: grpc.ServicerContext) -> pb.TopologyResponse:
        self._gateway._begin("Topology", request, context)
        return self._gateway._respond("Topology", request, pb.TopologyResponse, self._gateway._topology)

    def CancelProcessInstance(
        self, request: pb.CancelProcessInstanceRequest, context: grpc.ServicerContext
    ) -> pb.CancelProcessInstanceResponse:
        return self._unary("CancelProcessInstance", request, context, pb.CancelProcessInstanceResponse)

    def CompleteJob(self, request: pb.CompleteJobRequest, context: grpc.ServicerContext) -> pb.CompleteJobResponse:
        return self._unary("CompleteJob", request, context, pb.CompleteJobResponse)

    def CreateProcessInstance(
        self, request: pb.CreateProcessInstanceRequest, context: grpc.ServicerContext
    ) -> pb.CreateProcessInstanceResponse:
        return self._unary("CreateProcessInstance", request, context, pb.CreateProcessInstanceResponse)

    def CreateProcessInstanceWithResult(
        self, request: pb.CreateProcessInstanceWithResultRequest, context: grpc.ServicerContext
    ) -> pb.CreateProcessInstanceWithResultResponse:
        return self._unary(
            "CreateProcessInstanceWithResult", request, context, pb.CreateProcessInstanceWithResultResponse
        )

    def EvaluateDecision(
        self, request: pb.EvaluateDecisionRequest, context: grpc.ServicerContext
    ) -> pb.EvaluateDecisionResponse:
        return self._unary("EvaluateDecision", request, context, pb.EvaluateDecisionResponse)

    def DeployProcess(
        self, request: pb.DeployProcessRequest, context: grpc.ServicerContext
    ) -> pb.DeployProcessResponse:
        return self._unary("DeployProcess", request, context, pb.DeployProcessResponse)

    def DeployResource(
        self, request: pb.DeployResourceRequest, context: grpc.ServicerContext
    ) -> pb.DeployResourceResponse:
        return self._unary("DeployResource", request, context, pb.DeployResourceResponse)

    def FailJob(self, request: pb.FailJobRequest, context: grpc.ServicerContext) -> pb.FailJobResponse:
        return self._unary("FailJob", request, context, pb.FailJobResponse)

    def ThrowError(self, request: pb.ThrowErrorRequest, context: grpc.ServicerContext) -> pb.ThrowErrorResponse:
        return self._unary("ThrowError", request, context, pb.ThrowErrorResponse)

    def PublishMessage(
        self, request: pb.PublishMessageRequest, context: grpc.ServicerContext
    ) -> pb.PublishMessageResponse:
        return self._unary("PublishMessage", request, context, pb.PublishMessageResponse)

    def ResolveIncident(
        self, request: pb.ResolveIncidentRequest, context: grpc.ServicerContext
    ) -> pb.ResolveIncidentResponse:
        return self._unary("ResolveIncident", request, context, pb.ResolveIncidentResponse)

    def SetVariables(self, request: pb.SetVariablesRequest, context: grpc.ServicerContext) -> pb.SetVariablesResponse:
        return self._unary("SetVariables", request, context, pb.SetVariablesResponse)

    def UpdateJobRetries(
        self, request: pb.UpdateJobRetriesRequest, context: grpc.ServicerContext
    ) -> pb.UpdateJobRetriesResponse:
        return self._unary("UpdateJobRetries", request, context, pb.UpdateJobRetriesResponse)

    def ModifyProcessInstance(
        self, request: pb.ModifyProcessInstanceRequest, context: grpc.ServicerContext
    ) -> pb.ModifyProcessInstanceResponse:
        return self._unary("ModifyProcessInstance", request, context, pb.ModifyProcessInstanceResponse)

    def MigrateProcessInstance(
        self, request: pb.MigrateProcessInstanceRequest, context: grpc.ServicerContext
    ) -> pb.MigrateProcessInstanceResponse:
        return self._unary("MigrateProcessInstance", request, context, pb.MigrateProcessInstanceResponse)

    def UpdateJobTimeout(
        self, request: pb.UpdateJobTimeoutRequest, context: grpc.ServicerContext
    ) -> pb.UpdateJobTimeoutResponse:
        return self._unary("UpdateJobTimeout", request, context, pb.UpdateJobTimeoutResponse)

    def DeleteResource(
        self, request: pb.DeleteResourceRequest, context: grpc.ServicerContext
    ) -> pb.DeleteResourceResponse:
        return self._unary("DeleteResource", request, context, pb.DeleteResourceResponse)

    def BroadcastSignal(
        self, request: pb.BroadcastSignalRequest, context: grpc.ServicerContext
    ) -> pb.BroadcastSignalResponse:
        return self._unary("BroadcastSignal", request, context, pb.BroadcastSignalResponse)
