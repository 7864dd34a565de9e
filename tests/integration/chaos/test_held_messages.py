"""A Celery worker of a bridge app on Redis takes a message only when a pool process is free to run it: a
message it held back in its own memory would be lost with the worker (kill -9) or when Redis blinks, and its
job would wait out its whole timeout in Zeebe."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import redis
from celery import Celery

from benchmarks.chaos.stack import APP
from benchmarks.procs import REPO
from zeebe_celery.stack.fleet import CeleryWorker, stack_env
from zeebe_celery.stack.redis import RedisServer

pytestmark = pytest.mark.integration

TASK = "benchmarks.chaos.app.work"


def job(key: int, job_type: str) -> dict[str, object]:
    return {
        "key": key,
        "type": job_type,
        "process_instance_key": key,
        "bpmn_process_id": "held",
        "process_definition_version": 1,
        "process_definition_key": 1,
        "element_id": "work",
        "element_instance_key": key,
        "retries": 3,
        "deadline": int((time.time() + 120) * 1000),
        "variables": {"n": key},
    }


def test_a_worker_holds_no_message_beyond_the_one_its_process_runs(redis_server: RedisServer, tmp_path: Path) -> None:
    job_type = f"held-{uuid.uuid4().hex[:8]}"
    queue = f"zeebe.{job_type}"
    env = stack_env(zeebe_address="127.0.0.1:1", redis_url=redis_server.url)
    env.update(CHAOS_TYPE=job_type, CHAOS_WORK="5", CHAOS_JOURNAL=str(tmp_path))
    client = redis.Redis.from_url(redis_server.url)
    sender = Celery("held-sender", broker=redis_server.url, set_as_current=False)
    try:
        with CeleryWorker(APP, [queue], env=env, concurrency=1, cwd=REPO) as worker:
            for key in range(1, 5):
                sender.send_task(TASK, args=[job(key, job_type)], queue=queue)
            deadline = time.monotonic() + 20
            while not list(tmp_path.glob("runs-*.log")):
                assert time.monotonic() < deadline, worker.log()[-3000:]
                time.sleep(0.05)
            time.sleep(1.0)

            # One message runs; the three others are still in Redis, where any worker can take them.
            assert client.llen(queue) == 3
            assert "worker_disable_prefetch turned on" in worker.log()
    finally:
        sender.close()
        client.close()
