"""What the REST API answers to requests that are malformed, unsupported or rejected: the API's status and
its problem document (``application/problem+json``: type, title, status, detail, instance), each case sent
as plain HTTP. And authentication, which matches the gRPC port's: none, or the bearer token."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from camunda_orchestration_sdk import CamundaClient

from tests.integration.conftest import BPMN_DIR, UniqueNames
from tests.integration.rest.conftest import sdk_configuration
from zeebe_celery.engine import ZeebeEngine

pytestmark = pytest.mark.integration


@pytest.fixture
def http(zeebe_rest_address: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=zeebe_rest_address, timeout=30) as client:
        yield client


def problem(response: httpx.Response, status: int, title: str) -> dict[str, Any]:
    """The response's problem document, checked to be one with ``status`` and ``title``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    document: dict[str, Any] = response.json()
    assert document["type"] == "about:blank"
    assert (document["status"], document["title"]) == (status, title)
    assert document["instance"] == response.request.url.path
    assert document["detail"]
    return document


def test_unknown_endpoint_and_method(http: httpx.Client) -> None:
    problem(http.get("/no-such-thing"), 404, "Not Found")
    problem(http.delete("/topology"), 405, "Method Not Allowed")


def test_malformed_bodies(http: httpx.Client) -> None:
    problem(
        http.post("/process-instances", content=b"{not json", headers={"Content-Type": "application/json"}),
        400,
        "Bad Request",
    )
    problem(http.post("/process-instances", json=[1, 2]), 400, "Bad Request")
    problem(http.post("/messages/publication"), 400, "Bad Request")
    # Held to what the gRPC gateway accepts: no NaN, no nesting past 1,000 levels, no duration past 2^62 ms.
    nan = b'{"name": "m", "variables": {"x": NaN}}'
    problem(
        http.post("/messages/publication", content=nan, headers={"Content-Type": "application/json"}),
        400,
        "Bad Request",
    )
    deep = b'{"name": "m", "variables": ' + b"[" * 1100 + b"]" * 1100 + b"}"
    problem(
        http.post("/messages/publication", content=deep, headers={"Content-Type": "application/json"}),
        400,
        "Bad Request",
    )
    problem(http.post("/messages/publication", json={"name": "m", "timeToLive": 2**63}), 400, "INVALID_ARGUMENT")
    problem(
        http.post("/signals/broadcast", content=b"signalName=x", headers={"Content-Type": "text/plain"}),
        415,
        "Unsupported Media Type",
    )


def test_invalid_arguments(http: httpx.Client) -> None:
    detail = problem(http.post("/process-instances", json={"variables": {}}), 400, "INVALID_ARGUMENT")["detail"]
    assert "processDefinitionKey or a processDefinitionId" in detail
    both = {"processDefinitionId": "a", "processDefinitionKey": "1"}
    problem(http.post("/process-instances", json=both), 400, "INVALID_ARGUMENT")
    detail = problem(http.post("/messages/publication", json={"correlationKey": "k"}), 400, "INVALID_ARGUMENT")
    assert detail["detail"] == "No name provided."
    wrong = {"name": "m", "timeToLive": "soon"}
    assert (
        "must be an integer"
        in problem(http.post("/messages/publication", json=wrong), 400, "INVALID_ARGUMENT")["detail"]
    )
    problem(http.get("/process-instances/not-a-key"), 400, "INVALID_ARGUMENT")
    problem(
        http.post("/jobs/activation", json={"type": "t", "timeout": 0, "maxJobsToActivate": 1}), 400, "INVALID_ARGUMENT"
    )
    problem(http.patch("/jobs/1", json={"changeset": {}}), 400, "INVALID_ARGUMENT")
    problem(http.post("/jobs/1/completion", json={"result": {"type": "guess"}}), 400, "INVALID_ARGUMENT")
    corrections = {"result": {"type": "userTask", "corrections": {"name": "x"}}}
    problem(http.post("/jobs/1/completion", json=corrections), 400, "INVALID_ARGUMENT")
    detail = problem(http.patch("/user-tasks/1", json={"changeset": {"assignee": "x"}}), 400, "INVALID_ARGUMENT")
    assert "assign" in detail["detail"]
    problem(http.post("/user-tasks/1/assignment", json={}), 400, "INVALID_ARGUMENT")
    for changeset in (
        {"dueDate": "tomorrow"},
        {"followUpDate": "2026-12-24T10:00"},
        {"priority": 101},
        {"priority": "high"},
        {"candidateGroups": "reviewers"},
        {"name": "x"},
    ):
        problem(http.patch("/user-tasks/1", json={"changeset": changeset}), 400, "INVALID_ARGUMENT")
    wrong = {"result": {"type": "userTask", "corrections": {"priority": -1}}}
    problem(http.post("/jobs/1/completion", json=wrong), 400, "INVALID_ARGUMENT")
    # Well-formed, it reaches the runtime, which has no such task.
    good = {"dueDate": "2026-12-24T10:00:00Z", "priority": 100, "candidateGroups": ["reviewers"]}
    problem(http.patch("/user-tasks/1", json={"changeset": good}), 404, "NOT_FOUND")


def test_unsupported_values_are_refused_not_ignored(http: httpx.Client, unique: UniqueNames) -> None:
    http.post("/deployments", files={"resources": unique.resource("one_task.bpmn", "one-task")})
    instructions = [{"type": "MOVE_SOMEWHERE", "afterElementId": "work"}]
    request = {"processDefinitionId": unique("one-task"), "runtimeInstructions": instructions}
    assert "MOVE_SOMEWHERE" in problem(http.post("/process-instances", json=request), 400, "INVALID_ARGUMENT")["detail"]
    tags = {"processDefinitionId": unique("one-task"), "tags": ["not a tag!"]}
    problem(http.post("/process-instances", json=tags), 400, "INVALID_ARGUMENT")
    problem(http.post("/process-instances/search", json={"filter": {"tags": "rush"}}), 400, "INVALID_ARGUMENT")


def test_unsupported_search_requests(http: httpx.Client) -> None:
    detail = problem(
        http.post("/process-instances/search", json={"filter": {"batchOperationId": "b"}}), 400, "INVALID_ARGUMENT"
    )["detail"]
    assert "batchOperationId" in detail
    problem(http.post("/process-instances/search", json={"filter": {"$or": []}}), 400, "INVALID_ARGUMENT")
    problem(http.post("/incidents/search", json={"filter": {"incidentKey": {"$like": "1*"}}}), 400, "INVALID_ARGUMENT")
    problem(http.post("/variables/search", json={"sort": [{"field": "value2"}]}), 400, "INVALID_ARGUMENT")
    problem(http.post("/variables/search", json={"sort": [{"field": "name", "order": "UP"}]}), 400, "INVALID_ARGUMENT")
    problem(http.post("/user-tasks/search", json={"page": {"limit": 0}}), 400, "INVALID_ARGUMENT")
    problem(http.post("/user-tasks/search", json={"page": {"after": "bm9wZQ=="}}), 400, "INVALID_ARGUMENT")
    problem(
        http.post("/process-instances/search", json={"filter": {"startDate": {"$gt": "yesterday"}}}),
        400,
        "INVALID_ARGUMENT",
    )


def test_rejected_commands(http: httpx.Client, unique: UniqueNames) -> None:
    missing = "2251799813999999"
    problem(http.post("/process-instances", json={"processDefinitionId": unique("none")}), 404, "NOT_FOUND")
    problem(http.get(f"/process-instances/{missing}"), 404, "NOT_FOUND")
    problem(http.post(f"/process-instances/{missing}/cancellation"), 404, "NOT_FOUND")
    problem(http.post(f"/jobs/{missing}/completion", json={}), 404, "NOT_FOUND")
    problem(http.post(f"/jobs/{missing}/failure", json={}), 404, "NOT_FOUND")
    problem(http.post(f"/jobs/{missing}/error", json={"errorCode": "E"}), 404, "NOT_FOUND")
    problem(http.post(f"/incidents/{missing}/resolution"), 404, "NOT_FOUND")
    problem(http.get(f"/incidents/{missing}"), 404, "NOT_FOUND")
    problem(http.get(f"/user-tasks/{missing}"), 404, "NOT_FOUND")
    problem(http.post(f"/user-tasks/{missing}/completion", json={}), 404, "NOT_FOUND")
    problem(http.post(f"/user-tasks/{missing}/assignment", json={"assignee": "a"}), 404, "NOT_FOUND")
    problem(http.delete(f"/user-tasks/{missing}/assignee"), 404, "NOT_FOUND")
    problem(http.patch(f"/user-tasks/{missing}", json={"changeset": {"priority": 1}}), 404, "NOT_FOUND")
    # Zeebe rejects an unknown decision as an invalid argument (the gRPC conformance suite checks it), and the
    # REST gateway answers a rejection with its type's status.
    unknown = {"decisionDefinitionId": unique("d")}
    problem(http.post("/decision-definitions/evaluation", json=unknown), 400, "INVALID_ARGUMENT")
    problem(
        http.post("/messages/correlation", json={"name": unique("nobody-waits"), "correlationKey": "k"}),
        404,
        "NOT_FOUND",
    )


def test_deployments(http: httpx.Client, unique: UniqueNames) -> None:
    problem(http.post("/deployments", json={"resources": []}), 415, "Unsupported Media Type")
    problem(http.post("/deployments", files={"tenantId": (None, b"<default>")}), 400, "INVALID_ARGUMENT")
    bad = (BPMN_DIR / "invalid_no_task_definition.bpmn").read_bytes()
    detail = problem(http.post("/deployments", files={"resources": ("bad.bpmn", bad)}), 400, "INVALID_ARGUMENT")
    assert "bad.bpmn" in detail["detail"] or "task" in detail["detail"]


def test_awaiting_a_result_past_its_timeout(http: httpx.Client, unique: UniqueNames) -> None:
    http.post("/deployments", files={"resources": unique.resource("one_task.bpmn", "one-task")})
    request = {"processDefinitionId": unique("one-task"), "awaitCompletion": True, "requestTimeout": 200}
    problem(http.post("/process-instances", json=request), 504, "DEADLINE_EXCEEDED")
    # The instance was created all the same, and goes on.
    found = http.post("/process-instances/search", json={"filter": {"processDefinitionId": unique("one-task")}})
    assert [i["state"] for i in found.json()["items"]] == ["ACTIVE"]


def test_a_job_already_completed_is_not_found(http: httpx.Client, unique: UniqueNames) -> None:
    http.post("/deployments", files={"resources": unique.resource("one_task.bpmn", "one-task", "test-work")})
    http.post("/process-instances", json={"processDefinitionId": unique("one-task")})
    activation = {"type": unique("test-work"), "timeout": 30_000, "maxJobsToActivate": 1, "worker": "w"}
    job = http.post("/jobs/activation", json=activation).json()["jobs"][0]
    assert http.post(f"/jobs/{job['jobKey']}/completion").status_code == 204
    problem(http.post(f"/jobs/{job['jobKey']}/completion"), 404, "NOT_FOUND")


def test_bearer_token_is_required_when_the_engine_has_one() -> None:
    with ZeebeEngine(rest_port=0, token="s3cret") as engine:
        with httpx.Client(base_url=engine.rest_address) as http:
            problem(http.get("/topology"), 401, "Unauthorized")
            problem(http.get("/topology", headers={"Authorization": "Bearer wrong"}), 401, "Unauthorized")

        class Bearer:
            def get_headers(self) -> dict[str, str]:
                return {"Authorization": "Bearer s3cret"}

        configuration = sdk_configuration(engine.rest_address)
        with CamundaClient(configuration=configuration, auth_provider=Bearer()) as camunda:
            assert camunda.get_topology().cluster_size == 1


def _raw(address: str, request: bytes) -> tuple[int, dict[str, Any]]:
    """Send ``request`` as is; the status and the problem document answered."""
    host, port = address.removeprefix("http://").split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_oversized_and_chunked_bodies_are_refused_before_they_are_read(zeebe_rest_address: str) -> None:
    status, document = _raw(
        zeebe_rest_address,
        b"POST /v2/messages/publication HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 40000000\r\n\r\n{}",
    )
    assert (status, document["title"]) == (413, "Payload Too Large")
    status, document = _raw(
        zeebe_rest_address,
        b"POST /v2/messages/publication HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    )
    assert (status, document["title"]) == (411, "Length Required")
