"""Job hand-out through gRPC: jobs created while a stream is writing reach it, not polling; a stream nobody
reads keeps a bounded buffer and later jobs are yielded back to polling; a command's jobs reach waiting
pollers only once the command is answered."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from tests.unit.engine.bpmn_builders import end_event, flows, process, service_task, start_event
from tests.unit.engine.grpc_stub import deployed_stub, eventually
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.faults import BackPressure, Faults
from zeebe_celery.engine.server import GatewayServicer
from zeebe_celery.engine.streams import STREAM_BUFFER_BYTES
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub

ONE_TASK = process("one", start_event(), service_task("task", "work"), end_event(), flows("start", "task", "end"))
STREAM = pb.StreamActivatedJobsRequest(type="work", worker="streamer", timeout=600_000)


@pytest.fixture
def engine() -> Iterator[ZeebeEngine]:
    with ZeebeEngine() as running:
        yield running


@pytest.fixture
def stub(engine: ZeebeEngine) -> Iterator[GatewayStub]:
    yield from deployed_stub(engine, ("one.bpmn", ONE_TASK))


def _create(stub: GatewayStub, variables: str = "") -> int:
    request = pb.CreateProcessInstanceRequest(bpmnProcessId="one", version=-1, variables=variables)
    return stub.CreateProcessInstance(request).processInstanceKey


def _poll(stub: GatewayStub, *, request_timeout: int = 5_000) -> list[pb.ActivatedJob]:
    request = pb.ActivateJobsRequest(
        type="work", worker="poller", timeout=60_000, maxJobsToActivate=100, requestTimeout=request_timeout
    )
    return [job for response in stub.ActivateJobs(request, timeout=30) for job in response.jobs]


def test_jobs_created_in_a_burst_all_go_over_the_open_stream_and_none_to_polling(
    engine: ZeebeEngine, stub: GatewayStub
) -> None:
    call = stub.StreamActivatedJobs(STREAM, timeout=20)
    eventually(lambda: bool(engine.runtime.streams.get("work")), within=10.0)
    try:
        # Created concurrently, so most arrive while the stream is writing an earlier one.
        with ThreadPoolExecutor(max_workers=8) as pool:
            keys = set(pool.map(lambda _: _create(stub), range(40)))
        streamed = {next(call).processInstanceKey for _ in keys}
        left_to_poll = _poll(stub, request_timeout=-1)
        yielded = engine.records.find("JOB", "YIELDED")
    finally:
        call.cancel()

    assert streamed == keys
    assert left_to_poll == []
    assert yielded == []


def test_a_stream_nobody_reads_buffers_a_bounded_amount_and_later_jobs_are_yielded_to_polling(
    engine: ZeebeEngine, stub: GatewayStub
) -> None:
    unread = stub.StreamActivatedJobs(STREAM, timeout=60)
    eventually(lambda: bool(engine.runtime.streams.get("work")), within=10.0)
    blob = '{"blob": "%s"}' % ("x" * 100_000)
    peak = 0
    created = 0
    try:
        # Until HTTP/2 flow control holds the writes back and the buffer fills: then pushes fail.
        while not engine.records.find("JOB", "YIELDED"):
            assert created < 400, "every job stayed with the stream nobody reads"
            _create(stub, blob)
            created += 1
            with engine.runtime.lock:
                [stream] = engine.runtime.streams["work"]
                peak = max(peak, stream.buffered)
        polled = _poll(stub)
    finally:
        unread.cancel()

    # An empty buffer takes any one job, so the bound is the threshold plus one job.
    assert peak < STREAM_BUFFER_BYTES + len(blob) + 1_000
    # Every job whose push was refused is with the pollers.
    assert polled
    assert {job.key for job in polled} == {r["key"] for r in engine.records.find("JOB", "YIELDED")}
    # Once the stream has ended, what it still held went back to polling as well.
    eventually(lambda: "work" not in engine.runtime.streams, within=10.0)
    with engine.runtime.lock:
        states = [job.state.value for job in engine.runtime.jobs.values()]
    assert len(states) == created
    assert set(states) <= {"ACTIVATED", "ACTIVATABLE"}


def test_a_job_pushed_to_a_stream_whose_call_ends_is_yielded_and_polled_at_once(
    engine: ZeebeEngine, stub: GatewayStub
) -> None:
    ended = threading.Event()
    call = stub.StreamActivatedJobs(STREAM, timeout=60)
    call.add_done_callback(lambda _: ended.set())
    eventually(lambda: bool(engine.runtime.streams.get("work")), within=10.0)
    call.cancel()
    ended.wait(5)

    key = _create(stub)

    [job] = _poll(stub)
    assert job.processInstanceKey == key
    assert job.worker == "poller"


class AnswerContext:
    """The part of a gRPC call's context the servicer uses, keeping the callbacks gRPC runs once it answered."""

    def __init__(self) -> None:
        self.callbacks: list[Callable[[], object]] = []

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return ()

    def time_remaining(self) -> float | None:
        return None

    def is_active(self) -> bool:
        return True

    def add_callback(self, callback: Callable[[], object]) -> bool:
        self.callbacks.append(callback)
        return True

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise AssertionError(f"{code}: {details}")

    def answered(self) -> None:
        for callback in self.callbacks:
            callback()


def _servicer(engine: ZeebeEngine, faults: Faults | None = None) -> GatewayServicer:
    """The engine's servicer, called directly with :class:`AnswerContext`, with ONE_TASK deployed."""
    servicer = GatewayServicer(
        engine.runtime, host="127.0.0.1", port=lambda: 0, faults=faults or Faults(), back_pressure=BackPressure(None)
    )
    deploying = AnswerContext()
    deploy = pb.DeployResourceRequest(resources=[pb.Resource(name="one.bpmn", content=ONE_TASK)])
    servicer.DeployResource(deploy, deploying)  # type: ignore[arg-type]
    deploying.answered()
    return servicer


def test_a_waiting_long_poll_hands_out_a_new_job_only_once_its_command_is_answered(engine: ZeebeEngine) -> None:
    # pyzeebe's own suite cancels the instance it has just created while its worker long-polls for the job.
    # On Zeebe the answer comes first: activation is a later command, answered after it. Handing the job out
    # as soon as the create committed let the worker win that race.
    faults = Faults()
    servicer = _servicer(engine, faults)
    polled: list[pb.ActivateJobsResponse] = []
    poll = pb.ActivateJobsRequest(type="work", worker="w", timeout=60_000, maxJobsToActivate=1, requestTimeout=20_000)
    poller = threading.Thread(target=lambda: polled.extend(servicer.ActivateJobs(poll, AnswerContext())))  # type: ignore[arg-type]
    poller.start()
    faults.wait_for_calls("ActivateJobs")
    creating = AnswerContext()

    create = pb.CreateProcessInstanceRequest(bpmnProcessId="one", version=-1)
    key = servicer.CreateProcessInstance(create, creating).processInstanceKey  # type: ignore[arg-type]

    poller.join(timeout=0.3)
    assert polled == []
    creating.answered()
    poller.join(timeout=5)
    [answer] = polled
    assert [job.processInstanceKey for job in answer.jobs] == [key]


def test_a_poll_that_finds_a_job_of_a_command_not_yet_answered_answers_after_it(engine: ZeebeEngine) -> None:
    servicer = _servicer(engine)
    creating = AnswerContext()
    create = pb.CreateProcessInstanceRequest(bpmnProcessId="one", version=-1)
    key = servicer.CreateProcessInstance(create, creating).processInstanceKey  # type: ignore[arg-type]
    polled: list[pb.ActivateJobsResponse] = []
    poll = pb.ActivateJobsRequest(type="work", worker="w", timeout=60_000, maxJobsToActivate=1, requestTimeout=-1)

    # The poll comes in after the command was processed but before its answer went out.
    poller = threading.Thread(target=lambda: polled.extend(servicer.ActivateJobs(poll, AnswerContext())))  # type: ignore[arg-type]
    poller.start()
    poller.join(timeout=0.3)
    assert polled == []
    creating.answered()
    poller.join(timeout=5)

    [answer] = polled
    assert [job.processInstanceKey for job in answer.jobs] == [key]
