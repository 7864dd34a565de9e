"""The engine through gRPC: long polls, argument checks, job hand-out to several pollers and to streams,
scripted faults, and back-pressure, as Zeebe's gateway answers them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import grpc
import pytest

from tests.unit.engine.bpmn_builders import end_event, flows, process, service_task, start_event
from tests.unit.engine.grpc_stub import deployed_stub, eventually
from zeebe_celery.config import ZeebeSettings
from zeebe_celery.engine import ZeebeEngine, server
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub
from zeebe_celery.gateway.retry import RetryPolicy

ONE_TASK = process("one", start_event(), service_task("task", "work"), end_event(), flows("start", "task", "end"))


@pytest.fixture
def engine() -> Iterator[ZeebeEngine]:
    with ZeebeEngine() as running:
        yield running


@pytest.fixture
def stub(engine: ZeebeEngine) -> Iterator[GatewayStub]:
    yield from deployed_stub(engine, ("one.bpmn", ONE_TASK))


def _create(stub: GatewayStub, count: int = 1) -> list[int]:
    request = pb.CreateProcessInstanceRequest(bpmnProcessId="one", version=-1)
    return [stub.CreateProcessInstance(request).processInstanceKey for _ in range(count)]


def _activate(stub: GatewayStub, **fields: object) -> list[pb.ActivatedJob]:
    request = pb.ActivateJobsRequest(
        **{"type": "work", "worker": "w", "timeout": 60_000, "maxJobsToActivate": 10, "requestTimeout": -1, **fields}
    )
    return [job for response in stub.ActivateJobs(request, timeout=30) for job in response.jobs]


def test_a_long_poll_answers_as_soon_as_a_job_arrives(engine: ZeebeEngine, stub: GatewayStub) -> None:
    got: list[pb.ActivatedJob] = []
    poll = threading.Thread(target=lambda: got.extend(_activate(stub, requestTimeout=20_000)))
    started = time.monotonic()
    poll.start()
    engine.faults.wait_for_calls("ActivateJobs")
    _create(stub)
    poll.join(timeout=15)
    assert len(got) == 1
    assert time.monotonic() - started < 10


def test_a_negative_request_timeout_answers_at_once_without_jobs(stub: GatewayStub) -> None:
    started = time.monotonic()
    assert _activate(stub, requestTimeout=-1) == []
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    "fields",
    [{"type": " "}, {"worker": ""}, {"timeout": 0}, {"maxJobsToActivate": 0}],
    ids=["blank-type", "blank-worker", "timeout-under-1", "amount-under-1"],
)
def test_activation_with_a_bad_argument_is_invalid_argument(stub: GatewayStub, fields: dict[str, object]) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        _activate(stub, **fields)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_several_pollers_share_the_jobs_and_none_is_handed_out_twice(stub: GatewayStub) -> None:
    _create(stub, 30)
    seen: list[int] = []
    lock = threading.Lock()

    def poll() -> None:
        while True:
            jobs = _activate(stub, maxJobsToActivate=3)
            if not jobs:
                return
            with lock:
                seen.extend(j.key for j in jobs)

    pollers = [threading.Thread(target=poll) for _ in range(4)]
    for poller in pollers:
        poller.start()
    for poller in pollers:
        poller.join(timeout=20)
    assert len(seen) == 30
    assert len(set(seen)) == 30


def test_a_late_complete_is_not_found_and_completing_a_failed_job_is_a_failed_precondition(stub: GatewayStub) -> None:
    _create(stub, 2)
    first, second = _activate(stub)
    stub.CompleteJob(pb.CompleteJobRequest(jobKey=first.key))
    with pytest.raises(grpc.RpcError) as late:
        stub.CompleteJob(pb.CompleteJobRequest(jobKey=first.key))
    assert late.value.code() is grpc.StatusCode.NOT_FOUND
    stub.FailJob(pb.FailJobRequest(jobKey=second.key, retries=0, errorMessage="no"))
    with pytest.raises(grpc.RpcError) as failed:
        stub.CompleteJob(pb.CompleteJobRequest(jobKey=second.key))
    assert failed.value.code() is grpc.StatusCode.FAILED_PRECONDITION


def test_job_streams_get_jobs_first_and_in_turn(engine: ZeebeEngine, stub: GatewayStub) -> None:
    request = pb.StreamActivatedJobsRequest(type="work", worker="s", timeout=60_000)
    calls = {name: stub.StreamActivatedJobs(request, timeout=30) for name in ("a", "b")}
    received: list[str] = []
    endings: list[grpc.StatusCode] = []

    def read(name: str) -> None:
        try:
            for _ in calls[name]:
                received.append(name)
        except grpc.RpcError as exc:
            endings.append(exc.code())

    readers = [threading.Thread(target=read, args=(name,)) for name in calls]
    for reader in readers:
        reader.start()

    def streams_ready() -> bool:
        with engine.runtime.lock:
            streams = engine.runtime.streams.get("work", [])
            return len(streams) == 2 and all(s.ready for s in streams)

    try:
        for count in range(1, 5):
            eventually(streams_ready)
            _create(stub)
            eventually(lambda n=count: len(received) == n)  # type: ignore[misc]
        assert sorted(received) == ["a", "a", "b", "b"]
        assert received[0] != received[1]
        assert received[2] != received[3]
        assert _activate(stub) == []
    finally:
        for call in calls.values():
            call.cancel()
        for reader in readers:
            reader.join(timeout=5)
    assert endings == [grpc.StatusCode.CANCELLED] * 2


def test_a_job_is_polled_when_no_stream_is_open(engine: ZeebeEngine, stub: GatewayStub) -> None:
    _create(stub)
    assert len(_activate(stub)) == 1


def test_an_injected_unavailable_is_answered_that_many_times_and_the_client_retries_through_it(
    engine: ZeebeEngine, stub: GatewayStub
) -> None:
    _create(stub)
    [job] = _activate(stub)
    engine.faults.fail("CompleteJob", "UNAVAILABLE", times=2)
    with ZeebeClient(
        ZeebeSettings(address=engine.address), retry=RetryPolicy(initial=0.001, maximum=0.01, budget=5)
    ) as client:
        client.complete_job(job.key)
    assert len(engine.faults.calls("CompleteJob")) == 3
    assert engine.records.find("JOB", "COMPLETED")


def test_an_injected_failure_reaches_the_caller_with_its_code(engine: ZeebeEngine, stub: GatewayStub) -> None:
    engine.faults.fail("Topology", "RESOURCE_EXHAUSTED", times=1)
    with pytest.raises(grpc.RpcError) as caught:
        stub.Topology(pb.TopologyRequest())
    assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert stub.Topology(pb.TopologyRequest()).brokers[0].partitions[0].partitionId == 1


def test_an_injected_delay_holds_the_call(engine: ZeebeEngine, stub: GatewayStub) -> None:
    engine.faults.delay("Topology", 0.3)
    started = time.monotonic()
    stub.Topology(pb.TopologyRequest())
    assert time.monotonic() - started >= 0.3


def test_beyond_the_in_flight_limit_only_complete_and_fail_job_are_accepted() -> None:
    with ZeebeEngine(max_in_flight=1) as engine, grpc.insecure_channel(engine.address) as channel:
        stub = GatewayStub(channel)
        stub.DeployResource(pb.DeployResourceRequest(resources=[pb.Resource(name="one.bpmn", content=ONE_TASK)]))
        _create(stub)
        [job] = _activate(stub)
        # A create-with-result waiting for its instance holds the one slot while it waits.
        holder = stub.CreateProcessInstanceWithResult.future(
            pb.CreateProcessInstanceWithResultRequest(
                request=pb.CreateProcessInstanceRequest(bpmnProcessId="one", version=-1), requestTimeout=20_000
            ),
            timeout=30,
        )
        eventually(lambda: engine.back_pressure._in_flight == 1)
        try:
            with pytest.raises(grpc.RpcError) as refused:
                stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(bpmnProcessId="one", version=-1))
            assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key))
            with pytest.raises(grpc.RpcError) as unknown:
                stub.FailJob(pb.FailJobRequest(jobKey=job.key, retries=1))
            assert unknown.value.code() is grpc.StatusCode.NOT_FOUND
        finally:
            holder.cancel()


def test_a_job_for_a_long_poll_its_client_cancelled_goes_to_the_next_poller_at_once(
    engine: ZeebeEngine, stub: GatewayStub
) -> None:
    request = pb.ActivateJobsRequest(
        type="work", worker="gone", timeout=600_000, maxJobsToActivate=1, requestTimeout=20_000
    )
    abandoned = stub.ActivateJobs(request, timeout=30)
    eventually(lambda: len(engine.faults.calls("ActivateJobs")) == 1)
    abandoned.cancel()

    [key] = _create(stub)

    # Whether the cancelled poll saw the job or not, it never keeps it: the next poller gets it long before
    # the job's 600 s timeout.
    [job] = _activate(stub, worker="next", requestTimeout=5_000)
    assert job.processInstanceKey == key
    assert job.worker == "next"
    taken_by_gone = engine.records.find("JOB_BATCH", "ACTIVATED", worker="gone")
    assert not taken_by_gone or engine.records.find("JOB", "YIELDED", processInstanceKey=key)


def test_a_stream_its_client_does_not_read_is_held_back_and_later_jobs_stay_activatable_by_polling(
    engine: ZeebeEngine, stub: GatewayStub
) -> None:
    request = pb.StreamActivatedJobsRequest(type="work", worker="stuck", timeout=600_000)
    unread = stub.StreamActivatedJobs(request, timeout=60)
    eventually(lambda: bool(engine.runtime.streams.get("work")))
    # Jobs of 1 MB each: HTTP/2 flow control holds the stream back after a few, as nobody reads it.
    payload = '{"blob": "%s"}' % ("x" * 1_000_000)
    created = 0
    try:
        for _ in range(40):
            stub.CreateProcessInstance(
                pb.CreateProcessInstanceRequest(bpmnProcessId="one", version=-1, variables=payload)
            )
            created += 1
            if _activate(stub, maxJobsToActivate=1, fetchVariable=["none"]):
                break
        else:
            raise AssertionError("every job went to the stream nobody reads")
        # The stream took the first jobs (it was open and ready), then stopped taking them.
        assert created >= 2
    finally:
        unread.cancel()
    # Once the stream ends it is gone, and what it held but never wrote to the wire went back; what it wrote
    # (and the client dropped) stays activated until its timeout, as with Zeebe.
    eventually(lambda: "work" not in engine.runtime.streams, within=15)
    with engine.runtime.lock:
        states = [job.state.value for job in engine.runtime.jobs.values() if job.type == "work"]
    assert len(states) == created
    assert set(states) <= {"ACTIVATABLE", "ACTIVATED"}


def test_idle_long_polls_hold_no_back_pressure_slot() -> None:
    with ZeebeEngine(max_in_flight=2) as limited, grpc.insecure_channel(limited.address) as channel:
        stub = GatewayStub(channel)
        stub.DeployResource(pb.DeployResourceRequest(resources=[pb.Resource(name="one.bpmn", content=ONE_TASK)]))
        request = pb.ActivateJobsRequest(
            type="nothing", worker="w", timeout=1_000, maxJobsToActivate=1, requestTimeout=3_000
        )
        polls = [threading.Thread(target=lambda: list(stub.ActivateJobs(request, timeout=30))) for _ in range(2)]
        for poll in polls:
            poll.start()
        eventually(lambda: len(limited.faults.calls("ActivateJobs")) == 2)

        # Two idle pollers wait, and a command still gets through the limit of two in flight.
        assert _create(stub)
        for poll in polls:
            poll.join(timeout=10)


def test_past_the_cap_of_waiting_calls_a_poll_answers_at_once_and_a_stream_is_refused(
    engine: ZeebeEngine, stub: GatewayStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "MAX_WAITING_CALLS", 1)
    first = stub.StreamActivatedJobs(pb.StreamActivatedJobsRequest(type="work", worker="a", timeout=60_000))
    eventually(lambda: bool(engine.runtime.streams.get("work")))
    try:
        started = time.monotonic()
        assert _activate(stub, type="other", requestTimeout=5_000) == []
        assert time.monotonic() - started < 2
        second = stub.StreamActivatedJobs(pb.StreamActivatedJobsRequest(type="work", worker="b", timeout=60_000))
        with pytest.raises(grpc.RpcError) as refused:
            next(iter(second))
        assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        first.cancel()


def _with_result(stub: GatewayStub, request_timeout: int) -> pb.CreateProcessInstanceWithResultResponse:
    inner = pb.CreateProcessInstanceRequest(bpmnProcessId="one", version=-1)
    request = pb.CreateProcessInstanceWithResultRequest(request=inner, requestTimeout=request_timeout)
    response: pb.CreateProcessInstanceWithResultResponse = stub.CreateProcessInstanceWithResult(request, timeout=30)
    return response


def test_a_result_not_there_within_the_request_timeout_is_deadline_exceeded_and_no_longer_awaited(
    engine: ZeebeEngine, stub: GatewayStub
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        _with_result(stub, 200)
    assert raised.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert "Request timed out after PT0.2S" in (raised.value.details() or "")
    with engine.runtime.lock:
        assert not any(engine.runtime.result_waiters.values())


def test_an_awaited_instance_that_is_cancelled_answers_aborted(engine: ZeebeEngine, stub: GatewayStub) -> None:
    errors: list[grpc.RpcError] = []

    def await_it() -> None:
        try:
            _with_result(stub, 20_000)
        except grpc.RpcError as error:
            errors.append(error)

    waiting = threading.Thread(target=await_it)
    waiting.start()
    [job] = _activate(stub, requestTimeout=10_000, maxJobsToActivate=1)
    stub.CancelProcessInstance(pb.CancelProcessInstanceRequest(processInstanceKey=job.processInstanceKey))
    waiting.join(timeout=30)
    [error] = errors
    assert error.code() is grpc.StatusCode.ABORTED
    assert f"'{job.processInstanceKey}', but it was terminated" in (error.details() or "")
