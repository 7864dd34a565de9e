"""The poller, one iteration at a time and as a whole: it activates no more than the free capacity, hands
jobs back at once when the broker refuses them, pauses while the broker is down, and refuses an app it
cannot serve. Zeebe is the engine, with real jobs and its fault injection; Redis is real."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from prometheus_client import REGISTRY

from tests.unit.engine_jobs import EngineJobs
from tests.unit.test_dispatch import body, messages
from zeebe_celery.config import BridgeSettings
from zeebe_celery.dispatch import CeleryDispatcher
from zeebe_celery.engine.faults import Faults
from zeebe_celery.engine.state import JobState
from zeebe_celery.errors import BrokerUnavailableError, ConfigurationError, GatewayError
from zeebe_celery.flow import InflightStore
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.job import Job
from zeebe_celery.poller import GIVE_BACK_MESSAGE, Poller
from zeebe_celery.spec import JobTypeSpec, spec_for
from zeebe_celery.task import zeebe_task


@pytest.fixture
def job_type(jobs: EngineJobs) -> str:
    """This test's own job type, with a one-task process deployed for it."""
    return jobs.new_type("charge-card")


@pytest.fixture
def app(redis_url: str) -> Iterator[Celery]:
    app = Celery("poller-tests", broker=redis_url, set_as_current=False)
    yield app
    app.close()


@pytest.fixture
def store(redis_url: str) -> Iterator[InflightStore]:
    store = InflightStore.from_url(redis_url, namespace=f"poller-test-{uuid.uuid4().hex[:8]}")
    yield store
    store.close()


BRIDGE_OPTIONS: dict[str, Any] = {"poll_timeout": "200ms", "max_jobs": 4, "worker_name": "poller-under-test"}


@pytest.fixture
def bridge(clean_env: Path) -> BridgeSettings:
    return BridgeSettings(**BRIDGE_OPTIONS)


def handler_of(app: Celery, job_type: str, **options: Any) -> Any:
    def charge(order_id: str, amount: float) -> None:
        return None

    options.setdefault("name", f"shop.{job_type}")
    return zeebe_task(job_type, app=app, **options)(charge)


def spec_of(app: Celery, job_type: str, **options: Any) -> JobTypeSpec:
    """The settled spec of a new handler of ``job_type``, under the bridge of the ``bridge`` fixture."""
    handler_of(app, job_type, **options)
    return spec_for(f"shop.{job_type}").resolve(BridgeSettings(**BRIDGE_OPTIONS))


class SwitchableDispatcher:
    """The real dispatcher, with a switch that makes the broker refuse batches and fail its ping.

    ``on_refusal`` runs on the jobs of a batch just before the broker refuses it.
    """

    def __init__(self, real: CeleryDispatcher) -> None:
        self.real = real
        self.broker_up = True
        self.published: list[list[int]] = []
        self.on_refusal: Callable[[Sequence[Job]], None] | None = None

    def queue(self, job_type: str) -> str:
        return self.real.queue(job_type)

    def publish(self, job_type: str, jobs: Sequence[Job]) -> None:
        if not self.broker_up:
            if self.on_refusal is not None:
                self.on_refusal(jobs)
            raise ConnectionError("broker refused the batch")
        self.real.publish(job_type, jobs)
        self.published.append([j.key for j in jobs])

    def queue_depth(self, job_type: str) -> int | None:
        return self.real.queue_depth(job_type)

    def ping(self) -> bool:
        return self.broker_up

    def close(self) -> None:
        self.real.close()


PollerFactory = Callable[..., Poller]


@pytest.fixture
def new_poller(
    app: Celery, client: ZeebeClient, bridge: BridgeSettings, store: InflightStore
) -> Iterator[PollerFactory]:
    pollers: list[Poller] = []

    def make(**kwargs: Any) -> Poller:
        kwargs.setdefault("client", client)
        kwargs.setdefault("bridge", bridge)
        kwargs.setdefault("inflight", store)
        poller = Poller(kwargs.pop("app", app), **kwargs)
        pollers.append(poller)
        return poller

    yield make
    for poller in pollers:
        poller.stop(timeout=2)


def switchable(app: Celery, spec: JobTypeSpec, bridge: BridgeSettings) -> SwitchableDispatcher:
    return SwitchableDispatcher(CeleryDispatcher(app, {spec.job_type: spec}, bridge))


def add_jobs(jobs: EngineJobs, job_type: str, numbers: range) -> list[int]:
    """Start an instance per number, whose job carries that order; return the instances' keys."""
    return [jobs.create(job_type, variables={"order_id": f"o-{n}", "amount": n})[0] for n in numbers]


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# -- one iteration -------------------------------------------------------------------------------------


def test_poll_once_publishes_the_activated_jobs_on_the_types_queue(
    app: Celery,
    faults: Faults,
    jobs: EngineJobs,
    bridge: BridgeSettings,
    store: InflightStore,
    raw: redis.Redis,
    job_type: str,
    new_poller: PollerFactory,
) -> None:
    spec = spec_of(app, job_type)
    add_jobs(jobs, job_type, range(1, 4))
    poller = new_poller(dispatcher=switchable(app, spec, bridge))

    assert poller.poll_once(spec) == 3

    assert raw.llen(f"zeebe.{job_type}") == 3
    assert store.in_flight(job_type) == 3


def test_poll_once_activates_at_most_the_free_capacity(
    app: Celery,
    faults: Faults,
    jobs: EngineJobs,
    bridge: BridgeSettings,
    store: InflightStore,
    job_type: str,
    new_poller: PollerFactory,
) -> None:
    spec = spec_of(app, job_type, max_jobs=3)
    held = store.reserve(job_type, want=1, bound=3, hold=30)  # another poller's job
    assert held is not None
    add_jobs(jobs, job_type, range(1, 11))
    poller = new_poller(dispatcher=switchable(app, spec, bridge))

    assert poller.poll_once(spec) == 2

    assert faults.calls("ActivateJobs")[0].request.maxJobsToActivate == 2
    assert jobs.activatable(job_type) == 8
    assert store.in_flight(job_type) == 3


def test_poll_once_without_free_capacity_does_not_activate(
    app: Celery,
    faults: Faults,
    jobs: EngineJobs,
    bridge: BridgeSettings,
    store: InflightStore,
    job_type: str,
    new_poller: PollerFactory,
) -> None:
    spec = spec_of(app, job_type, max_jobs=2)
    store.reserve(job_type, want=2, bound=2, hold=30)
    add_jobs(jobs, job_type, range(1, 3))
    poller = new_poller(dispatcher=switchable(app, spec, bridge))

    assert poller.poll_once(spec) == 0

    assert len(faults.calls("ActivateJobs")) == 0
    assert jobs.activatable(job_type) == 2


def test_a_batched_type_activates_only_with_room_for_a_whole_batch(
    app: Celery,
    faults: Faults,
    jobs: EngineJobs,
    bridge: BridgeSettings,
    store: InflightStore,
    raw: redis.Redis,
    job_type: str,
    new_poller: PollerFactory,
) -> None:
    spec = spec_of(app, job_type, max_jobs=8, batch=4)
    held = store.reserve(job_type, want=5, bound=8, hold=30)  # 3 free: less than a batch
    assert held is not None
    add_jobs(jobs, job_type, range(1, 11))
    poller = new_poller(dispatcher=switchable(app, spec, bridge))

    assert poller.poll_once(spec) == 0
    assert len(faults.calls("ActivateJobs")) == 0

    store.commit(held, [])  # the other poller's slots are free again
    assert poller.poll_once(spec) == 8
    assert store.in_flight(job_type) == 8
    # Two messages of a whole batch each.
    assert [len(body(m)[0][0]) for m in messages(raw, f"zeebe.{job_type}")] == [4, 4]


def test_poll_once_uses_the_bridge_bound_when_the_handler_sets_none(
    app: Celery, faults: Faults, jobs: EngineJobs, bridge: BridgeSettings, job_type: str, new_poller: PollerFactory
) -> None:
    spec = spec_of(app, job_type)
    add_jobs(jobs, job_type, range(1, 11))
    poller = new_poller(dispatcher=switchable(app, spec, bridge))

    assert poller.poll_once(spec) == bridge.max_jobs


def test_activation_asks_for_the_handlers_variables_timeout_and_worker_name(
    app: Celery, faults: Faults, jobs: EngineJobs, bridge: BridgeSettings, job_type: str, new_poller: PollerFactory
) -> None:
    spec = spec_of(app, job_type, timeout="2m")
    poller = new_poller(dispatcher=switchable(app, spec, bridge))

    poller.poll_once(spec)

    request = faults.calls("ActivateJobs")[0].request
    assert list(request.fetchVariable) == ["order_id", "amount"]
    assert request.timeout == 120_000
    assert request.worker == "poller-under-test"
    assert request.requestTimeout == 200


def test_poll_once_with_no_jobs_frees_its_reservation(
    app: Celery,
    faults: Faults,
    jobs: EngineJobs,
    bridge: BridgeSettings,
    store: InflightStore,
    job_type: str,
    new_poller: PollerFactory,
) -> None:
    spec = spec_of(app, job_type)
    poller = new_poller(dispatcher=switchable(app, spec, bridge))

    assert poller.poll_once(spec) == 0

    assert len(faults.calls("ActivateJobs")) == 1
    assert store.in_flight(job_type) == 0


def test_failed_activation_frees_its_reservation(
    app: Celery,
    faults: Faults,
    jobs: EngineJobs,
    bridge: BridgeSettings,
    store: InflightStore,
    job_type: str,
    new_poller: PollerFactory,
) -> None:
    spec = spec_of(app, job_type)
    faults.fail("ActivateJobs", "PERMISSION_DENIED", "not for this tenant")
    poller = new_poller(dispatcher=switchable(app, spec, bridge))

    with pytest.raises(GatewayError, match="not for this tenant"):
        poller.poll_once(spec)

    assert store.in_flight(job_type) == 0


def test_flow_control_store_down_activates_nothing(
    app: Celery, faults: Faults, jobs: EngineJobs, bridge: BridgeSettings, job_type: str, new_poller: PollerFactory
) -> None:
    spec = spec_of(app, job_type)
    add_jobs(jobs, job_type, range(1, 3))
    down = InflightStore.from_url(f"redis://127.0.0.1:{unused_port()}/0")
    poller = new_poller(inflight=down, dispatcher=switchable(app, spec, bridge))

    try:
        with pytest.raises(redis.RedisError):
            poller.poll_once(spec)
    finally:
        down.close()

    assert len(faults.calls("ActivateJobs")) == 0
    assert jobs.activatable(job_type) == 2


# -- broker refuses the batch --------------------------------------------------------------------------


def test_jobs_the_broker_refuses_are_handed_back_at_once_with_retries_unchanged(
    app: Celery,
    faults: Faults,
    jobs: EngineJobs,
    bridge: BridgeSettings,
    store: InflightStore,
    job_type: str,
    new_poller: PollerFactory,
) -> None:
    spec = spec_of(app, job_type)
    dispatcher = switchable(app, spec, bridge)
    dispatcher.broker_up = False
    jobs.deploy(job_type, retries=2)
    add_jobs(jobs, job_type, range(1, 3))
    poller = new_poller(dispatcher=dispatcher)
    before = REGISTRY.get_sample_value("zeebe_celery_jobs_given_back_total", {"type": job_type}) or 0.0

    with pytest.raises(ConnectionError):
        poller.poll_once(spec)

    fails = faults.calls("FailJob")
    keys = jobs.keys_of(job_type)
    assert sorted(f.request.jobKey for f in fails) == keys
    assert {f.request.retries for f in fails} == {2}
    assert [(jobs.state(key), jobs.job_retries(key)) for key in keys] == [(JobState.ACTIVATABLE, 2)] * 2
    assert {f.request.retryBackOff for f in fails} == {0}
    assert all(f.request.errorMessage.startswith(GIVE_BACK_MESSAGE.split("(")[0]) for f in fails)
    assert store.in_flight(job_type) == 0
    assert REGISTRY.get_sample_value("zeebe_celery_jobs_given_back_total", {"type": job_type}) == before + 2


def test_activation_pauses_while_the_broker_is_down_and_resumes_when_it_answers(
    app: Celery,
    faults: Faults,
    jobs: EngineJobs,
    bridge: BridgeSettings,
    raw: redis.Redis,
    job_type: str,
    new_poller: PollerFactory,
) -> None:
    spec = spec_of(app, job_type)
    dispatcher = switchable(app, spec, bridge)
    dispatcher.broker_up = False
    add_jobs(jobs, job_type, range(1, 3))
    poller = new_poller(dispatcher=dispatcher)
    with pytest.raises(ConnectionError):
        poller.poll_once(spec)
    add_jobs(jobs, job_type, range(3, 5))

    with pytest.raises(BrokerUnavailableError):
        poller.poll_once(spec)
    assert len(faults.calls("ActivateJobs")) == 1
    # The two handed back and the two new ones.
    assert jobs.activatable(job_type) == 4

    dispatcher.broker_up = True
    assert poller.poll_once(spec) == 4
    assert [sorted(batch) for batch in dispatcher.published] == [jobs.keys_of(job_type)]
    assert raw.llen(f"zeebe.{job_type}") == 4


def test_hand_back_of_a_job_that_is_already_gone_still_frees_its_slot(
    app: Celery,
    faults: Faults,
    jobs: EngineJobs,
    bridge: BridgeSettings,
    store: InflightStore,
    job_type: str,
    new_poller: PollerFactory,
) -> None:
    spec = spec_of(app, job_type)
    dispatcher = switchable(app, spec, bridge)
    dispatcher.broker_up = False
    add_jobs(jobs, job_type, range(1, 2))
    # Completed elsewhere while the broker refused it, so the hand-back finds it gone (NOT_FOUND).
    dispatcher.on_refusal = lambda refused: [jobs.complete(job.key) for job in refused]
    poller = new_poller(dispatcher=dispatcher)

    with pytest.raises(ConnectionError):
        poller.poll_once(spec)

    assert len(faults.calls("FailJob")) == 1
    assert jobs.keys_of(job_type) == []
    assert store.in_flight(job_type) == 0


# -- lifecycle -----------------------------------------------------------------------------------------


def test_started_poller_publishes_jobs_until_stopped(
    app: Celery, faults: Faults, jobs: EngineJobs, raw: redis.Redis, job_type: str, new_poller: PollerFactory
) -> None:
    handler_of(app, job_type)
    poller = new_poller()
    poller.start()
    add_jobs(jobs, job_type, range(1, 4))

    assert wait_until(lambda: raw.llen(f"zeebe.{job_type}") == 3)
    poller.stop(timeout=3)
    activations = len(faults.calls("ActivateJobs"))
    time.sleep(0.3)

    assert len(faults.calls("ActivateJobs")) == activations

    (message, *_) = [json.loads(m) for m in raw.lrange(f"zeebe.{job_type}", 0, -1)]
    assert message["content-type"] == "application/json"


def test_stop_is_safe_to_call_twice(app: Celery, job_type: str, new_poller: PollerFactory) -> None:
    handler_of(app, job_type)
    poller = new_poller()
    poller.start()

    started = time.monotonic()
    poller.stop(timeout=3)
    poller.stop(timeout=3)

    assert time.monotonic() - started < 3
    assert poller.stopping
    assert f"poll-{job_type}" not in {thread.name for thread in threading.enumerate()}


def test_stop_before_start_is_harmless(new_poller: PollerFactory) -> None:
    poller = new_poller()

    poller.stop()
    poller.stop()

    assert poller.stopping


def test_a_poller_starts_only_once(app: Celery, job_type: str, new_poller: PollerFactory) -> None:
    handler_of(app, job_type)
    poller = new_poller()
    poller.start()

    with pytest.raises(RuntimeError, match="once"):
        poller.start()


def test_start_refuses_an_app_without_zeebe_tasks(app: Celery, new_poller: PollerFactory) -> None:
    @app.task
    def ordinary() -> None:
        return None

    poller = new_poller()

    with pytest.raises(ConfigurationError, match="no @zeebe_task handlers"):
        poller.start()


def test_start_refuses_unknown_types_naming_them(app: Celery, job_type: str, new_poller: PollerFactory) -> None:
    handler_of(app, job_type)
    poller = new_poller(types=[job_type, "no-such-type"])

    with pytest.raises(ConfigurationError) as caught:
        poller.start()

    assert "no-such-type" in str(caught.value)
    assert job_type in str(caught.value)


def test_start_polls_only_the_types_asked_for(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str, new_poller: PollerFactory
) -> None:
    handler_of(app, job_type)
    handler_of(app, f"{job_type}-other")
    poller = new_poller(types=[job_type])

    poller.start()

    assert set(poller.specs) == {job_type}
    assert faults.wait_for_calls("ActivateJobs", within=3) >= 1
    assert {c.request.type for c in faults.calls("ActivateJobs")} == {job_type}


@pytest.mark.parametrize(
    ("setting", "value"),
    [("task_serializer", "pickle"), ("accept_content", ["json", "pickle"])],
    ids=["serializer", "accept-content"],
)
def test_start_refuses_a_pickle_app(
    app: Celery, job_type: str, new_poller: PollerFactory, setting: str, value: object
) -> None:
    handler_of(app, job_type)
    app.conf[setting] = value
    poller = new_poller()

    with pytest.raises(ConfigurationError, match="pickle"):
        poller.start()


def test_a_pushed_job_goes_back_when_the_flow_control_store_is_down(
    app: Celery, faults: Faults, jobs: EngineJobs, bridge: BridgeSettings, job_type: str, new_poller: PollerFactory
) -> None:
    spec = spec_of(app, job_type)
    down = InflightStore.from_url(f"redis://127.0.0.1:{unused_port()}/0")
    poller = new_poller(inflight=down, dispatcher=switchable(app, spec, bridge))
    # Only a job created while the stream is open is pushed to it.
    creator = threading.Thread(target=lambda: (jobs.wait_for_stream(job_type), add_jobs(jobs, job_type, range(1, 2))))
    creator.start()

    try:
        with pytest.raises(redis.RedisError):
            poller._stream_once(spec)
    finally:
        creator.join()
        down.close()

    (give_back,) = faults.calls("FailJob")
    (key,) = jobs.keys_of(job_type)
    assert give_back.request.jobKey == key
    assert give_back.request.retries == 3
    assert "handed back unrun" in give_back.request.errorMessage


# -- the health and metrics port -----------------------------------------------------------------------


def test_the_health_port_binds_loopback_unless_told_otherwise(
    app: Celery, job_type: str, bridge: BridgeSettings, new_poller: PollerFactory
) -> None:
    handler_of(app, job_type)
    assert bridge.http_host == "127.0.0.1"
    poller = new_poller(bridge=bridge.model_copy(update={"http_port": 0}))
    poller.start()
    assert poller.http is not None
    assert poller.http.host == "127.0.0.1"


def test_the_health_port_binds_the_address_it_is_given(
    app: Celery, job_type: str, bridge: BridgeSettings, new_poller: PollerFactory
) -> None:
    handler_of(app, job_type)
    poller = new_poller(bridge=bridge.model_copy(update={"http_port": 0, "http_host": "0.0.0.0"}))  # noqa: S104
    poller.start()
    assert poller.http is not None
    assert poller.http.host == "0.0.0.0"  # noqa: S104
