"""The bridge lane: real prefork Celery workers and pollers on a real Zeebe and Redis of their own.

The broker runs Zeebe's DebugLogExporter, so a test can read the records the engine wrote (incidents with
their messages, completed instances) from its log, the way an operator reads them in Operate.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis

from zeebe_celery.config import BridgeSettings, ZeebeSettings
from zeebe_celery.flow import InflightStore
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.poller import Poller
from zeebe_celery.stack.fleet import CeleryWorker, stack_env
from zeebe_celery.stack.redis import RedisServer
from zeebe_celery.testing.zeebe import ZeebeBroker

HERE = Path(__file__).resolve().parent
APP = "bridge_app"
JOB_TYPES = (
    "sum-numbers",
    "greet-customer",
    "check-stock",
    "flaky",
    "always-fails",
    "slow-beyond-timeout",
    "slow-work",
    "crash-once",
    "quick",
)
QUEUES = [f"zeebe.{t}" for t in JOB_TYPES]
DEBUG_EXPORTER = {
    "ZEEBE_BROKER_EXPORTERS_DEBUG_CLASSNAME": "io.camunda.zeebe.broker.exporter.debug.DebugLogExporter",
    "ZEEBE_BROKER_EXPORTERS_DEBUG_ARGS_LOGLEVEL": "info",
    "ZEEBE_BROKER_EXPORTERS_DEBUG_ARGS_PRETTYPRINT": "false",
}


class EngineRecords:
    """The records the broker's DebugLogExporter logged: what Operate would show a human."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path

    def all(self) -> Iterator[dict[str, Any]]:
        text = self.log_path.read_text(errors="replace")
        for line in text.splitlines():
            start = line.find('{"')
            if start < 0 or '"valueType"' not in line:
                continue
            try:
                yield json.loads(line[start:])
            except json.JSONDecodeError:
                continue

    def find(self, value_type: str, intent: str, **value: Any) -> list[dict[str, Any]]:
        return [
            r
            for r in self.all()
            if r.get("valueType") == value_type
            and r.get("intent") == intent
            and all(r.get("value", {}).get(k) == v for k, v in value.items())
        ]

    def wait_for(
        self, value_type: str, intent: str, *, count: int = 1, within: float = 30.0, **value: Any
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within
        while True:
            found = self.find(value_type, intent, **value)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.25)

    def completed_instances(self, process_id: str) -> set[int]:
        return {
            r["value"]["processInstanceKey"]
            for r in self.find(
                "PROCESS_INSTANCE", "ELEMENT_COMPLETED", bpmnProcessId=process_id, bpmnElementType="PROCESS"
            )
        }


@pytest.fixture(scope="package")
def bridge_broker() -> Iterator[ZeebeBroker]:
    with ZeebeBroker(env=DEBUG_EXPORTER) as broker:
        yield broker


@pytest.fixture(scope="package")
def bridge_redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="package")
def bridge_env(bridge_broker: ZeebeBroker, bridge_redis: RedisServer) -> dict[str, str]:
    return stack_env(zeebe_address=bridge_broker.address, redis_url=bridge_redis.url)


@pytest.fixture(scope="package")
def fleet(bridge_env: dict[str, str]) -> Iterator[list[CeleryWorker]]:
    """Two Celery workers with the prefork pool, consuming every queue of the test app."""
    workers = [CeleryWorker(APP, QUEUES, env=bridge_env, concurrency=4, cwd=HERE) for _ in range(2)]
    for worker in workers:
        worker.start(wait=False)
    try:
        for worker in workers:
            worker.wait_ready()
        yield workers
    finally:
        for worker in workers:
            worker.cleanup()


@pytest.fixture
def records(bridge_broker: ZeebeBroker) -> EngineRecords:
    assert bridge_broker.log_path is not None
    return EngineRecords(bridge_broker.log_path)


@pytest.fixture
def client(bridge_broker: ZeebeBroker) -> Iterator[ZeebeClient]:
    with ZeebeClient(ZeebeSettings(address=bridge_broker.address)) as zeebe:
        yield zeebe


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
def start_poller(
    bridge_app_module: Any, bridge_broker: ZeebeBroker, bridge_redis: RedisServer
) -> Iterator[PollerFactory]:
    """Starts in-process pollers on the test app for the given types; stops them at the end."""
    started: list[Poller] = []

    def start(types: Sequence[str], **bridge_options: Any) -> Poller:
        bridge = BridgeSettings(
            broker_url=bridge_redis.url, redis_url=bridge_redis.url, poll_timeout=5, **bridge_options
        )
        poller = Poller(
            bridge_app_module.app,
            client=ZeebeClient(ZeebeSettings(address=bridge_broker.address)),
            bridge=bridge,
            inflight=InflightStore.from_url(bridge_redis.url),
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
