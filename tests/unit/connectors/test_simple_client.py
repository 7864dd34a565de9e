"""The seed's simple client: ``subscribe`` long-polls, calls back per job, fails jobs whose callback raises,
and returns when stopped from another thread. Its jobs are real jobs on the engine."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tests.unit.engine_jobs import EngineJobs
from zeebe_celery import GatewayClient, Job
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.faults import Faults


@pytest.fixture
def simple(engine: ZeebeEngine, clean_env: Path) -> GatewayClient:
    host, port = engine.address.rsplit(":", 1)
    return GatewayClient(worker_name="test_worker", host=host, port=int(port))


def subscribe_in_thread(client: GatewayClient, job_type: str, callback: object, **options: object) -> threading.Thread:
    thread = threading.Thread(target=client.subscribe, args=(job_type, callback), kwargs=options, daemon=True)
    thread.start()
    return thread


def test_the_seed_constructor_dials_host_and_port_with_the_worker_name(
    simple: GatewayClient, engine: ZeebeEngine
) -> None:
    assert simple.settings.gateway_address == engine.address
    assert simple.worker_name == "test_worker"
    simple.close()


def test_subscribe_calls_back_with_jobs_that_have_the_seeds_property_names(
    simple: GatewayClient, faults: Faults, jobs: EngineJobs
) -> None:
    job_type = jobs.new_type("io.camunda.zeebe:userTask")
    (instance,) = jobs.create(job_type, variables={"item": "tea"})
    key = jobs.job_of(instance)
    seen: list[Job] = []
    done = threading.Event()

    def callback(task: Job) -> None:
        seen.append(task)
        simple.complete_job(task, {"approved": True})
        done.set()

    thread = subscribe_in_thread(simple, job_type, callback)
    assert done.wait(5)
    simple.stop()
    thread.join(5)

    assert not thread.is_alive()
    (task,) = seen
    assert (task.key, task.task_type, task.task_id, task.process_id) == (
        key,
        job_type,
        "work",
        jobs.process_of(job_type),
    )
    assert (task.retries, task.variables) == (3, {"item": "tea"})
    (complete,) = faults.calls("CompleteJob")
    assert (complete.request.jobKey, json.loads(complete.request.variables)) == (task.key, {"approved": True})
    assert jobs.completed_variables(task.key) == {"approved": True}
    activation = faults.calls("ActivateJobs")[0].request
    assert (activation.worker, activation.maxJobsToActivate) == ("test_worker", 32)
    simple.close()


def test_a_callback_that_raises_fails_its_job_with_one_retry_less_and_the_loop_goes_on(
    simple: GatewayClient, engine: ZeebeEngine, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    keys = sorted(jobs.job_of(instance) for instance in jobs.create(job_type, 2))
    calls: list[int] = []

    def callback(task: Job) -> None:
        calls.append(task.key)
        raise ValueError("no stock")

    thread = subscribe_in_thread(simple, job_type, callback, max_jobs=1)
    # Each failure hands the job back with one retry less, until the last one raises an incident.
    for key in keys:
        engine.wait_for_incident(within=10, jobKey=key)
    simple.close()
    thread.join(5)

    assert not thread.is_alive()
    assert sorted(calls) == sorted(keys * 3)
    for key in keys:
        assert [(f["retries"], f["errorMessage"]) for f in jobs.failures(key)] == [
            (2, "ValueError: no stock"),
            (1, "ValueError: no stock"),
            (0, "ValueError: no stock"),
        ]
        assert jobs.incident(key)["errorMessage"] == "ValueError: no stock"
    assert all(c.request.maxJobsToActivate == 1 for c in faults.calls("ActivateJobs"))


def test_fail_job_takes_the_seeds_positional_arguments_or_a_key(
    simple: GatewayClient, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    first, second = jobs.activated(job_type, count=2)

    simple.fail_job(first, "no stock", 2)
    simple.fail_job(second.key, "gone", 0)

    got = [(c.request.jobKey, c.request.retries, c.request.errorMessage) for c in faults.calls("FailJob")]
    assert got == [(first.key, 2, "no stock"), (second.key, 0, "gone")]
    assert [(f["retries"], f["errorMessage"]) for f in jobs.failures(first.key)] == [(2, "no stock")]
    assert jobs.job_retries(first.key) == 2
    assert jobs.incident(second.key)["errorMessage"] == "gone"
    simple.close()


def test_subscribe_survives_gateway_errors(
    simple: GatewayClient, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    faults.fail("ActivateJobs", "UNAVAILABLE", times=2)
    (instance,) = jobs.create(job_type)
    key = jobs.job_of(instance)
    seen: list[int] = []
    done = threading.Event()

    def callback(task: Job) -> None:
        seen.append(task.key)
        done.set()

    thread = subscribe_in_thread(simple, job_type, callback)
    assert done.wait(10)
    simple.close()
    thread.join(5)

    assert not thread.is_alive()
    assert seen == [key]
    assert len(faults.calls("ActivateJobs")) >= 3


def test_stop_ends_every_subscription_of_the_client(simple: GatewayClient, faults: Faults, jobs: EngineJobs) -> None:
    # No jobs: every subscription long-polls until stopped.
    threads = [subscribe_in_thread(simple, jobs.new_type("sub"), print, request_timeout=5) for _ in range(3)]
    for _ in range(500):
        if len(faults.calls("ActivateJobs")) >= 3:
            break
        threading.Event().wait(0.01)
    assert len(faults.calls("ActivateJobs")) >= 3

    simple.stop()
    for thread in threads:
        thread.join(3)

    assert [t.is_alive() for t in threads] == [False, False, False]
    simple.close()


def test_max_jobs_bounds_the_jobs_activated_and_not_yet_reported(
    simple: GatewayClient, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    keys = sorted(jobs.job_of(instance) for instance in jobs.create(job_type, 3))
    seen: list[Job] = []
    arrived = threading.Semaphore(0)

    def callback(task: Job) -> None:  # returns at once, reporting the job later
        seen.append(task)
        arrived.release()

    thread = subscribe_in_thread(simple, job_type, callback, max_jobs=2, request_timeout=0.2)
    assert arrived.acquire(timeout=5)
    assert arrived.acquire(timeout=5)
    assert not arrived.acquire(timeout=0.6)  # two jobs open: no slot for the third
    assert all(c.request.maxJobsToActivate <= 2 for c in faults.calls("ActivateJobs"))

    simple.complete_job(seen[0])
    assert arrived.acquire(timeout=5)  # the report freed a slot
    simple.stop()
    thread.join(5)

    assert not thread.is_alive()
    assert sorted(t.key for t in seen) == keys
    simple.close()
