"""The engine's fault injection, as the unit tests rely on it: RPC names checked, injected responses,
delays that clearing cuts short, and seeded fractions that repeat."""

from __future__ import annotations

import threading
import time

import pytest

from tests.unit.engine_jobs import EngineJobs
from zeebe_celery.engine.faults import Faults
from zeebe_celery.errors import GatewayUnavailableError
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.gateway.proto import gateway_pb2 as pb

pytestmark = pytest.mark.usefixtures("clean_env")


def test_faults_refuse_an_unknown_rpc_name(faults: Faults) -> None:
    with pytest.raises(ValueError, match="unknown RPC 'CompleteJobs'"):
        faults.fail("CompleteJobs", "UNAVAILABLE")


def test_faults_serve_an_injected_response_in_place_of_the_engines(
    faults: Faults, jobs: EngineJobs, job_type: str, client: ZeebeClient
) -> None:
    faults.respond("CreateProcessInstance", pb.CreateProcessInstanceResponse(processInstanceKey=11, bpmnProcessId="x"))

    injected = client.create_process_instance(jobs.process_of(job_type))
    real = client.create_process_instance(jobs.process_of(job_type))

    assert (injected.process_instance_key, injected.bpmn_process_id) == (11, "x")
    assert real.bpmn_process_id == jobs.process_of(job_type)
    assert jobs.activatable(job_type) == 1


def test_faults_refuse_a_response_for_a_job_activation(faults: Faults) -> None:
    with pytest.raises(ValueError, match="ActivateJobs streams jobs"):
        faults.respond("ActivateJobs", pb.ActivateJobsResponse())


def test_clearing_faults_cuts_a_delayed_call_short(faults: Faults, client: ZeebeClient) -> None:
    faults.delay("Topology", 30.0)
    caller = threading.Thread(target=lambda: client.topology(retry=False), daemon=True)
    caller.start()
    assert faults.wait_for_calls("Topology") == 1

    started = time.monotonic()
    faults.clear()
    caller.join(timeout=5)

    assert time.monotonic() - started < 2
    assert not caller.is_alive()


def test_a_fraction_of_calls_fails_with_the_same_seed_the_same_way(faults: Faults, client: ZeebeClient) -> None:
    def outcomes() -> list[bool]:
        faults.clear()
        faults.fail("Topology", "UNAVAILABLE", times=None, fraction=0.5, seed=7)
        answered = []
        for _ in range(20):
            try:
                client.topology(retry=False)
                answered.append(True)
            except GatewayUnavailableError:
                answered.append(False)
        return answered

    first = outcomes()

    assert first == outcomes()
    assert 0 < first.count(False) < 20
