"""Failure modes on the real stack: late handlers, expired jobs, overload, crashes and outages.

Every test ends by proving that no instance was lost: each one completes.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis

from tests.integration.bridge.conftest import (
    APP,
    HERE,
    EngineRecords,
    PollerFactory,
    deploy_one_task,
    run_instances,
)
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.stack.fleet import CeleryWorker, PollerProcess
from zeebe_celery.stack.redis import RedisServer

pytestmark = pytest.mark.integration


def blpop_within(store: redis.Redis, key: str, seconds: float) -> bytes | None:
    """BLPOP in one-second steps: the client's socket timeout is shorter than the wait."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        item = store.blpop([key], timeout=1)
        if item is not None:
            return item[1]
    return None


def test_job_past_its_deadline_is_not_run(
    bridge_env: dict[str, str],
    start_poller: PollerFactory,
    client: ZeebeClient,
    unique: Any,
    store: redis.Redis,
) -> None:
    process_id = deploy_one_task(client, unique, "not-run-late")
    poller = start_poller(["not-run-late"])
    instance = client.create_process_instance(process_id)
    # No worker consumes the queue yet: the job waits there until its 2 s timeout has passed.
    deadline = time.monotonic() + 20
    while store.llen("zeebe.not-run-late") == 0:
        assert time.monotonic() < deadline, "the poller never published the job"
        time.sleep(0.05)
    poller.stop()
    time.sleep(2.5)
    with CeleryWorker(APP, ["zeebe.not-run-late"], env=bridge_env, concurrency=1, cwd=HERE) as worker:
        deadline = time.monotonic() + 20
        while store.llen("zeebe.not-run-late") > 0:
            assert time.monotonic() < deadline, "the worker never took the message"
            time.sleep(0.05)
        time.sleep(1.0)
        assert store.lrange("test:not-run-late", 0, -1) == []
        assert "Traceback" not in worker.log()
        # The job belongs to Zeebe again: a poller hands it out anew, and this time it runs.
        start_poller(["not-run-late"])
        ran = blpop_within(store, "test:not-run-late", 30)
        assert ran is not None
        assert ran.decode().split(":")[1] == str(instance.process_instance_key)


def test_overload_keeps_the_queue_within_its_bound_and_no_job_expires(
    fleet: list[CeleryWorker],
    start_poller: PollerFactory,
    client: ZeebeClient,
    unique: Any,
    store: redis.Redis,
    records: EngineRecords,
) -> None:
    process_id = deploy_one_task(client, unique, "slow-work")
    poller = start_poller(["slow-work"])
    bound = poller.specs["slow-work"].max_jobs
    assert bound == 4
    samples: list[tuple[int, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append((store.llen("zeebe.slow-work"), poller.inflight.in_flight("slow-work")))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        results = run_instances(client, process_id, 40, nap=0.4)
    finally:
        done.set()
        sampler.join()
    assert len(results) == 40
    assert all(r["napped"] == 0.4 for r in results)
    assert max(depth for depth, _ in samples) <= bound
    assert max(inflight for _, inflight in samples) <= bound
    assert max(inflight for _, inflight in samples) >= 2  # the bound was actually reached for, not idle
    keys = {r["value"]["processInstanceKey"] for r in records.find("JOB", "TIMED_OUT")}
    ran = {int(r.decode().split(":")[1]) for r in store.lrange("test:slow-work", 0, -1)}
    assert not keys & ran, "a job expired while it waited"


def test_two_pollers_together_complete_every_instance(
    fleet: list[CeleryWorker], start_poller: PollerFactory, client: ZeebeClient, unique: Any
) -> None:
    process_id = deploy_one_task(client, unique, "quick")
    first = start_poller(["quick"])
    second = start_poller(["quick"])
    assert first.worker_name != second.worker_name or first is not second
    results = run_instances(client, process_id, 200)
    assert sorted(r["doubled"] for r in results) == [2 * i for i in range(200)]


def test_killed_worker_child_loses_no_instance(
    fleet: list[CeleryWorker], start_poller: PollerFactory, client: ZeebeClient, unique: Any, store: redis.Redis
) -> None:
    crash_process = deploy_one_task(client, unique, "crash-once")
    quick_process = deploy_one_task(client, unique, "quick")
    start_poller(["crash-once", "quick"])
    store.delete("test:crash-once:running")
    with ThreadPoolExecutor(max_workers=2) as pool:
        crashed = pool.submit(client.create_process_instance_with_result, crash_process, request_timeout=60)
        running = blpop_within(store, "test:crash-once:running", 30)
        assert running is not None, "".join(w.log()[-3000:] for w in fleet)
        child = int(running)
        assert any(child in worker.child_pids() for worker in fleet)
        os.kill(child, signal.SIGKILL)
        others = pool.submit(run_instances, client, quick_process, 50)
        # Zeebe re-activates the job after its 4 s timeout and a surviving pool process completes it.
        assert crashed.result(timeout=90).variables["survived"] is True
        assert len(others.result(timeout=90)) == 50


def test_worker_killed_mid_batch_loses_no_job(
    fleet: list[CeleryWorker],
    start_poller: PollerFactory,
    client: ZeebeClient,
    unique: Any,
    store: redis.Redis,
    records: EngineRecords,
) -> None:
    process_id = deploy_one_task(client, unique, "batch-crash")
    store.delete("test:batch-crash:runs", "test:batch-crash:running", "test:batch-crash")
    # The instances exist before the poller starts, so its first activation takes all four: one batch.
    instances = {client.create_process_instance(process_id).process_instance_key for _ in range(4)}
    start_poller(["batch-crash"])
    running = blpop_within(store, "test:batch-crash:running", 30)
    assert running is not None, "".join(w.log()[-3000:] for w in fleet)
    child, message_id = running.decode().split(":", 1)
    assert message_id.startswith("zeebe-batch-"), message_id
    assert message_id.endswith("-4"), message_id
    assert any(int(child) in worker.child_pids() for worker in fleet)
    # The batch's first job is reported; the second is running; the last two have not started.
    records.wait_for("JOB", "COMPLETED", bpmnProcessId=process_id)
    os.kill(int(child), signal.SIGKILL)
    # Zeebe hands the three unreported jobs out again after their 4 s timeout, and they complete.
    deadline = time.monotonic() + 90
    while records.completed_instances(process_id) != instances:
        assert time.monotonic() < deadline, "not every instance of the killed batch completed"
        time.sleep(0.2)
    ran = [int(r.decode().split(":")[0]) for r in store.lrange("test:batch-crash", 0, -1)]
    # Each job completed once: the one reported before the kill was not run again.
    assert len(ran) == len(set(ran)) == 4
    assert len(records.find("JOB", "TIMED_OUT", bpmnProcessId=process_id)) == 3


def handed_back(records: EngineRecords, process_id: str) -> list[dict[str, Any]]:
    return [
        r
        for r in records.find("JOB", "FAILED", bpmnProcessId=process_id)
        if "handed back unrun" in (r["value"].get("errorMessage") or "")
    ]


def test_redis_outage_under_load_gives_jobs_back_pauses_and_loses_nothing(
    fleet: list[CeleryWorker],
    start_poller: PollerFactory,
    bridge_redis: RedisServer,
    client: ZeebeClient,
    unique: Any,
    records: EngineRecords,
) -> None:
    process_id = deploy_one_task(client, unique, "quick")
    # Messages queued when Redis dies are lost with it; Zeebe hands their jobs out again after 8 s.
    poller = start_poller(["quick"], job_timeout=8)
    with ThreadPoolExecutor(max_workers=2) as pool:
        load = pool.submit(run_instances, client, process_id, 150, timeout=120)
        time.sleep(1.0)
        bridge_redis.stop()
        # Jobs activated while Redis is down cannot be published: they go straight back to Zeebe.
        during = [client.create_process_instance(process_id, variables={"n": 1000 + i}) for i in range(10)]
        deadline = time.monotonic() + 20
        while not handed_back(records, process_id) and time.monotonic() < deadline:
            time.sleep(0.25)
        time.sleep(2.0)
        health = poller.check_health()
        assert not health.broker
        bridge_redis.start()
        assert len(load.result(timeout=150)) == 150
    keys = {i.process_instance_key for i in during}
    deadline = time.monotonic() + 60
    while not keys <= records.completed_instances(process_id):
        assert time.monotonic() < deadline, "instances started during the outage did not complete"
        time.sleep(0.5)
    given_back = handed_back(records, process_id)
    assert given_back, "no job was handed back while Redis was down"
    # Given back with retries unchanged and no back-off: no retry burnt, no incident.
    assert all(r["value"]["retries"] == 3 and r["value"]["retryBackoff"] == 0 for r in given_back)
    assert not records.find("INCIDENT", "CREATED", bpmnProcessId=process_id)


def test_sigterm_stops_the_poller_within_ten_seconds_and_loses_nothing(
    fleet: list[CeleryWorker],
    bridge_env: dict[str, str],
    start_poller: PollerFactory,
    client: ZeebeClient,
    unique: Any,
) -> None:
    process_id = deploy_one_task(client, unique, "slow-work")
    with ThreadPoolExecutor(max_workers=1) as pool:
        with PollerProcess(APP, env=bridge_env, args=["--types", "slow-work", "--http-port", "0"], cwd=HERE) as poller:
            load = pool.submit(run_instances, client, process_id, 40, timeout=120, nap=0.2)
            time.sleep(2.0)
            poller.signal(signal.SIGTERM)
            assert poller.wait(timeout=10) == 0
            assert "Traceback" not in poller.log()
        # A second poller takes over; every instance completes.
        start_poller(["slow-work"])
        assert len(load.result(timeout=120)) == 40


def test_metrics_and_health_endpoints(
    fleet: list[CeleryWorker], start_poller: PollerFactory, client: ZeebeClient, unique: Any
) -> None:
    process_id = deploy_one_task(client, unique, "quick")
    poller = start_poller(["quick"], http_port=0)
    assert poller.http is not None
    base = f"http://127.0.0.1:{poller.http.port}"
    run_instances(client, process_id, 5)
    deadline = time.monotonic() + 10
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
                assert response.status == 200
                break
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert 'zeebe_celery_jobs_activated_total{type="quick"}' in text
    assert 'zeebe_celery_jobs_dispatched_total{type="quick"}' in text
    assert "zeebe_celery_activation_seconds_bucket" in text
    assert 'zeebe_celery_queue_depth{type="quick"}' in text
