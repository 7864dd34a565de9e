"""Malformed requests get INVALID_ARGUMENT, as Zeebe's gateway answers them, never UNKNOWN: deep or
non-finite JSON, durations no deadline can carry, timer values too long to schedule."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import pytest

from tests.unit.engine.bpmn_builders import end_event, flows, process, service_task, start_event
from tests.unit.engine.grpc_stub import deployed_stub
from zeebe_celery.engine import ZeebeEngine, decode, timers
from zeebe_celery.engine.errors import InvalidArgument
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub

ONE_TASK = process("one", start_event(), service_task("task", "work"), end_event(), flows("start", "task", "end"))
INT64_MAX = 2**63 - 1


def timer_process(duration: str) -> bytes:
    return f"""<?xml version="1.0"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">
  <process id="t" isExecutable="true">
    <startEvent id="s"/><sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
    <intermediateCatchEvent id="wait"><timerEventDefinition><timeDuration>{duration}</timeDuration>
    </timerEventDefinition></intermediateCatchEvent>
    <sequenceFlow id="f2" sourceRef="wait" targetRef="e"/><endEvent id="e"/>
  </process>
</definitions>""".encode()


@pytest.fixture(scope="module")
def engine() -> Iterator[ZeebeEngine]:
    with ZeebeEngine() as running:
        yield running


@pytest.fixture(scope="module")
def stub(engine: ZeebeEngine) -> Iterator[GatewayStub]:
    yield from deployed_stub(engine, ("one.bpmn", ONE_TASK))


def _job_key(stub: GatewayStub) -> int:
    stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(bpmnProcessId="one", version=-1))
    request = pb.ActivateJobsRequest(type="work", worker="w", timeout=60_000, maxJobsToActivate=1, requestTimeout=5000)
    return next(job.key for response in stub.ActivateJobs(request, timeout=10) for job in response.jobs)


def _drain(call: Callable[[], object]) -> None:
    result = call()
    if isinstance(result, Iterator):
        list(result)


def _status(call: Callable[[], object]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as caught:
        _drain(call)
    error = caught.value
    assert isinstance(error, grpc.Call)
    return error.code(), error.details() or ""


DEEP = '{"a":' + "[" * 100_000 + "]" * 100_000 + "}"


@pytest.mark.parametrize(
    ("variables", "reason"),
    [
        (DEEP, "nests deeper than 1000 levels"),
        ('{"a":' + "[" * 1001 + "]" * 1001 + "}", "nests deeper than 1000 levels"),
        ('{"a":1e999}', "a number is out of range"),
        ('{"a":-1e999}', "out of range"),
        ('{"a":NaN}', "NaN is not a JSON value"),
        ('{"a":Infinity}', "Infinity is not a JSON value"),
        ('{"a":1' + "0" * 5000 + "}", "longer than 1000 digits"),
        ('{"a":[-1' + "0" * 1000 + "]}", "longer than 1000 digits"),
        ('{"a":', "Expected document to be a root level object"),
        ("[1]", "root level object"),
    ],
    ids=[
        "100k-deep",
        "1001-deep",
        "1e999",
        "-1e999",
        "NaN",
        "Infinity",
        "5000-digit",
        "1001-digit",
        "truncated",
        "array",
    ],
)
def test_malformed_variables_are_invalid_argument_on_every_rpc_that_takes_them(
    stub: GatewayStub, variables: str, reason: str
) -> None:
    calls: list[Callable[[], object]] = [
        lambda: stub.CreateProcessInstance(
            pb.CreateProcessInstanceRequest(bpmnProcessId="one", version=-1, variables=variables)
        ),
        lambda: stub.PublishMessage(pb.PublishMessageRequest(name="m", correlationKey="k", variables=variables)),
        lambda: stub.BroadcastSignal(pb.BroadcastSignalRequest(signalName="s", variables=variables)),
        lambda: stub.CompleteJob(pb.CompleteJobRequest(jobKey=1, variables=variables)),
        lambda: stub.SetVariables(pb.SetVariablesRequest(elementInstanceKey=1, variables=variables)),
    ]
    for call in calls:
        code, details = _status(call)
        assert code is grpc.StatusCode.INVALID_ARGUMENT
        assert reason in details


def test_variables_nested_as_deep_as_zeebe_allows_are_accepted_and_handed_out(stub: GatewayStub) -> None:
    depth = 900
    variables = '{"a":' + "[" * depth + "]" * depth + "}"
    stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(bpmnProcessId="one", version=-1, variables=variables))
    request = pb.ActivateJobsRequest(type="work", worker="w", timeout=60_000, maxJobsToActivate=1, requestTimeout=5000)
    job = next(job for response in stub.ActivateJobs(request, timeout=10) for job in response.jobs)
    assert job.variables == '{"a": ' + "[" * depth + "]" * depth + "}"
    stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key, variables=variables))


@pytest.mark.parametrize(
    ("call", "what"),
    [
        (
            lambda stub: stub.ActivateJobs(
                pb.ActivateJobsRequest(type="work", worker="w", timeout=INT64_MAX, maxJobsToActivate=1)
            ),
            "the job timeout",
        ),
        (
            lambda stub: stub.StreamActivatedJobs(
                pb.StreamActivatedJobsRequest(type="work", worker="w", timeout=INT64_MAX)
            ),
            "timeout between 1 and",
        ),
        (
            lambda stub: stub.UpdateJobTimeout(pb.UpdateJobTimeoutRequest(jobKey=_job_key(stub), timeout=INT64_MAX)),
            "the job timeout",
        ),
        (
            lambda stub: stub.FailJob(pb.FailJobRequest(jobKey=_job_key(stub), retries=1, retryBackOff=INT64_MAX)),
            "the retry back-off",
        ),
        (
            lambda stub: stub.PublishMessage(
                pb.PublishMessageRequest(name="m", correlationKey="k", timeToLive=INT64_MAX)
            ),
            "the time to live",
        ),
    ],
    ids=["activate-timeout", "stream-timeout", "update-timeout", "fail-backoff", "message-ttl"],
)
def test_a_duration_of_int64_max_is_invalid_argument(
    stub: GatewayStub, call: Callable[[GatewayStub], object], what: str
) -> None:
    code, details = _status(lambda: call(stub))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert what in details


@pytest.mark.parametrize("duration", ["PT" + "9" * 400 + "S", "P" + "9" * 400 + "D", "PT4611686018427389S"])
def test_a_timer_too_long_to_schedule_is_refused_at_deploy_naming_the_element(stub: GatewayStub, duration: str) -> None:
    body = timer_process(duration)
    code, details = _status(
        lambda: stub.DeployResource(pb.DeployResourceRequest(resources=[pb.Resource(name="t.bpmn", content=body)]))
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert "Element: wait" in details
    assert "longer than" in details


def test_a_cycle_with_more_repetitions_than_an_int64_is_a_timer_syntax_error() -> None:
    with pytest.raises(timers.TimerSyntaxError, match="too many repetitions"):
        timers.parse_cycle("R" + "9" * 5000 + "/PT1S")
    cycle = timers.parse_cycle("R3/PT1S")
    assert (cycle.repetitions, cycle.interval_ms) == (3, 1000)


def test_the_decoder_refuses_non_finite_numbers_wherever_they_nest() -> None:
    with pytest.raises(InvalidArgument, match="out of range"):
        decode.variables('{"a": {"b": [1, 2.5, 1e400]}}', what="variables")
    assert decode.variables('{"a": {"b": [1, 2.5, 1e300]}}') == {"a": {"b": [1, 2.5, 1e300]}}
