"""The seed's simple client: ``subscribe`` long-polls, calls back per job, fails jobs whose callback raises,
and returns when stopped from another thread."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import grpc
import pytest

from zeebe_celery import GatewayClient, Job
from zeebe_celery.testing.fake_gateway import FakeGateway, make_job


@pytest.fixture
def simple(fake: FakeGateway, clean_env: Path) -> GatewayClient:
    host, port = fake.address.rsplit(":", 1)
    return GatewayClient(worker_name="test_worker", host=host, port=int(port))


def subscribe_in_thread(client: GatewayClient, job_type: str, callback: object, **options: object) -> threading.Thread:
    thread = threading.Thread(target=client.subscribe, args=(job_type, callback), kwargs=options, daemon=True)
    thread.start()
    return thread


def test_the_seed_constructor_dials_host_and_port_with_the_worker_name(
    simple: GatewayClient, fake: FakeGateway
) -> None:
    assert simple.settings.gateway_address == fake.address
    assert simple.worker_name == "test_worker"
    simple.close()


def test_subscribe_calls_back_with_jobs_that_have_the_seeds_property_names(
    simple: GatewayClient, fake: FakeGateway
) -> None:
    fake.add_jobs(
        "io.camunda.zeebe:userTask",
        [
            make_job(
                7, "io.camunda.zeebe:userTask", variables={"item": "tea"}, element_id="approve", bpmn_process_id="p"
            )
        ],
    )
    seen: list[Job] = []
    done = threading.Event()

    def callback(task: Job) -> None:
        seen.append(task)
        simple.complete_job(task, {"approved": True})
        done.set()

    thread = subscribe_in_thread(simple, "io.camunda.zeebe:userTask", callback)
    assert done.wait(5)
    simple.stop()
    thread.join(5)

    assert not thread.is_alive()
    (task,) = seen
    assert (task.key, task.task_type, task.task_id, task.process_id) == (7, "io.camunda.zeebe:userTask", "approve", "p")
    assert (task.retries, task.variables) == (3, {"item": "tea"})
    (complete,) = fake.calls_to("CompleteJob")
    assert (complete.request.jobKey, json.loads(complete.request.variables)) == (7, {"approved": True})
    activation = fake.calls_to("ActivateJobs")[0].request
    assert (activation.worker, activation.maxJobsToActivate) == ("test_worker", 32)
    simple.close()


def test_a_callback_that_raises_fails_its_job_with_one_retry_less_and_the_loop_goes_on(
    simple: GatewayClient, fake: FakeGateway
) -> None:
    fake.add_jobs("work", [make_job(1, "work", retries=3), make_job(2, "work", retries=3)])
    calls: list[int] = []
    both = threading.Event()

    def callback(task: Job) -> None:
        calls.append(task.key)
        if len(calls) == 2:
            both.set()
        raise ValueError("no stock")

    thread = subscribe_in_thread(simple, "work", callback, max_jobs=1)
    assert both.wait(5)
    fake.wait_for("FailJob", 2)
    simple.close()
    thread.join(5)

    assert not thread.is_alive()
    assert sorted(calls) == [1, 2]
    fails = sorted((c.request.jobKey, c.request.retries, c.request.errorMessage) for c in fake.calls_to("FailJob"))
    assert fails == [(1, 2, "ValueError: no stock"), (2, 2, "ValueError: no stock")]
    assert all(c.request.maxJobsToActivate == 1 for c in fake.calls_to("ActivateJobs"))


def test_fail_job_takes_the_seeds_positional_arguments_or_a_key(simple: GatewayClient, fake: FakeGateway) -> None:
    job = Job.from_activated(make_job(5, "work", retries=3))

    simple.fail_job(job, "no stock", 2)
    simple.fail_job(6, "gone", 0)

    got = [(c.request.jobKey, c.request.retries, c.request.errorMessage) for c in fake.calls_to("FailJob")]
    assert got == [(5, 2, "no stock"), (6, 0, "gone")]
    simple.close()


def test_subscribe_survives_gateway_errors(simple: GatewayClient, fake: FakeGateway) -> None:
    fake.fail_next("ActivateJobs", grpc.StatusCode.UNAVAILABLE, times=2)
    fake.add_jobs("work", [make_job(9, "work")])
    done = threading.Event()

    thread = subscribe_in_thread(simple, "work", lambda task: done.set())
    assert done.wait(10)
    simple.close()
    thread.join(5)

    assert not thread.is_alive()
    assert fake.call_count("ActivateJobs") >= 3
