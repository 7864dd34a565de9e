"""zbctl, the Go client from the npm package ``zbctl``, drives the gateway as a user at a terminal would.

Each test runs the real zbctl binary over plaintext and reads what it printed (JSON for most commands);
the project's own client sets up and checks what zbctl cannot show.
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.clients.conftest import Zbctl, deploy_one_task
from tests.integration.conftest import Jobs, UniqueNames
from zeebe_celery.gateway.client import ZeebeClient

pytestmark = pytest.mark.integration


def test_zbctl_status_reads_one_broker_that_leads_partition_1_healthy(zbctl: Zbctl) -> None:
    topology = zbctl.json("status", "--output", "json")

    assert topology["clusterSize"] == 1
    assert topology["partitionsCount"] >= 1
    assert topology["gatewayVersion"]
    [broker] = topology["brokers"]
    assert {"partitionId": 1, "role": "LEADER", "health": "HEALTHY"} in broker["partitions"]
    # The human format is what a user reads; zbctl builds it from the same enum values.
    assert "Partition 1 : Leader, Healthy" in zbctl.ok("status")


def test_zbctl_deploy_resource_deploys_a_bpmn_file_as_version_1_of_its_process(
    zbctl: Zbctl, zeebe_client: ZeebeClient, unique: UniqueNames, tmp_path: Path
) -> None:
    bpmn = tmp_path / "order.bpmn"
    bpmn.write_text(unique.text("one_task.bpmn", "one-task", "test-work"), encoding="utf-8")

    deployment = zbctl.json("deploy", "resource", str(bpmn))

    assert int(deployment["key"]) > 0
    assert deployment["tenantId"] == "<default>"
    [entry] = deployment["deployments"]
    process = entry["process"]
    assert process["bpmnProcessId"] == unique("one-task")
    assert process["version"] == 1
    # zbctl names the resource by the path it was given.
    assert process["resourceName"] == str(bpmn)
    assert process["tenantId"] == "<default>"
    # The key zbctl printed is the process the engine runs.
    instance = zeebe_client.create_process_instance(process_definition_key=int(process["processDefinitionKey"]))
    assert instance.bpmn_process_id == unique("one-task")


def test_zbctl_create_instance_starts_the_latest_version_with_the_given_variables(
    zbctl: Zbctl, zeebe_client: ZeebeClient, unique: UniqueNames, jobs: Jobs
) -> None:
    process_id, job_type = deploy_one_task(zeebe_client, unique)

    instance = zbctl.json("create", "instance", process_id, "--variables", json.dumps({"orderId": "o-1", "total": 12}))

    assert instance["bpmnProcessId"] == process_id
    assert instance["version"] == 1
    assert instance["tenantId"] == "<default>"
    job = jobs.activate_one(job_type)
    assert job.process_instance_key == int(instance["processInstanceKey"])
    assert job.process_definition_key == int(instance["processDefinitionKey"])
    assert job.variables == {"orderId": "o-1", "total": 12}


def test_zbctl_create_instance_of_an_unknown_process_fails_with_not_found(zbctl: Zbctl, unique: UniqueNames) -> None:
    done = zbctl.run("create", "instance", unique("no-such-process"))

    assert done.returncode != 0
    assert "code = NotFound" in done.stderr, done.stderr


@pytest.mark.parametrize(
    ("with_result", "expected"),
    [
        pytest.param("--withResult", {"orderId": "o-2", "approved": True}, id="all-variables"),
        pytest.param("--withResult=approved", {"approved": True}, id="fetched-variables"),
    ],
)
def test_zbctl_create_instance_with_result_waits_for_the_end_and_prints_its_variables(
    zbctl: Zbctl,
    zeebe_client: ZeebeClient,
    unique: UniqueNames,
    jobs: Jobs,
    with_result: str,
    expected: dict[str, object],
) -> None:
    process_id, job_type = deploy_one_task(zeebe_client, unique)
    args = ("create", "instance", process_id, "--variables", '{"orderId": "o-2"}', with_result)
    with subprocess.Popen(zbctl.command(*args, "--requestTimeout", "30s"), stdout=subprocess.PIPE, text=True) as proc:
        job = jobs.activate_one(job_type)
        # zbctl is still waiting: the instance cannot end before its job does.
        assert proc.poll() is None
        zeebe_client.complete_job(job.key, {"approved": True})
        stdout, _ = proc.communicate(timeout=30)

    assert proc.returncode == 0
    result = json.loads(stdout)
    assert int(result["processInstanceKey"]) == job.process_instance_key
    assert result["bpmnProcessId"] == process_id
    assert json.loads(result["variables"]) == expected


def test_zbctl_publish_message_correlates_to_the_waiting_instance_with_its_variables(
    zbctl: Zbctl, zeebe_client: ZeebeClient, unique: UniqueNames, jobs: Jobs
) -> None:
    zeebe_client.deploy_resource(
        unique.resource("message_catch.bpmn", "message-catch", "payment-received", "ship-work")
    )
    instance = zeebe_client.create_process_instance(unique("message-catch"), variables={"orderId": unique("order")})

    published = zbctl.json(
        "publish", "message", unique("payment-received"),
        "--correlationKey", unique("order"), "--variables", '{"paid": 42}', "--ttl", "1m",
    )  # fmt: skip

    assert int(published["key"]) > 0
    job = jobs.activate_one(unique("ship-work"))
    assert job.process_instance_key == instance.process_instance_key
    assert job.variables == {"orderId": unique("order"), "paid": 42}


def test_zbctl_activate_jobs_then_complete_job_ends_the_instance_with_zbctls_variables(
    zbctl: Zbctl, zeebe_client: ZeebeClient, unique: UniqueNames
) -> None:
    process_id, job_type = deploy_one_task(zeebe_client, unique)
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(
            zeebe_client.create_process_instance_with_result, process_id, variables={"n": 1}, request_timeout=60
        )

        activated = zbctl.json(
            "activate", "jobs", job_type, "--worker", "zbctl-test", "--maxJobsToActivate", "5",
            "--timeout", "1m", "--requestTimeout", "20s",
        )  # fmt: skip
        [job] = activated["jobs"]
        assert job["type"] == job_type
        assert job["worker"] == "zbctl-test"
        assert job["retries"] == 3
        assert job["bpmnProcessId"] == process_id
        assert job["elementId"] == "work"
        assert json.loads(job["customHeaders"]) == {"tier": "gold"}
        assert json.loads(job["variables"]) == {"n": 1}

        completed = zbctl.ok("complete", "job", job["key"], "--variables", '{"done": true}')
        assert f"Completed job with key '{job['key']}'" in completed
        result = waiting.result(timeout=30)

    assert result.process_instance_key == int(job["processInstanceKey"])
    assert result.variables == {"n": 1, "done": True}


def test_zbctl_activate_jobs_of_a_type_without_jobs_prints_no_jobs(zbctl: Zbctl, unique: UniqueNames) -> None:
    activated = zbctl.json("activate", "jobs", unique("idle-work"), "--requestTimeout", "2s")

    assert activated == {"jobs": []}
