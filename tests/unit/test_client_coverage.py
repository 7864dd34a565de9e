"""ZeebeClient covers the whole 8.9 Gateway service: a method for every RPC, and a way to set every field of
every request message, nested ones included.

Each RPC's calls below set every option their method has; the engine records the requests (answering
with an empty response of the RPC's type where the engine itself would refuse the made-up keys). A field of
the proto that none of the calls set fails the test, so a new proto field fails here until the client
sends it. An 8.9 gateway is played by the engine answering Topology with that version.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from tests.unit.engine_jobs import EngineJobs
from zeebe_celery.engine.faults import RPCS, Faults
from zeebe_celery.gateway import ActivateInstruction, MoveInstruction
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.results import ActivateElement, AdHocResult, Corrections, Deny

pytestmark = pytest.mark.usefixtures("clean_env")

SERVICE = pb.DESCRIPTOR.services_by_name["Gateway"]
BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="cover-deploy" isExecutable="true"><bpmn:startEvent id="s" /></bpmn:process>
</bpmn:definitions>"""


def method_name(rpc: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", rpc).lower()


def test_every_rpc_of_the_gateway_service_has_a_client_method() -> None:
    missing = sorted(rpc for rpc in RPCS if not callable(getattr(ZeebeClient, method_name(rpc), None)))

    assert missing == []
    assert "EvaluateConditional" in RPCS


def fields_set(message: Message, found: set[tuple[str, str]]) -> None:
    """Add (message type, field) for every field ``message`` sets, recursing into nested messages."""
    for field, value in message.ListFields():
        found.add((message.DESCRIPTOR.full_name, field.name))
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        for item in value if field.is_repeated else (value,):
            fields_set(item, found)


def fields_of(descriptor: Descriptor, found: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Every (message type, field) reachable from ``descriptor``."""
    for field in descriptor.fields:
        key = (descriptor.full_name, field.name)
        if key in found:
            continue
        found.add(key)
        if field.message_type is not None:
            fields_of(field.message_type, found)
    return found


Calls = Callable[[ZeebeClient, EngineJobs, str], object]


def _activate(client: ZeebeClient, jobs: EngineJobs, job_type: str) -> None:
    for tenants, tenant_filter in ((["<default>"], "provided"), ((), "assigned")):
        client.activate_jobs(
            job_type,
            worker="w",
            timeout=60,
            max_jobs=1,
            fetch_variables=["a"],
            request_timeout=-1,
            tenant_ids=tenants,
            tenant_filter=tenant_filter,
        )


def _stream(client: ZeebeClient, jobs: EngineJobs, job_type: str) -> None:
    for tenants, tenant_filter in ((["<default>"], "provided"), ((), "assigned")):
        call = client.stream_activated_jobs(
            job_type, worker="w", timeout=60, fetch_variables=["a"], tenant_ids=tenants, tenant_filter=tenant_filter
        )
        jobs.wait_for_stream(job_type)
        call.cancel()
        list(call)


def _complete(client: ZeebeClient, jobs: EngineJobs, job_type: str) -> None:
    corrections = Corrections(
        assignee="a",
        due_date="2027-01-01",
        follow_up_date="2026-12-01",
        candidate_users=["u"],
        candidate_groups=["g"],
        priority=1,
    )
    client.complete_job(1, {"a": 1}, result=Deny(reason="r"))
    client.complete_job(1, result=corrections)
    client.complete_job(
        1,
        result=AdHocResult(
            activate=[ActivateElement(element_id="e", variables={"v": 1})],
            completion_condition_fulfilled=True,
            cancel_remaining_instances=True,
        ),
    )


def _create(client: ZeebeClient, jobs: EngineJobs, job_type: str) -> None:
    options: dict[str, Any] = {
        "version": 2,
        "variables": {"a": 1},
        "start_at": ["s"],
        "tenant_id": "t",
        "tags": ["x"],
        "business_id": "b",
        "terminate_after": ["e"],
        "operation_reference": 1,
    }
    client.create_process_instance("p", **options)
    client.create_process_instance(process_definition_key=5, **options)


def _create_with_result(client: ZeebeClient, jobs: EngineJobs, job_type: str) -> None:
    client.create_process_instance_with_result(
        "p",
        process_definition_key=None,
        version=2,
        variables={"a": 1},
        start_at=["s"],
        tenant_id="t",
        tags=["x"],
        business_id="b",
        terminate_after=["e"],
        operation_reference=1,
        request_timeout=5,
        fetch_variables=["a"],
    )
    client.create_process_instance_with_result(process_definition_key=5)


def _modify(client: ZeebeClient, jobs: EngineJobs, job_type: str) -> None:
    client.modify_process_instance(
        1,
        activate=[ActivateInstruction("e", ancestor_element_instance_key=2, variables={"s": {"a": 1}})],
        terminate=[3],
        terminate_elements=["e"],
        move=[
            MoveInstruction(
                target_element_id="t",
                source_element_id="s",
                ancestor_element_instance_key=4,
                infer_ancestor_scope=True,
                use_source_parent_as_ancestor=True,
                variables={"s": {"a": 1}},
            ),
            MoveInstruction(target_element_id="t", source_element_instance_key=5),
        ],
        operation_reference=1,
    )


def _evaluate_decision(client: ZeebeClient, jobs: EngineJobs, job_type: str) -> None:
    client.evaluate_decision("d", variables={"a": 1}, tenant_id="t")
    client.evaluate_decision(decision_key=1)


def _deploy_process(client: ZeebeClient, jobs: EngineJobs, job_type: str) -> None:
    with pytest.warns(DeprecationWarning, match="deploy_resource"):
        deployment = client.deploy_process(("cover.bpmn", BPMN))
    assert [p.bpmn_process_id for p in deployment.processes] == ["cover-deploy"]


CALLS: dict[str, Calls] = {
    "ActivateJobs": _activate,
    "StreamActivatedJobs": _stream,
    "CompleteJob": _complete,
    "CreateProcessInstance": _create,
    "CreateProcessInstanceWithResult": _create_with_result,
    "ModifyProcessInstance": _modify,
    "EvaluateDecision": _evaluate_decision,
    "DeployProcess": _deploy_process,
    "CancelProcessInstance": lambda c, j, t: c.cancel_process_instance(1, operation_reference=1),
    "DeployResource": lambda c, j, t: c.deploy_resource(("cover.bpmn", BPMN), tenant_id="t"),
    "FailJob": lambda c, j, t: c.fail_job(1, retries=1, error_message="m", retry_backoff=1, variables={"a": 1}),
    "ThrowError": lambda c, j, t: c.throw_error(1, "E", error_message="m", variables={"a": 1}),
    "PublishMessage": lambda c, j, t: c.publish_message(
        "m", correlation_key="k", variables={"a": 1}, time_to_live=1, message_id="i", tenant_id="t"
    ),
    "ResolveIncident": lambda c, j, t: c.resolve_incident(1, operation_reference=1),
    "SetVariables": lambda c, j, t: c.set_variables(1, {"a": 1}, local=True, operation_reference=1),
    "Topology": lambda c, j, t: c.topology(),
    "UpdateJobRetries": lambda c, j, t: c.update_job_retries(1, 2, operation_reference=1),
    "MigrateProcessInstance": lambda c, j, t: c.migrate_process_instance(
        1, target_process_definition_key=2, mappings={"a": "b"}, operation_reference=1
    ),
    "UpdateJobTimeout": lambda c, j, t: c.update_job_timeout(1, 5, operation_reference=1),
    "DeleteResource": lambda c, j, t: c.delete_resource(1, delete_history=True, operation_reference=1),
    "BroadcastSignal": lambda c, j, t: c.broadcast_signal("s", variables={"a": 1}, tenant_id="t"),
    "EvaluateConditional": lambda c, j, t: c.evaluate_conditional({"a": 1}, process_definition_key=1, tenant_id="t"),
}
# Answered by the engine itself; every other RPC gets an empty answer of its type in place of the engine's.
ENGINE_ANSWERS = {"ActivateJobs", "StreamActivatedJobs", "DeployProcess", "DeployResource", "Topology"}


def test_the_calls_cover_every_rpc() -> None:
    assert set(CALLS) == set(RPCS)


@pytest.mark.parametrize("rpc", sorted(CALLS))
def test_every_field_of_the_request_can_be_set(
    faults: Faults, jobs: EngineJobs, job_type: str, client: ZeebeClient, rpc: str
) -> None:
    method = SERVICE.methods_by_name[rpc]
    faults.respond("Topology", pb.TopologyResponse(gatewayVersion="8.9.0"), times=None)
    if rpc not in ENGINE_ANSWERS:
        faults.respond(rpc, getattr(pb, method.output_type.name)(), times=None)

    CALLS[rpc](client, jobs, job_type)

    sent: set[tuple[str, str]] = set()
    for call in faults.calls(rpc):
        fields_set(call.request, sent)
    assert faults.calls(rpc)
    assert fields_of(method.input_type, set()) - sent == set()
