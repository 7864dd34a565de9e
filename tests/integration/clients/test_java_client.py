"""The official Java client 8.9, ``io.camunda:camunda-client-java``, on gRPC only, drives the gateway.

tests/java_client/Main.java reads the topology, deploys a BPMN file, opens a job worker that completes each
job with ``doubled = 2 * x``, and creates instances with a result; it prints one JSON line per step. The
test runs it as a subprocess and checks every line against what the engine must have done. In its ``deny``
mode its job worker is a task listener that denies user task assignments with a job result.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.clients.conftest import JavaClient, json_lines
from tests.integration.conftest import UniqueNames
from zeebe_celery.engine import ZeebeEngine

pytestmark = pytest.mark.integration

INSTANCES = 3
# The JVM's start, the client's gRPC channel and three instances; the program's own requests time out at 30 s.
RUN_TIMEOUT = 120.0


@pytest.mark.parametrize("mode", ["poll", "stream"], ids=["polling-worker", "streaming-worker"])
def test_java_client_deploys_and_its_job_worker_completes_the_jobs_of_instances_created_with_a_result(
    java_client: JavaClient, zeebe_address: str, unique: UniqueNames, tmp_path: Path, mode: str
) -> None:
    bpmn = tmp_path / "one-task.bpmn"
    bpmn.write_text(unique.text("one_task.bpmn", "one-task", "test-work"), encoding="utf-8")
    command = java_client.command(zeebe_address, str(bpmn), unique("test-work"), mode, str(INSTANCES))

    done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)

    assert done.returncode == 0, f"the Java client failed:\n{done.stdout}\n{done.stderr}"
    lines = json_lines(done.stdout)
    [topology] = [line for line in lines if line["event"] == "topology"]
    assert topology["clusterSize"] == 1
    assert {"partitionId": 1, "role": "LEADER", "health": "HEALTHY"} in topology["partitions"]

    [deployed] = [line for line in lines if line["event"] == "deployed"]
    assert deployed["bpmnProcessId"] == unique("one-task")
    assert deployed["version"] == 1
    assert deployed["resourceName"] == str(bpmn)
    assert deployed["tenantId"] == "<default>"
    assert deployed["deploymentKey"] > 0

    results = [line for line in lines if line["event"] == "result"]
    assert [r["variables"] for r in results] == [
        {"x": x, "doubled": 2 * x, "handledBy": "java-client"} for x in range(1, INSTANCES + 1)
    ]
    assert {r["bpmnProcessId"] for r in results} == {unique("one-task")}
    assert {r["processDefinitionKey"] for r in results} == {deployed["processDefinitionKey"]}

    completed = [line for line in lines if line["event"] == "completed-job"]
    assert sorted(job["processInstanceKey"] for job in completed) == sorted(r["processInstanceKey"] for r in results)
    for job in completed:
        assert job["type"] == unique("test-work")
        assert job["worker"] == "java-client"
        assert job["retries"] == 3
        assert job["elementId"] == "work"
        assert job["customHeaders"] == {"tier": "gold"}
        assert set(job["variables"]) == {"x"}


def test_java_clients_job_worker_denies_an_assignment_as_a_task_listener(
    java_client: JavaClient, zeebe_engine: ZeebeEngine, unique: UniqueNames, tmp_path: Path
) -> None:
    bpmn = tmp_path / "gated-review.bpmn"
    bpmn.write_text(unique.text("user_task_gate.bpmn", "gated-review", "check-assignment"), encoding="utf-8")
    command = java_client.command(zeebe_engine.address, str(bpmn), unique("check-assignment"), "deny", "2")

    done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)

    assert done.returncode == 0, f"the Java client failed:\n{done.stdout}\n{done.stderr}"
    lines = json_lines(done.stdout)
    [topology] = [line for line in lines if line["event"] == "topology"]
    assert topology["gatewayVersion"] == "8.9.0"
    created = [line["processInstanceKey"] for line in lines if line["event"] == "created"]
    denied = [line for line in lines if line["event"] == "denied-job"]
    assert sorted(job["processInstanceKey"] for job in denied) == sorted(created)
    for job in denied:
        assert (job["kind"], job["listenerEventType"]) == ("TASK_LISTENER", "ASSIGNING")
        assert job["assignee"] in {"ann-1", "ann-2"}
        assert job["candidateGroups"] == ["reviewers"]
        assert job["changedAttributes"] == ["assignee"]
        assert job["priority"] == 70
        assert job["dueDate"] == "2030-01-31T12:00Z"
        assert job["userTaskKey"] > 0
        assert job["tags"] == ["from-java"]
    for key in created:
        (record,) = zeebe_engine.records.wait_for("USER_TASK", "ASSIGNMENT_DENIED", processInstanceKey=key)
        assert record["value"]["deniedReason"] == "denied by java-client"
        assert record["value"]["assignee"] == ""
