"""``zeebe-celery create-instance`` with the 8.8 and 8.9 options: tags, a business id and the tenant reach
CreateProcessInstance, and a gateway too old for them is told apart from a failure (nothing is sent).

The engine reports gateway 8.9.0; an older gateway is played by its fault injection answering Topology.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.engine_jobs import EngineJobs
from zeebe_celery.cli import ExitCode, main
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.gateway.proto import gateway_pb2 as pb


@pytest.fixture(autouse=True)
def isolated(clean_env: Path) -> Path:
    return clean_env


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("with_result", [False, True], ids=["create", "with-result"])
def test_create_instance_sends_tags_and_a_business_id(
    capsys: pytest.CaptureFixture[str], engine: ZeebeEngine, with_result: bool
) -> None:
    engine.faults.respond("Topology", pb.TopologyResponse(gatewayVersion="8.9.0"), times=None)
    process = EngineJobs(engine).deploy_straight_through()
    extra = ["--with-result", "--request-timeout", "5s"] if with_result else []

    code, out, err = run(
        capsys,
        "-o",
        "json",
        "--address",
        engine.address,
        "create-instance",
        process,
        "--tag",
        "vip",
        "--tag",
        "region:eu",
        "--business-id",
        "order-42",
        *extra,
    )

    assert code == ExitCode.OK, err
    rpc = "CreateProcessInstanceWithResult" if with_result else "CreateProcessInstance"
    request = engine.faults.calls(rpc)[0].request
    sent = request.request if with_result else request
    assert (list(sent.tags), sent.businessId, sent.tenantId) == (["vip", "region:eu"], "order-42", "")
    assert json.loads(out)["bpmn_process_id"] == process


def test_create_instance_passes_the_tenant(capsys: pytest.CaptureFixture[str], engine: ZeebeEngine) -> None:
    engine.faults.respond("CreateProcessInstance", pb.CreateProcessInstanceResponse(tenantId="t-1"))

    code, _, err = run(capsys, "--address", engine.address, "create-instance", "p", "--tenant-id", "t-1")

    assert code == ExitCode.OK, err
    assert engine.faults.calls("CreateProcessInstance")[0].request.tenantId == "t-1"


def test_a_business_id_on_an_older_gateway_exits_usage_naming_the_version_and_sends_nothing(
    capsys: pytest.CaptureFixture[str], engine: ZeebeEngine
) -> None:
    engine.faults.respond("Topology", pb.TopologyResponse(gatewayVersion="8.8.3"), times=None)
    code, out, err = run(capsys, "--address", engine.address, "create-instance", "p", "--business-id", "b")

    assert code == ExitCode.USAGE
    assert out == ""
    assert err.startswith("zeebe-celery create-instance: not sent: a process instance businessId needs a Camunda 8.9")
    assert "8.8.3" in err
    assert err.count("\n") == 1
    assert engine.faults.calls("CreateProcessInstance") == []


def test_the_engine_as_an_8_9_gateway_takes_a_business_id_and_refuses_a_second_active_one(
    capsys: pytest.CaptureFixture[str], engine: ZeebeEngine
) -> None:
    process = EngineJobs(engine).deploy("held")
    args = ("-o", "json", "--address", engine.address, "create-instance", process, "--business-id", "order-1")

    code, out, err = run(capsys, *args)
    assert code == ExitCode.OK, err
    key = json.loads(out)["process_instance_key"]
    assert engine.runtime.instances[key].business_id == "order-1"

    code, out, err = run(capsys, *args)
    assert code != ExitCode.OK
    assert "business id 'order-1'" in err
