"""The seeds' examples on the project's engine, as written (only their import lines changed): CamundaRuntime
with both kinds of connector, and the simple client on job-based user tasks. No Celery runs in this package,
so nothing else takes their job types."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from tests.integration.connectors.bpmn import inbound_process, one_task_process, service_task
from zeebe_celery import GatewayClient, Job
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.stack.fleet import CeleryWorker, PollerProcess, stack_env

HERE = Path(__file__).resolve().parent


def test_the_seed_runtime_example_runs_both_connectors_and_drains_on_sigterm(
    client: ZeebeClient, zeebe_address: str, tmp_path: Path
) -> None:
    host, port = zeebe_address.rsplit(":", 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZEEBE_", "CAMUNDA_"))}
    env.update({"CAMUNDA_CONNECTION_TYPE": "INSECURE", "ZEBEE_HOSTNAME": host, "ZEBEE_PORT": port})
    log = (tmp_path / "runtime.log").open("w")
    runtime = subprocess.Popen(
        [sys.executable, str(HERE / "seed_runtime.py")], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while "CamundaRuntime polls" not in (tmp_path / "runtime.log").read_text():
            assert runtime.poll() is None, (tmp_path / "runtime.log").read_text()
            assert time.monotonic() < deadline, "the runtime did not start polling"
            time.sleep(0.1)
        outbound_id = f"seed-log-{uuid.uuid4().hex[:8]}"
        task = service_task("log", inputs={"message": '="from the seed"'}, headers={"resultVariable": "r"})
        client.deploy_resource((f"{outbound_id}.bpmn", one_task_process(outbound_id, task)))
        assert client.create_process_instance_with_result(outbound_id, request_timeout=60).variables["r"] == {
            "status": "ok"
        }

        inbound_id = f"seed-inbound-{uuid.uuid4().hex[:8]}"
        message = "random_inbound"
        client.deploy_resource(
            (f"{inbound_id}.bpmn", inbound_process(inbound_id, connector="random_inbound", message_name=message))
        )
        result = client.create_process_instance_with_result(
            inbound_id, variables={"key": uuid.uuid4().hex}, request_timeout=60
        )
        assert 1 <= result.variables["random_number"] <= 100
    finally:
        runtime.send_signal(signal.SIGTERM)
        code = runtime.wait(30)
        log.close()
    assert code == 0, (tmp_path / "runtime.log").read_text()


def test_the_seed_simple_client_example_takes_job_based_user_tasks(client: ZeebeClient, zeebe_address: str) -> None:
    process_id = f"user-task-{uuid.uuid4().hex[:8]}"
    user_task = (
        '<bpmn:userTask id="task" name="Approve"><bpmn:incoming>f1</bpmn:incoming>'
        "<bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>"
    )
    client.deploy_resource((f"{process_id}.bpmn", one_task_process(process_id, user_task)))
    host, port = zeebe_address.rsplit(":", 1)
    seen: list[Job] = []

    gateway = GatewayClient(worker_name="test_worker", host=host, port=int(port))

    def callback(task: Job) -> None:
        seen.append(task)
        gateway.complete_job(task, {"approved": True})

    thread = threading.Thread(target=gateway.subscribe, args=("io.camunda.zeebe:userTask", callback), daemon=True)
    thread.start()
    try:
        result = client.create_process_instance_with_result(process_id, request_timeout=60)
    finally:
        gateway.close()
        thread.join(15)

    assert result.variables == {"approved": True}
    assert not thread.is_alive()
    (task,) = [t for t in seen if t.process_id == process_id]
    # Zeebe gives job-based user tasks one retry.
    assert (task.task_type, task.task_id, task.retries) == ("io.camunda.zeebe:userTask", "task", 1)


def test_the_seed_connector_classes_run_unchanged_on_a_celery_fleet(
    client: ZeebeClient, zeebe_address: str, redis_url: str
) -> None:
    env = stack_env(zeebe_address=zeebe_address, redis_url=redis_url, pythonpath=[HERE])
    queues = ["zeebe.log", "zeebe._activate_inbound_connector"]
    with (
        CeleryWorker("seed_fleet_app", queues, env=env, concurrency=2, cwd=HERE) as worker,
        PollerProcess("seed_fleet_app", env=env, cwd=HERE) as poller,
    ):
        outbound_id = f"seed-fleet-log-{uuid.uuid4().hex[:8]}"
        task = service_task("log", inputs={"message": '="from the fleet"'}, headers={"resultVariable": "r"})
        client.deploy_resource((f"{outbound_id}.bpmn", one_task_process(outbound_id, task)))
        ended = client.create_process_instance_with_result(outbound_id, request_timeout=60)
        assert ended.variables["r"] == {"status": "ok"}, worker.log()[-3000:]

        inbound_id = f"seed-fleet-inbound-{uuid.uuid4().hex[:8]}"
        client.deploy_resource(
            (
                f"{inbound_id}.bpmn",
                inbound_process(inbound_id, connector="random_inbound", message_name="random_inbound"),
            )
        )
        result = client.create_process_instance_with_result(
            inbound_id, variables={"key": uuid.uuid4().hex}, request_timeout=60
        )
        assert 1 <= result.variables["random_number"] <= 100, worker.log()[-3000:]
        assert "LogConnector: from the fleet" in worker.log()
        assert "polling log" in poller.log()
