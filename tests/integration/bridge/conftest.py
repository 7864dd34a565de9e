"""The bridge lane: real prefork Celery workers and pollers on the session's Zeebe and a Redis of their own.

A test reads the records the engine exported (incidents with their messages, completed instances) through
the engine's inspection API, the way an operator reads them in Operate. Those tests are marked
``engine_inspection`` and are deselected when the suite runs against a Zeebe of the user's own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from zeebe_celery.config import BridgeSettings, ZeebeSettings
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.records import RecordLog
from zeebe_celery.flow import InflightStore
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.poller import Poller
from zeebe_celery.stack.fleet import CeleryWorker, stack_env
from zeebe_celery.stack.redis import RedisServer

HERE = Path(__file__).resolve().parent
APP = "bridge_app"
JOB_TYPES = (
    "sum-numbers",
    "greet-customer",
    "check-stock",
    "flaky",
    "always-fails",
    "slow-beyond-timeout",
    "ignores-soft-limit",
    "slow-work",
    "crash-once",
    "batch-crash",
    "quick",
)
QUEUES = [f"zeebe.{t}" for t in JOB_TYPES]


class EngineRecords:
    """The records the engine exported: what Operate would show a human."""

    def __init__(self, log: RecordLog) -> None:
        self.log = log

    def find(self, value_type: str, intent: str, **value: Any) -> list[dict[str, Any]]:
        return self.log.find(value_type, intent, **value)

    def wait_for(
        self, value_type: str, intent: str, *, count: int = 1, within: float = 30.0, **value: Any
    ) -> list[dict[str, Any]]:
        return self.log.wait_for(value_type, intent, count=count, within=within, **value)

    def completed_instances(self, process_id: str) -> set[int]:
        return {
            r["value"]["processInstanceKey"]
            for r in self.find(
                "PROCESS_INSTANCE", "ELEMENT_COMPLETED", bpmnProcessId=process_id, bpmnElementType="PROCESS"
            )
        }


@contextmanager
def prefork_pair(queues: Sequence[str], env: Mapping[str, str]) -> Iterator[list[CeleryWorker]]:
    """Two prefork workers of the test app (concurrency 4) consuming ``queues``, started side by side."""
    workers = [CeleryWorker(APP, queues, env=env, concurrency=4, cwd=HERE) for _ in range(2)]
    for worker in workers:
        worker.start(wait=False)
    try:
        for worker in workers:
            worker.wait_ready()
        yield workers
    finally:
        for worker in workers:
            worker.cleanup()


@pytest.fixture(scope="package")
def bridge_redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="package")
def bridge_env(zeebe_address: str, bridge_redis: RedisServer) -> dict[str, str]:
    return stack_env(zeebe_address=zeebe_address, redis_url=bridge_redis.url)


@pytest.fixture(scope="package")
def fleet(bridge_env: dict[str, str]) -> Iterator[list[CeleryWorker]]:
    """Two Celery workers with the prefork pool, consuming every queue of the test app."""
    with prefork_pair(QUEUES, bridge_env) as workers:
        yield workers


@pytest.fixture
def records(zeebe_engine: ZeebeEngine) -> EngineRecords:
    return EngineRecords(zeebe_engine.records)


@pytest.fixture
def store(bridge_redis: RedisServer) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(bridge_redis.url)
    yield connection
    connection.close()


@pytest.fixture
def bridge_app_module(bridge_redis: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(HERE))
    import bridge_app

    bridge_app.app.conf.broker_url = bridge_redis.url
    return bridge_app


PollerFactory = Callable[..., Poller]


@pytest.fixture
def start_poller(bridge_app_module: Any, zeebe_address: str, bridge_redis: RedisServer) -> Iterator[PollerFactory]:
    """Starts in-process pollers on the test app for the given types; stops them at the end."""
    yield from poller_starter(bridge_app_module.app, zeebe_address, bridge_redis.url, bridge_redis.url)


def poller_starter(app: Any, zeebe_address: str, broker_url: str, redis_url: str) -> Iterator[PollerFactory]:
    """For a fixture: yields a function that starts in-process pollers of ``app`` for the given types,
    publishing to ``broker_url`` with flow control on ``redis_url``; stops them once the fixture resumes."""
    started: list[Poller] = []

    def start(types: Sequence[str], **bridge_options: Any) -> Poller:
        bridge = BridgeSettings(broker_url=broker_url, redis_url=redis_url, poll_timeout=5, **bridge_options)
        poller = Poller(
            app,
            client=ZeebeClient(ZeebeSettings(address=zeebe_address)),
            bridge=bridge,
            inflight=InflightStore.from_url(redis_url),
            types=types,
        )
        poller.start()
        started.append(poller)
        return poller

    yield start
    for poller in started:
        poller.stop()
        poller.client.close()


def deploy_one_task(client: ZeebeClient, unique: Any, job_type: str, *, retries: int = 3) -> str:
    """Deploy tests/bpmn/one_task.bpmn as a process of its own whose task has ``job_type``; returns its id."""
    process_id = unique(f"{job_type}-process")
    renames = {"test-work": job_type, "one-task": process_id}
    text = unique.text("one_task.bpmn", "one-task", "test-work", renames=renames)
    text = re.sub(r'retries="\d+"', f'retries="{retries}"', text)
    client.deploy_resource((f"{process_id}.bpmn", text.encode()))
    return process_id


def run_instances(
    client: ZeebeClient, process_id: str, count: int, *, timeout: float = 90, **variables: Any
) -> list[dict[str, Any]]:
    """Start ``count`` instances with ``n`` = 0..count-1 (and ``variables``); their end variables, in order."""

    def one(i: int) -> dict[str, Any]:
        return client.create_process_instance_with_result(
            process_id, variables={"n": i, **variables}, request_timeout=timeout
        ).variables

    with ThreadPoolExecutor(max_workers=min(count, 32)) as pool:
        return list(pool.map(one, range(count)))
