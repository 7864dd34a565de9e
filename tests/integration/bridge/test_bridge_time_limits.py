"""A handler that hangs past its job's deadline, on real prefork workers: Celery's time limit stops it at the
deadline, nothing is reported for that run, its slot is freed, and the job's next activation completes."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest
import redis

from tests.integration.bridge.conftest import EngineRecords, PollerFactory, deploy_one_task
from tests.integration.bridge.test_bridge_failures import blpop_within
from zeebe_celery.flow import InflightStore
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.stack.fleet import CeleryWorker
from zeebe_celery.time_limits import HARD_LIMIT_GRACE

pytestmark = pytest.mark.integration


def completed(records: EngineRecords, instance_key: int) -> dict[str, Any]:
    """The variables the instance ended with (the job's output), once it has ended."""
    ended = records.wait_for(
        "PROCESS_INSTANCE", "ELEMENT_COMPLETED", processInstanceKey=instance_key, bpmnElementType="PROCESS", within=60
    )
    assert ended, f"instance {instance_key} did not complete"
    return {
        record["value"]["name"]: json.loads(record["value"]["value"])
        for record in records.find("VARIABLE", None, processInstanceKey=instance_key)
    }


def jobs_in_flight(store: redis.Redis, job_type: str) -> list[bytes]:
    """The jobs holding a slot of ``job_type`` now (a running poller's reservations left out)."""
    now_ms = time.time() * 1000
    members = store.zrangebyscore(InflightStore(store).key(job_type), f"({now_ms}", "+inf")
    return [member for member in members if not member.startswith(b"r:")]


def wait_until_no_job_in_flight(store: redis.Redis, job_type: str, within: float = 10.0) -> None:
    # The worker frees a job's slot just after its report is accepted, a moment after the instance ends.
    deadline = time.monotonic() + within
    while jobs_in_flight(store, job_type):
        assert time.monotonic() < deadline, f"slots still held: {jobs_in_flight(store, job_type)}"
        time.sleep(0.05)


def test_handler_hanging_past_its_deadline_is_stopped_reports_nothing_and_frees_its_slot(
    fleet: list[CeleryWorker],
    start_poller: PollerFactory,
    client: ZeebeClient,
    unique: Any,
    store: redis.Redis,
    records: EngineRecords,
) -> None:
    job_type = "slow-beyond-timeout"
    process_id = deploy_one_task(client, unique, job_type)
    poller = start_poller([job_type])
    instance = client.create_process_instance(process_id)
    started = blpop_within(store, "test:slow-first", 30)
    assert started is not None
    key, deadline, _pid = (int(part) for part in started.decode().split(":"))
    # No poller from here on, so nothing but the worker can take the job's slot out of the in-flight set.
    poller.stop()
    inflight = InflightStore(store)
    assert store.zscore(inflight.key(job_type), f"{key}:{deadline}") is not None

    stopped = blpop_within(store, "test:slow-first:stopped", 30)

    assert stopped is not None
    stopped_key, stopped_at = stopped.decode().split(":")
    assert int(stopped_key) == key
    # Stopped by the soft time limit at the deadline, not after its 60 s nap.
    assert float(stopped_at) < deadline / 1000 + 2.0
    deadline_wait = time.monotonic() + 10
    while store.zscore(inflight.key(job_type), f"{key}:{deadline}") is not None:
        assert time.monotonic() < deadline_wait, "the stopped run never freed its slot"
        time.sleep(0.05)
    logs = "".join(worker.log() for worker in fleet)
    assert f"job {key} ({job_type}) is gone: its deadline passed while the handler ran" in logs
    assert "Soft time limit" in logs
    assert records.find("JOB", "FAILED", key=key) == []  # no FailJob: no retry spent

    start_poller([job_type])
    assert completed(records, instance.process_instance_key) == {"by": "re-run", "retries": 3}
    wait_until_no_job_in_flight(store, job_type)


def test_handler_that_ignores_the_soft_limit_is_killed_by_the_hard_one_and_the_worker_serves_on(
    fleet: list[CeleryWorker],
    start_poller: PollerFactory,
    client: ZeebeClient,
    unique: Any,
    store: redis.Redis,
    records: EngineRecords,
) -> None:
    job_type = "ignores-soft-limit"
    process_id = deploy_one_task(client, unique, job_type)
    start_poller([job_type])
    instance = client.create_process_instance(process_id)
    started = blpop_within(store, "test:ignores-soft-limit", 30)
    assert started is not None
    key, deadline, pid = (int(part) for part in started.decode().split(":"))

    assert completed(records, instance.process_instance_key) == {"by": "re-run", "retries": 3}

    soft = blpop_within(store, "test:ignores-soft-limit:soft", 5)
    assert soft is not None
    assert float(soft.decode().split(":")[1]) < deadline / 1000 + 2.0
    kill_wait = time.monotonic() + deadline / 1000 - time.time() + HARD_LIMIT_GRACE + 10
    while os.path.exists(f"/proc/{pid}"):
        assert time.monotonic() < kill_wait, "the hard time limit never killed the hanging process"
        time.sleep(0.1)
    logs = "".join(worker.log() for worker in fleet)
    assert "Hard time limit" in logs
    assert records.find("JOB", "FAILED", key=key) == []
    assert all(worker.process.poll() is None for worker in fleet)
    wait_until_no_job_in_flight(store, job_type)
