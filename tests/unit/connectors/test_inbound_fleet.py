"""Inbound connectors on the fleet: the activation job stores the activation in the real Redis and schedules
its run; runs are token-checked, locked, rescheduled every cycle, end at max_age, and publish one message
(with TTL and message id) to the engine. The activation jobs are real jobs on the engine."""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from prometheus_client import REGISTRY

from tests.unit.engine_jobs import EngineJobs
from zeebe_celery import InboundConnector, worker
from zeebe_celery.config import BridgeSettings, ZeebeSettings
from zeebe_celery.connectors import fleet
from zeebe_celery.connectors.activations import Activation, ActivationStore
from zeebe_celery.connectors.inbound import ACTIVATE_JOB_TYPE, run_loop
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.errors import ConfigurationError
from zeebe_celery.gateway.client import ZeebeClient

from .conftest import payload

OUTCOMES: dict[str, list[Any]] = {}


@pytest.fixture
def inbound_app(
    engine: ZeebeEngine, redis_url: str, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Celery]:
    """An app on the real Redis broker whose inbound runs publish to the engine."""
    monkeypatch.setenv("ZEEBE_ADDRESS", engine.address)
    monkeypatch.setenv("ZEEBE_CELERY_REDIS_URL", redis_url)
    app = Celery("inbound-tests", broker=redis_url, set_as_current=False)
    yield app
    for key, (store, client, _) in list(fleet._resources.items()):
        if key[1] == id(app):
            store.close()
            client.close()
            del fleet._resources[key]


@pytest.fixture
def store(redis_url: str) -> Iterator[ActivationStore]:
    found = ActivationStore.from_url(redis_url)
    yield found
    found.close()


def connector(app: Celery, name: str, *, cycle: float = 5, max_age: float = 3600) -> type[InboundConnector]:
    """An inbound connector whose loop returns the next of ``OUTCOMES[name]`` (raising exceptions)."""
    OUTCOMES[name] = []

    async def loop(self: Any) -> dict[str, Any] | None:
        outcome = OUTCOMES[name].pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return None if outcome is None else {**outcome, "threshold": self.threshold}

    qualname = f"Scripted_{name}"
    config = type("ConnectorConfig", (), {"name": name, "cycle": cycle, "max_age": max_age, "app": app})
    config.__qualname__ = f"{qualname}.ConnectorConfig"
    namespace = {
        "__module__": __name__,
        "__qualname__": qualname,
        "__annotations__": {"threshold": int},
        "threshold": 0,
        "loop": loop,
        "ConnectorConfig": config,
    }
    return type(qualname, (InboundConnector,), namespace)


def queued_runs(redis_url: str) -> list[dict[str, Any]]:
    raw = redis.Redis.from_url(redis_url)
    try:
        return [json.loads(m) for m in raw.lrange("zeebe._activate_inbound_connector", 0, -1)]
    finally:
        raw.close()


def activate(app: Celery, jobs: EngineJobs, name: str, *, correlation_key: str, **variables: Any) -> tuple[str, int]:
    """Run the activation task on a real activation job whose task header names connector ``name``;
    return its outcome and the job's key."""
    task = app.tasks[fleet.ACTIVATE_TASK]
    job = payload(jobs, ACTIVATE_JOB_TYPE, {"correlation_key": correlation_key, **variables}, headers={"name": name})
    return str(task.run(job)), job["key"]


def stored_activation(
    app: Celery, jobs: EngineJobs, store: ActivationStore, name: str, *, correlation_key: str, **variables: Any
) -> Activation:
    """Run the activation task as :func:`activate` does; the activation it stored."""
    _, key = activate(app, jobs, name, correlation_key=correlation_key, **variables)
    activation = store.get(f"{name}:{key}")
    assert activation is not None
    return activation


def message_variables(engine: ZeebeEngine, key: int) -> dict[str, Any]:
    """The variables of the message the engine holds under ``key``."""
    with engine.runtime.lock:
        return dict(engine.runtime.messages[key].variables)


@pytest.fixture
def name() -> str:
    return f"feed_{uuid.uuid4().hex[:8]}"


def test_the_activation_job_stores_the_activation_and_completes_at_once(
    inbound_app: Celery, jobs: EngineJobs, store: ActivationStore, name: str, redis_url: str
) -> None:
    connector(inbound_app, name)

    outcome, key = activate(inbound_app, jobs, name, correlation_key="order-1", threshold="5")

    assert outcome == "completed"
    activation = store.get(f"{name}:{key}")
    assert activation is not None
    assert (activation.correlation_key, activation.message_name, activation.inputs) == (
        "order-1",
        name,
        {"threshold": 5},
    )
    assert jobs.completed_variables(key) == {}
    runs = [m for m in queued_runs(redis_url) if m["headers"]["task"] == fleet.RUN_TASK]
    assert any(m["headers"]["argsrepr"] == repr((activation.id, activation.token)) for m in runs)


def test_an_unknown_connector_name_raises_an_incident(inbound_app: Celery, jobs: EngineJobs, name: str) -> None:
    connector(inbound_app, name)

    outcome, key = activate(inbound_app, jobs, f"{name}-nope", correlation_key="k")

    assert outcome == "incident"
    assert "no inbound connector named" in jobs.incident(key)["errorMessage"]


def test_a_run_waits_a_cycle_then_publishes_once_with_ttl_and_message_id(
    inbound_app: Celery, engine: ZeebeEngine, jobs: EngineJobs, store: ActivationStore, name: str
) -> None:
    connector(inbound_app, name)
    activation = stored_activation(inbound_app, jobs, store, name, correlation_key="order-2", threshold=7)
    OUTCOMES[name] += [None, {"random_number": 42}]

    assert fleet.run_activation(inbound_app, activation.id, activation.token) == "waiting"
    moved = store.get(activation.id)
    assert moved is not None
    assert moved.token != activation.token
    assert fleet.run_activation(inbound_app, activation.id, activation.token) == "stale"
    assert fleet.run_activation(inbound_app, moved.id, moved.token) == "published"

    (published,) = engine.records.find("MESSAGE", "PUBLISHED", name=name)
    message = published["value"]
    assert (message["correlationKey"], message["messageId"], message["timeToLive"]) == (
        "order-2",
        activation.id,
        3_600_000,
    )
    assert message_variables(engine, published["key"]) == {"random_number": 42, "threshold": 7}
    assert store.get(activation.id) is None
    assert fleet.run_activation(inbound_app, moved.id, moved.token) == "gone"


def test_a_message_zeebe_already_holds_counts_as_published(
    inbound_app: Celery, engine: ZeebeEngine, jobs: EngineJobs, store: ActivationStore, name: str, client: ZeebeClient
) -> None:
    connector(inbound_app, name)
    activation = stored_activation(inbound_app, jobs, store, name, correlation_key="k")
    OUTCOMES[name].append({"n": 1})
    # A run that published, then died before it could drop the activation: Zeebe holds the message.
    client.publish_message(name, correlation_key="k", variables={"n": 0}, time_to_live=60, message_id=activation.id)

    assert fleet.run_activation(inbound_app, activation.id, activation.token) == "published"
    assert store.get(activation.id) is None
    (held,) = engine.records.find("MESSAGE", "PUBLISHED", messageId=activation.id)
    assert message_variables(engine, held["key"]) == {"n": 0}


def test_a_run_another_worker_holds_does_nothing(
    inbound_app: Celery, jobs: EngineJobs, store: ActivationStore, name: str
) -> None:
    connector(inbound_app, name)
    activation = stored_activation(inbound_app, jobs, store, name, correlation_key="k")
    held = store.lock(activation.id, lease=30)
    assert held is not None

    assert fleet.run_activation(inbound_app, activation.id, activation.token) == "busy"
    store.unlock(activation.id, held)
    assert OUTCOMES[name] == []  # loop() never ran


def test_a_failing_loop_is_logged_counted_and_runs_again_next_cycle(
    inbound_app: Celery, jobs: EngineJobs, store: ActivationStore, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    connector(inbound_app, name)
    activation = stored_activation(inbound_app, jobs, store, name, correlation_key="k")
    OUTCOMES[name].append(RuntimeError("feed down"))
    before = REGISTRY.get_sample_value("zeebe_celery_inbound_loop_failures_total", {"connector": name}) or 0.0

    assert fleet.run_activation(inbound_app, activation.id, activation.token) == "waiting"

    after = REGISTRY.get_sample_value("zeebe_celery_inbound_loop_failures_total", {"connector": name})
    assert after == before + 1
    assert any(activation.id in r.getMessage() and r.exc_info for r in caplog.records)
    assert store.get(activation.id) is not None


def test_an_activation_past_its_max_age_ends_and_is_logged_at_error(
    inbound_app: Celery, jobs: EngineJobs, store: ActivationStore, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    connector(inbound_app, name, max_age=60)
    activation = stored_activation(inbound_app, jobs, store, name, correlation_key="k")
    activation.created_at -= 61
    store.save(activation)

    with caplog.at_level(logging.ERROR):
        assert fleet.run_activation(inbound_app, activation.id, activation.token) == "expired"

    assert store.get(activation.id) is None
    assert any(r.levelno == logging.ERROR and activation.id in r.getMessage() for r in caplog.records)


def test_a_starting_worker_reschedules_runs_that_were_lost(
    inbound_app: Celery, jobs: EngineJobs, store: ActivationStore, name: str, redis_url: str
) -> None:
    connector(inbound_app, name, cycle=1)
    _, key = activate(inbound_app, jobs, name, correlation_key="k")
    lost = store.get(f"{name}:{key}")
    assert lost is not None
    lost.due_at -= 10  # its run message died with a killed worker
    store.save(lost)

    assert fleet.recover(inbound_app) >= 1

    fresh = store.get(lost.id)
    assert fresh is not None
    assert fresh.token != lost.token
    runs = [m["headers"]["argsrepr"] for m in queued_runs(redis_url) if m["headers"]["task"] == fleet.RUN_TASK]
    assert repr((fresh.id, fresh.token)) in runs
    assert fleet.run_activation(inbound_app, lost.id, lost.token) == "stale"


def test_a_loop_whose_dict_is_not_json_is_counted_and_runs_again_next_cycle(
    inbound_app: Celery, engine: ZeebeEngine, jobs: EngineJobs, store: ActivationStore, name: str
) -> None:
    connector(inbound_app, name)
    activation = stored_activation(inbound_app, jobs, store, name, correlation_key="k")
    OUTCOMES[name] += [{"at": datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC)}, {"n": 1}]
    before = REGISTRY.get_sample_value("zeebe_celery_inbound_loop_failures_total", {"connector": name}) or 0.0

    assert fleet.run_activation(inbound_app, activation.id, activation.token) == "waiting"
    after = REGISTRY.get_sample_value("zeebe_celery_inbound_loop_failures_total", {"connector": name})
    assert after == before + 1
    moved = store.get(activation.id)
    assert moved is not None
    assert fleet.run_activation(inbound_app, moved.id, moved.token) == "published"
    (published,) = engine.records.find("MESSAGE", "PUBLISHED", name=name)
    assert message_variables(engine, published["key"]) == {"n": 1, "threshold": 0}


def test_a_publish_that_fails_in_any_way_keeps_the_activation_for_the_next_cycle(
    inbound_app: Celery, jobs: EngineJobs, store: ActivationStore, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector(inbound_app, name)
    activation = stored_activation(inbound_app, jobs, store, name, correlation_key="k")
    OUTCOMES[name].append({"n": 1})
    _, client, _ = fleet.resources(inbound_app)

    def closed(*_: Any, **__: Any) -> None:
        raise RuntimeError("Cannot invoke RPC on closed channel!")

    monkeypatch.setattr(client, "publish_message", closed)

    assert fleet.run_activation(inbound_app, activation.id, activation.token) == "waiting"
    moved = store.get(activation.id)
    assert moved is not None
    assert moved.token != activation.token


def queued(redis_url: str, task: str) -> list[str]:
    """The argument lists of the queued messages of ``task``, as Celery prints them."""
    return [m["headers"]["argsrepr"] for m in queued_runs(redis_url) if m["headers"]["task"] == task]


def test_an_activation_whose_first_run_could_not_be_sent_is_scheduled_when_its_job_runs_again(
    inbound_app: Celery, jobs: EngineJobs, store: ActivationStore, name: str, redis_url: str
) -> None:
    connector(inbound_app, name)
    task = inbound_app.tasks[fleet.ACTIVATE_TASK]
    job = payload(jobs, ACTIVATE_JOB_TYPE, {"correlation_key": "k"}, headers={"name": name})
    send_task = inbound_app.send_task

    def broker_down(*_: Any, **__: Any) -> None:
        raise ConnectionError("broker down")

    inbound_app.send_task = broker_down  # type: ignore[method-assign]
    try:
        assert task.run(job) == "failed"
    finally:
        inbound_app.send_task = send_task  # type: ignore[method-assign]
    stored = store.get(f"{name}:{job['key']}")
    assert stored is not None
    assert repr((stored.id, stored.token)) not in queued(redis_url, fleet.RUN_TASK)

    task.run(job)  # Zeebe hands the failed job out again

    current = store.get(stored.id)
    assert current is not None
    assert repr((current.id, current.token)) in queued(redis_url, fleet.RUN_TASK)


def test_the_current_run_of_an_activation_another_run_holds_is_sent_again_a_cycle_later(
    inbound_app: Celery, jobs: EngineJobs, store: ActivationStore, name: str, redis_url: str
) -> None:
    connector(inbound_app, name)
    activation = stored_activation(inbound_app, jobs, store, name, correlation_key="k")
    held = store.lock(activation.id, lease=30)
    assert held is not None
    before = queued(redis_url, fleet.RUN_TASK).count(repr((activation.id, activation.token)))

    assert fleet.run_activation(inbound_app, activation.id, activation.token) == "busy"
    assert fleet.run_activation(inbound_app, activation.id, "stale-token") == "busy"
    store.unlock(activation.id, held)

    assert queued(redis_url, fleet.RUN_TASK).count(repr((activation.id, activation.token))) == before + 1
    assert repr((activation.id, "stale-token")) not in queued(redis_url, fleet.RUN_TASK)


def test_a_chain_of_sweeps_reschedules_runs_that_were_lost_and_a_newer_chain_supersedes_it(
    inbound_app: Celery, jobs: EngineJobs, store: ActivationStore, name: str, redis_url: str
) -> None:
    connector(inbound_app, name, cycle=1)
    _, key = activate(inbound_app, jobs, name, correlation_key="k")
    lost = store.get(f"{name}:{key}")
    assert lost is not None
    lost.due_at -= 10  # its run was saved, but the message carrying its token was never sent
    store.save(lost)
    chain = fleet.start_sweeps(inbound_app)
    assert repr((chain,)) in queued(redis_url, fleet.SWEEP_TASK)

    assert fleet.sweep(inbound_app, chain) == "swept"

    fresh = store.get(lost.id)
    assert fresh is not None
    assert fresh.token != lost.token
    assert repr((fresh.id, fresh.token)) in queued(redis_url, fleet.RUN_TASK)
    assert queued(redis_url, fleet.SWEEP_TASK).count(repr((chain,))) == 2  # it sent the next sweep
    newer = fleet.start_sweeps(inbound_app)
    assert fleet.sweep(inbound_app, chain) == "stale"
    assert queued(redis_url, fleet.SWEEP_TASK).count(repr((chain,))) == 2
    assert fleet.sweep(inbound_app, newer) == "swept"


def test_inbound_runs_use_the_settings_given_to_worker_configure(
    engine: ZeebeEngine, jobs: EngineJobs, redis_url: str, clean_env: Path, name: str
) -> None:
    app = Celery("configured-inbound", set_as_current=False)  # no broker, nothing in the environment
    worker.configure(app, zeebe=ZeebeSettings(address=engine.address), bridge=BridgeSettings(redis_url=redis_url))
    try:
        connector(app, name)
        store, client, bridge = fleet.resources(app)

        assert client.settings.gateway_address == engine.address
        assert bridge.redis_url == redis_url
        _, key = activate(app, jobs, name, correlation_key="k")
        assert store.get(f"{name}:{key}") is not None
    finally:
        for found in [k for k in fleet._resources if k[1] == id(app)]:
            store, client, _ = fleet._resources.pop(found)
            store.close()
            client.close()
        worker.close_contexts(app)


def test_inbound_runs_need_a_redis(clean_env: Path) -> None:
    app = Celery("amqp-inbound", broker="amqp://127.0.0.1//", set_as_current=False)

    with pytest.raises(ConfigurationError, match="ZEEBE_CELERY_REDIS_URL"):
        fleet.resources(app)


def test_a_sync_loop_runs_in_a_thread_under_its_timeout(name: str) -> None:
    release = threading.Event()

    class Stuck(InboundConnector):
        def loop(self) -> dict[str, Any] | None:  # type: ignore[override]
            release.wait(10)
            return None

        class ConnectorConfig:
            name = f"{name}_stuck"
            cycle = 1
            timeout = 0.1
            app = Celery("stuck-inbound", set_as_current=False)

    activation = Activation(
        id=f"{name}:1",
        connector=Stuck.connector_spec.name,
        correlation_key="k",
        message_name="m",
        inputs={},
        created_at=0,
        due_at=0,
    )

    async def one_run() -> tuple[Any, bool]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        try:
            outcome = await asyncio.wait_for(run_loop(Stuck, activation), 5)
        finally:
            ticker.cancel()
            release.set()
        return outcome, ticks > 1

    before = REGISTRY.get_sample_value(
        "zeebe_celery_inbound_loop_failures_total", {"connector": Stuck.connector_spec.name}
    )
    outcome, loop_was_free = asyncio.run(one_run())

    assert outcome is None
    assert loop_was_free  # the event loop went on while loop() blocked
    after = REGISTRY.get_sample_value(
        "zeebe_celery_inbound_loop_failures_total", {"connector": Stuck.connector_spec.name}
    )
    assert after == (before or 0.0) + 1
