"""Handlers on real prefork workers fed by the poller: outcomes as Zeebe sees them."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis

from tests.integration.bridge.conftest import APP, HERE, EngineRecords, PollerFactory, deploy_one_task, run_instances
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.stack.fleet import CeleryWorker

pytestmark = pytest.mark.integration


def test_hundreds_of_instances_complete_with_their_variables(
    fleet: list[CeleryWorker], start_poller: PollerFactory, client: ZeebeClient, unique: Any
) -> None:
    process_id = deploy_one_task(client, unique, "sum-numbers")
    start_poller(["sum-numbers"])

    def run(i: int) -> dict[str, Any]:
        ended = client.create_process_instance_with_result(
            process_id, variables={"a": i, "b": 1000, "ignored": "x" * 10}, request_timeout=60
        )
        return ended.variables

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(run, range(300)))
    assert [r["sum"] for r in results] == [i + 1000 for i in range(300)]
    assert {r["tier"] for r in results} == {"gold"}  # custom headers reach the Job
    assert {r["seen_retries"] for r in results} == {3}
    # The 8.8 job fields reach the handler through real workers (a service task's job, on the engine's tenant).
    assert {json.dumps(r["seen_job"]) for r in results} == {
        json.dumps(["BPMN_ELEMENT", "UNSPECIFIED", None, [], "<default>"])
    }


def test_invalid_input_is_an_incident_naming_the_field_without_retries(
    fleet: list[CeleryWorker],
    start_poller: PollerFactory,
    client: ZeebeClient,
    unique: Any,
    records: EngineRecords,
    store: redis.Redis,
) -> None:
    process_id = deploy_one_task(client, unique, "greet-customer")
    start_poller(["greet-customer"])
    runs_before = int(store.get("test:greet-customer:runs") or 0)
    instance = client.create_process_instance(process_id, variables={"customer": {"name": "Ada", "age": -3}})
    incidents = records.wait_for("INCIDENT", "CREATED", processInstanceKey=instance.process_instance_key)
    assert len(incidents) == 1
    message = incidents[0]["value"]["errorMessage"]
    assert "customer" in message
    assert "age" in message
    assert incidents[0]["value"]["errorType"] == "JOB_NO_RETRIES"
    # One failure, straight to retries=0: the handler never ran and the job was failed exactly once.
    failed = records.find("JOB", "FAILED", processInstanceKey=instance.process_instance_key)
    assert len(failed) == 1
    assert failed[0]["value"]["retries"] == 0
    assert int(store.get("test:greet-customer:runs") or 0) == runs_before


def test_bpmn_error_is_caught_by_the_boundary_event(
    fleet: list[CeleryWorker], start_poller: PollerFactory, client: ZeebeClient, unique: Any
) -> None:
    process_id = unique("error-boundary")
    text = unique.text(
        "error_boundary.bpmn",
        "error-boundary",
        "reserve-work",
        "backorder-work",
        renames={"reserve-work": "check-stock", "backorder-work": "quick", "error-boundary": process_id},
    )
    client.deploy_resource((f"{process_id}.bpmn", text.encode()))
    start_poller(["check-stock", "quick"])
    ended = client.create_process_instance_with_result(
        process_id, variables={"item": "widget", "n": 21}, request_timeout=60
    )
    # The boundary path ran (quick doubled n), with the error's variables mapped out of the catch event.
    assert ended.variables["doubled"] == 42
    assert ended.variables["reason"] == "widget sold out"


def test_failed_job_is_retried_after_its_backoff_and_then_succeeds(
    fleet: list[CeleryWorker],
    start_poller: PollerFactory,
    client: ZeebeClient,
    unique: Any,
    records: EngineRecords,
) -> None:
    process_id = deploy_one_task(client, unique, "flaky")
    start_poller(["flaky"])
    ended = client.create_process_instance_with_result(process_id, request_timeout=60)
    assert ended.variables["attempts"] == 2
    failed = records.find("JOB", "FAILED", processInstanceKey=ended.process_instance_key)
    assert len(failed) == 1
    value = failed[0]["value"]
    assert value["retries"] == 2
    assert value["retryBackoff"] == 2000
    assert value["errorMessage"] == "FlakyError: the first attempt fails"
    completed = records.find("JOB", "COMPLETED", processInstanceKey=ended.process_instance_key)
    # The retry came no earlier than the back-off after the failure.
    assert completed[0]["timestamp"] - failed[0]["timestamp"] >= 2000


def test_exhausted_retries_raise_an_incident(
    fleet: list[CeleryWorker],
    start_poller: PollerFactory,
    client: ZeebeClient,
    unique: Any,
    records: EngineRecords,
    store: redis.Redis,
) -> None:
    process_id = deploy_one_task(client, unique, "always-fails", retries=3)
    start_poller(["always-fails"])
    instance = client.create_process_instance(process_id)
    key = instance.process_instance_key
    incidents = records.wait_for("INCIDENT", "CREATED", processInstanceKey=key)
    assert len(incidents) == 1
    assert incidents[0]["value"]["errorMessage"] == "ValueError: attempt with 1 retries left fails too"
    failed = records.find("JOB", "FAILED", processInstanceKey=key)
    assert [f["value"]["retries"] for f in failed] == [2, 1, 0]
    runs = [r.decode() for r in store.lrange("test:always-fails", 0, -1)]
    assert len([r for r in runs if r.split(":")[1] == str(key)]) == 3


def test_stream_pushes_jobs_and_polling_backfills(
    fleet: list[CeleryWorker], start_poller: PollerFactory, client: ZeebeClient, unique: Any
) -> None:
    from prometheus_client import REGISTRY

    def streamed() -> float:
        return REGISTRY.get_sample_value("zeebe_celery_jobs_streamed_total", {"type": "quick"}) or 0.0

    process_id = deploy_one_task(client, unique, "quick")
    before = streamed()
    start_poller(["quick"], stream=True)
    # The stream opens asynchronously; instances started before it is registered are found by polling.
    results = run_instances(client, process_id, 100, timeout=60)
    assert sorted(r["doubled"] for r in results) == [2 * i for i in range(100)]
    assert streamed() > before, "no job arrived over StreamActivatedJobs"


def test_reports_in_flight_from_a_prefork_worker_complete_every_instance(
    bridge_env: dict[str, str], start_poller: PollerFactory, client: ZeebeClient, unique: Any
) -> None:
    process_id = deploy_one_task(client, unique, "pipelined")
    env = {**bridge_env, "ZEEBE_CELERY_REPORT_CONCURRENCY": "8"}
    with CeleryWorker(APP, ["zeebe.pipelined"], env=env, concurrency=2, cwd=HERE) as worker:
        start_poller(["pipelined"])
        results = run_instances(client, process_id, 200, timeout=60)
        assert sorted(r["tripled"] for r in results) == [3 * i for i in range(200)]
        assert "Traceback" not in worker.log()
