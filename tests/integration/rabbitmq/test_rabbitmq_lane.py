"""The bridge on RabbitMQ, with classic and with quorum queues: outcomes as on Redis, and a broker restart
under load that loses no instance and leaks no flow-control slot."""

from __future__ import annotations

import base64
import pickle
import time
from typing import Any

import pytest
import redis
from kombu import Connection
from kombu import Queue as KombuQueue

from tests.integration.bridge.conftest import APP, HERE, EngineRecords, deploy_one_task
from tests.integration.bridge.test_bridge_time_limits import jobs_in_flight, wait_until_no_job_in_flight
from tests.integration.bridge.test_poison_messages import EMBED, TASK, encoded, job
from tests.integration.lanes import (
    check_lane_outcomes,
    deploy_lane_processes,
    start_while_disrupted,
    wait_until_completed,
)
from zeebe_celery.deadletter import DeadLetters, dead_letter_list
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.stack.fleet import CeleryWorker, PollerProcess
from zeebe_celery.stack.rabbitmq import RabbitMQServer

pytestmark = pytest.mark.integration


@pytest.fixture
def records(zeebe_engine: ZeebeEngine) -> EngineRecords:
    return EngineRecords(zeebe_engine.records)


def queue_arguments(rabbitmq: RabbitMQServer, queue: str) -> str:
    """The queue's type as the broker has it: declaring a classic queue again as a quorum queue fails."""
    with Connection(rabbitmq.url) as connection:
        channel = connection.channel()
        try:
            channel.queue_declare(queue=queue, durable=True, auto_delete=False, arguments={"x-queue-type": "quorum"})
        except connection.channel_errors:
            return "classic"
        return "quorum"


def test_instances_complete_with_errors_and_retries_on_rabbitmq(
    rabbit_fleet: list[CeleryWorker],
    rabbit_poller: PollerProcess,
    rabbitmq: RabbitMQServer,
    queue_type: str,
    client: ZeebeClient,
    unique: Any,
    records: EngineRecords,
) -> None:
    check_lane_outcomes(client, records, deploy_lane_processes(client, unique))
    assert queue_arguments(rabbitmq, "zeebe.sum-numbers") == queue_type


def handed_back(records: EngineRecords, process_id: str) -> list[dict[str, Any]]:
    return [
        r
        for r in records.find("JOB", "FAILED", bpmnProcessId=process_id)
        if "handed back unrun" in (r["value"].get("errorMessage") or "")
    ]


def test_a_job_the_broker_refuses_is_given_back_at_once_with_its_retries(
    rabbit_env: dict[str, str],
    rabbit_poller: PollerProcess,
    rabbitmq: RabbitMQServer,
    client: ZeebeClient,
    unique: Any,
    records: EngineRecords,
) -> None:
    process_id = deploy_one_task(client, unique, "pipelined")
    # Nobody consumes zeebe.pipelined yet, and it holds one message and refuses more: RabbitMQ nacks the
    # publishes beyond that, and only a publisher confirm tells the poller.
    refusing = '{"max-length": 1, "overflow": "reject-publish"}'
    rabbitmq.ctl("set_policy", "--apply-to", "queues", "refuse", r"^zeebe\.pipelined$", refusing)
    try:
        instances = [client.create_process_instance(process_id, variables={"n": n}) for n in range(4)]
        started = [instance.process_instance_key for instance in instances]
        deadline = time.monotonic() + 30
        while not handed_back(records, process_id):
            assert time.monotonic() < deadline, "no refused job was given back"
            time.sleep(0.1)
    finally:
        rabbitmq.ctl("clear_policy", "refuse")
    with CeleryWorker(APP, ["zeebe.pipelined"], env=rabbit_env, concurrency=2, cwd=HERE):
        deadline = time.monotonic() + 90
        while not set(started) <= records.completed_instances(process_id):
            assert time.monotonic() < deadline, "the refused jobs did not complete once the queue took them"
            time.sleep(0.2)
    refused = handed_back(records, process_id)
    # Given back at once with retries unchanged and no back-off: no retry burnt, no incident.
    assert all(r["value"]["retries"] == 3 and r["value"]["retryBackoff"] == 0 for r in refused)
    assert not records.find("INCIDENT", "CREATED", bpmnProcessId=process_id)


def test_a_rabbitmq_restart_under_load_loses_no_instance_and_leaks_no_slot(
    rabbit_fleet: list[CeleryWorker],
    rabbit_poller: PollerProcess,
    rabbitmq: RabbitMQServer,
    flow_store: redis.Redis,
    queue_type: str,
    client: ZeebeClient,
    unique: Any,
    records: EngineRecords,
) -> None:
    count, rate = 120, 20.0  # instances, and instances started per second
    process_id = deploy_one_task(client, unique, "quick")

    def restart() -> None:
        rabbitmq.stop()
        time.sleep(2.0)
        rabbitmq.start()

    started = start_while_disrupted(
        client, process_id, count=count, rate=rate, disrupt=restart, within=180, failure="RabbitMQ did not come back"
    )
    wait_until_completed(records, process_id, started, within=150, note=f" ({queue_type} queues)")
    lost = set(started) - records.completed_instances(process_id)
    given_back = handed_back(records, process_id)
    timed_out = len(records.find("JOB", "TIMED_OUT", bpmnProcessId=process_id))
    print(
        f"rabbitmq restart ({queue_type}): {count} instances at {rate:.0f}/s, {count - len(lost)} completed, "
        f"{len(lost)} lost, {len(given_back)} jobs given back, {timed_out} came back after their timeout"
    )
    assert not lost
    assert all(r["value"]["retries"] == 3 for r in given_back)  # given back with no retry burnt
    held = len(jobs_in_flight(flow_store, "quick"))
    wait_until_no_job_in_flight(flow_store, "quick", within=15)
    print(f"rabbitmq restart ({queue_type}): {held} job slots held when the last instance ended, 0 after")


def test_poison_messages_on_rabbitmq_are_set_aside_and_the_worker_serves_on(
    rabbit_env: dict[str, str],
    rabbit_poller: PollerProcess,
    rabbitmq: RabbitMQServer,
    flow_store: redis.Redis,
    client: ZeebeClient,
    unique: Any,
) -> None:
    queue = "zeebe.poison-target"
    flow_store.delete(dead_letter_list(queue))
    good_body = encoded([[job(7)], {}, EMBED]).encode()
    headers = {"lang": "py", "task": TASK, "id": "poison-1", "timelimit": [None, None]}
    cases = [
        (b"garbage", "application/json", headers, "not_json"),
        (base64.b64decode(good_body), "application/json", {**headers, "timelimit": ["x", {}]}, "bad_header"),
        (base64.b64decode(good_body), "application/json", {**headers, "task": "bridge_app.nope"}, "unknown_task"),
        # As kombu sends a pickle: content encoding "binary", which no job message has.
        (pickle.dumps({"a": 1}), "application/x-python-serialize", headers, "bad_envelope"),
    ]
    declared = KombuQueue(queue, durable=True, auto_delete=False, queue_arguments=queue_arguments_of(rabbit_env))
    with Connection(rabbitmq.url) as connection:
        producer = connection.Producer()
        for body, content_type, message_headers, _ in cases:
            producer.publish(
                body,
                routing_key=queue,
                content_type=content_type,
                content_encoding="utf-8" if content_type == "application/json" else "binary",
                headers=message_headers,
                declare=[declared],
            )
    with CeleryWorker(APP, [queue], env=rabbit_env, concurrency=2, cwd=HERE) as worker:
        letters = DeadLetters(flow_store)
        deadline = time.monotonic() + 60
        while len(letters.entries(queue)) < len(cases):
            assert worker.process.poll() is None, f"the worker died:\n{worker.log()[-3000:]}"
            assert time.monotonic() < deadline, f"only {len(letters.entries(queue))} of {len(cases)} set aside"
            time.sleep(0.1)
        assert [letter.kind for letter in letters.entries(queue)] == [kind for *_, kind in cases]
        assert "Unrecoverable error" not in worker.log()
        # The same worker still runs jobs.
        process_id = deploy_one_task(client, unique, "poison-target")
        ended = client.create_process_instance_with_result(process_id, request_timeout=60)
        assert ended.variables["served"] is True
        assert worker.process.poll() is None


def queue_arguments_of(env: dict[str, str]) -> dict[str, str]:
    """The arguments Celery declares the bridge's queues with in this lane (quorum, or none for classic)."""
    kind = env["ZEEBE_CELERY_TEST_QUEUE_TYPE"]
    return {"x-queue-type": kind} if kind == "quorum" else {}
