"""The bridge on Redis behind two Sentinels: jobs, BPMN errors, retries and poison messages as on one Redis,
and a failover of the master (killed with SIGKILL, a replica promoted) under load that loses no instance and
leaks no flow-control slot."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis

from tests.integration.bridge.conftest import EngineRecords, PollerFactory, deploy_one_task
from tests.integration.bridge.test_bridge_time_limits import jobs_in_flight, wait_until_no_job_in_flight
from tests.integration.lanes import (
    check_lane_outcomes,
    deploy_lane_processes,
    start_while_disrupted,
    wait_until_completed,
)
from zeebe_celery.cli import ExitCode, main
from zeebe_celery.connectors.activations import Activation, ActivationStore
from zeebe_celery.deadletter import DeadLetters, dead_letter_list
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.stack.fleet import CeleryWorker
from zeebe_celery.stack.sentinel import RedisSentinels

pytestmark = pytest.mark.integration


def test_instances_complete_with_errors_and_retries_through_redis_behind_sentinel(
    sentinel_fleet: list[CeleryWorker],
    start_sentinel_poller: PollerFactory,
    client: ZeebeClient,
    unique: Any,
    records: EngineRecords,
) -> None:
    processes = deploy_lane_processes(client, unique)
    start_sentinel_poller(["sum-numbers", "flaky", "check-stock", "quick"])
    check_lane_outcomes(client, records, processes)


def test_a_poison_message_on_a_sentinel_broker_is_set_aside_and_the_worker_serves_on(
    sentinel_fleet: list[CeleryWorker],
    start_sentinel_poller: PollerFactory,
    sentinels: RedisSentinels,
    master: redis.Redis,
    client: ZeebeClient,
    unique: Any,
) -> None:
    queue = "zeebe.poison-target"
    master.delete(queue, dead_letter_list(queue))
    master.lpush(queue, b"garbage")
    letters = DeadLetters.from_url(sentinels.bridge_url)
    deadline = time.monotonic() + 60
    while not letters.entries(queue):
        assert time.monotonic() < deadline, "the poison message was not set aside"
        time.sleep(0.1)
    [letter] = letters.entries(queue)
    letters.close()
    assert (letter.message, letter.kind) == (b"garbage", "not_json")
    assert all(worker.process.poll() is None for worker in sentinel_fleet)
    assert all("Unrecoverable error" not in worker.log() for worker in sentinel_fleet)

    process_id = deploy_one_task(client, unique, "poison-target")
    start_sentinel_poller(["poison-target"])
    assert client.create_process_instance_with_result(process_id, request_timeout=60).variables["served"] is True


def test_a_master_failover_under_load_loses_no_instance_and_leaks_no_slot(
    sentinel_fleet: list[CeleryWorker],
    start_sentinel_poller: PollerFactory,
    sentinels: RedisSentinels,
    master: redis.Redis,
    client: ZeebeClient,
    unique: Any,
    records: EngineRecords,
) -> None:
    count, rate = 150, 25.0  # instances, and instances started per second
    process_id = deploy_one_task(client, unique, "quick")
    # Messages queued on the lost master are lost with it; Zeebe hands their jobs out again after 8 s.
    start_sentinel_poller(["quick"], job_timeout=8)

    def fail_over() -> None:
        old = sentinels.master_port()
        new = sentinels.fail_over()
        assert new.port != old

    started = start_while_disrupted(
        client,
        process_id,
        count=count,
        rate=rate,
        disrupt=fail_over,
        within=90,
        failure="the Sentinels did not fail over",
    )
    wait_until_completed(records, process_id, started, within=120)
    lost = set(started) - records.completed_instances(process_id)
    timed_out = len(records.find("JOB", "TIMED_OUT", bpmnProcessId=process_id))
    print(
        f"failover: {count} instances at {rate:.0f}/s, {count - len(lost)} completed, {len(lost)} lost, "
        f"{timed_out} jobs came back after their timeout"
    )
    assert not lost
    # Every job's slot is freed: by its worker, or (a release lost with the master) once its deadline passed.
    held = len(jobs_in_flight(master, "quick"))
    wait_until_no_job_in_flight(master, "quick", within=15)
    print(f"failover: {held} job slots held when the last instance ended, 0 after the job timeout")


def test_activations_and_the_dead_letter_command_reach_the_master_through_sentinel(
    sentinels: RedisSentinels, master: redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time()
    activation = Activation(
        id=f"sentinel-{now}",
        connector="poll",
        correlation_key="k",
        message_name="m",
        inputs={},
        created_at=now,
        due_at=now,
    )
    store = ActivationStore.from_url(sentinels.bridge_url)
    assert store.add(activation)
    assert store.get(activation.id) == activation
    store.remove(activation.id)
    store.close()

    queue = "zeebe.sentinel-cli"
    DeadLetters(master).set_aside(queue, b"garbage", kind="not_json", reason="set aside by the test")
    assert main(["dead", "requeue", queue, "--all", "--broker", sentinels.bridge_url]) == ExitCode.OK
    assert capsys.readouterr().out == f"requeued 1 message(s) on {queue}\n"
    assert master.rpop(queue) == b"garbage"
