"""The Celery app the bridge tests run on real prefork workers: one handler per behaviour under test.

Handlers are registered with ``app=``, not as shared tasks, so importing this module in the test
process does not add its job types to every other Celery app the suite creates.

Handlers that must act differently on a job's first run keep a marker in Redis (the worker processes
share nothing else), and record what they did there for the test to read.
"""

from __future__ import annotations

import os
import time

import redis
from billiard.exceptions import SoftTimeLimitExceeded
from celery import Celery
from pydantic import BaseModel, Field

from zeebe_celery import BpmnError, Job, zeebe_task
from zeebe_celery.redis_location import connect

app = Celery("bridge-tests", broker=os.environ.get("ZEEBE_CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.worker_prefetch_multiplier = 1
if "ZEEBE_CELERY_TEST_MASTER_NAME" in os.environ:
    # The lane on Redis behind Sentinel: Celery finds the master by this name.
    app.conf.broker_transport_options = {"master_name": os.environ["ZEEBE_CELERY_TEST_MASTER_NAME"]}
if "ZEEBE_CELERY_TEST_QUEUE_TYPE" in os.environ:
    # The lane on RabbitMQ: the zeebe.<type> queues are classic or quorum queues.
    app.conf.task_create_missing_queue_type = os.environ["ZEEBE_CELERY_TEST_QUEUE_TYPE"]

_redis: redis.Redis = connect(os.environ.get("ZEEBE_CELERY_REDIS_URL", "redis://127.0.0.1:6379/0"))


def first_run(job: Job) -> bool:
    """True on the first run of this job (any activation), False on every later one."""
    return bool(_redis.set(f"test:first:{job.key}", os.getpid(), nx=True, ex=600))


def record(name: str, job: Job) -> None:
    _redis.rpush(f"test:{name}", f"{job.key}:{job.process_instance_key}:{os.getpid()}")


class Customer(BaseModel):
    name: str
    age: int = Field(ge=0)


@zeebe_task("sum-numbers", app=app)
def sum_numbers(a: int, b: int, job: Job) -> dict[str, object]:
    return {
        "sum": a + b,
        "seen_retries": job.retries,
        "tier": job.custom_headers.get("tier"),
        "seen_job": [job.kind.value, job.listener_event_type.value, job.user_task, list(job.tags), job.tenant_id],
    }


@zeebe_task("greet-customer", app=app)
def greet_customer(customer: Customer) -> dict[str, object]:
    _redis.incr("test:greet-customer:runs")
    return {"greeting": f"hello {customer.name}"}


@zeebe_task("check-stock", app=app)
def check_stock(item: str) -> dict[str, object]:
    raise BpmnError("NO_STOCK", f"no {item} left", variables={"reason": f"{item} sold out"})


class FlakyError(Exception):
    pass


@zeebe_task("flaky", retry_backoff="2s", app=app)
def flaky(job: Job) -> dict[str, object]:
    record("flaky", job)
    if job.retries == 3:
        raise FlakyError("the first attempt fails")
    return {"attempts": 4 - job.retries, "succeeded_at": time.time()}


@zeebe_task("always-fails", retry_backoff="0s", app=app)
def always_fails(job: Job) -> None:
    record("always-fails", job)
    raise ValueError(f"attempt with {job.retries} retries left fails too")


@zeebe_task("slow-beyond-timeout", timeout="3s", app=app)
def slow_beyond_timeout(job: Job) -> dict[str, object]:
    # The first run hangs past the job's 3 s timeout, until Celery's soft time limit stops it at the deadline;
    # Zeebe hands the job out again and the re-run completes it.
    if first_run(job):
        _redis.rpush("test:slow-first", f"{job.key}:{job.deadline}:{os.getpid()}")
        try:
            time.sleep(60)
        finally:
            _redis.rpush("test:slow-first:stopped", f"{job.key}:{time.time()}")
        return {"by": "first-run"}
    record("slow-rerun", job)
    return {"by": "re-run", "retries": job.retries}


@zeebe_task("ignores-soft-limit", timeout="3s", app=app)
def ignores_soft_limit(job: Job) -> dict[str, object]:
    # The first run swallows the soft time limit and keeps going: the hard limit kills its process.
    if first_run(job):
        _redis.rpush("test:ignores-soft-limit", f"{job.key}:{job.deadline}:{os.getpid()}")
        while True:
            try:
                time.sleep(60)
            except SoftTimeLimitExceeded:
                _redis.rpush("test:ignores-soft-limit:soft", f"{job.key}:{time.time()}")
    return {"by": "re-run", "retries": job.retries}


@zeebe_task("poison-target", app=app)
def poison_target(job: Job) -> dict[str, object]:
    record("poison-target", job)
    return {"served": True}


@zeebe_task("requeued-work", app=app)
def requeued_work(job: Job) -> dict[str, object]:
    return {"served_by": "the mended worker"}


@zeebe_task("not-run-late", timeout="2s", app=app)
def not_run_late(job: Job) -> dict[str, object]:
    record("not-run-late", job)
    return {"ran": True}


@zeebe_task("slow-work", timeout="20s", max_jobs=4, app=app)
def slow_work(job: Job, nap: float = 0.5) -> dict[str, object]:
    record("slow-work", job)
    time.sleep(nap)
    return {"napped": nap}


@zeebe_task("crash-once", timeout="4s", app=app)
def crash_once(job: Job) -> dict[str, object]:
    # The first run parks long enough for the test to kill -9 this pool process.
    if first_run(job):
        _redis.rpush("test:crash-once:running", os.getpid())
        time.sleep(60)
    return {"survived": True}


@zeebe_task("batch-crash", timeout="4s", batch=8, bind=True, app=app)
def batch_crash(self: object, job: Job) -> dict[str, object]:
    # The second job run of the test parks long enough for the test to kill -9 this pool process, mid-batch.
    if _redis.incr("test:batch-crash:runs") == 2:
        _redis.rpush("test:batch-crash:running", f"{os.getpid()}:{self.request.id}")  # type: ignore[attr-defined]
        time.sleep(60)
    record("batch-crash", job)
    return {"survived": True}


@zeebe_task("quick", app=app)
def quick(n: int = 0) -> dict[str, object]:
    return {"doubled": n * 2}


@zeebe_task("pipelined", app=app)
def pipelined(n: int = 0) -> dict[str, object]:
    return {"tripled": n * 3}
