"""CamundaRuntime: the connectors in one asyncio process over the fake gateway, with no Celery or Redis."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from pydantic import BaseModel

from zeebe_celery import CamundaRuntime, InboundConnector, OutboundConnector, RunConfig
from zeebe_celery.config import ZeebeSettings
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.gateway.retry import RetryPolicy
from zeebe_celery.testing.fake_gateway import FakeGateway, make_job

# Connectors of their own app: as shared tasks they would become tasks of every app later tests create.
RUNTIME_APP = Celery("runtime-tests", set_as_current=False)
STARTED = threading.Event()
RELEASE = threading.Event()


class Greeting(BaseModel):
    text: str


class Greeter(OutboundConnector):
    name: str

    async def run(self, config: RunConfig) -> Greeting:
        return Greeting(text=f"hello {self.name}")

    class ConnectorConfig:
        name = "Greeter"
        type = "runtime-greet"
        timeout = 30
        app = RUNTIME_APP


class SlowSync(OutboundConnector):
    def run(self, config: RunConfig) -> int:
        STARTED.set()
        RELEASE.wait(10)
        return 1

    class ConnectorConfig:
        name = "SlowSync"
        type = "runtime-slow"
        app = RUNTIME_APP


class Ticker(InboundConnector):
    start: int = 0

    async def loop(self) -> dict[str, Any] | None:
        Ticker.seen += 1
        return {"ticked": self.start + Ticker.seen} if Ticker.seen >= 2 else None

    class ConnectorConfig:
        name = "runtime_ticker"
        cycle = 0.05
        app = RUNTIME_APP


Ticker.seen = 0  # type: ignore[attr-defined]


@pytest.fixture
def zeebe(fake: FakeGateway, clean_env: Path) -> Iterator[ZeebeClient]:
    with ZeebeClient(
        ZeebeSettings(address=fake.address), retry=RetryPolicy(initial=0.001, maximum=0.01, budget=2)
    ) as client:
        yield client


def running(runtime: CamundaRuntime) -> threading.Thread:
    thread = threading.Thread(target=runtime.start, daemon=True)
    thread.start()
    assert runtime.wait_ready(5)
    return thread


def test_the_runtime_runs_an_outbound_connector_and_reports_its_result(fake: FakeGateway, zeebe: ZeebeClient) -> None:
    fake.add_jobs(
        "runtime-greet",
        [make_job(11, "runtime-greet", variables={"name": "ada"}, custom_headers={"resultVariable": "g"})],
    )
    runtime = CamundaRuntime(outbound_connectors=[Greeter], client=zeebe, poll_timeout=0.2)

    thread = running(runtime)
    fake.wait_for("CompleteJob")
    runtime.stop()
    thread.join(5)

    assert not thread.is_alive()
    (complete,) = fake.calls_to("CompleteJob")
    assert json.loads(complete.request.variables) == {"g": {"text": "hello ada"}}
    activation = fake.calls_to("ActivateJobs")[0].request
    assert (activation.type, activation.timeout, list(activation.fetchVariable)) == ("runtime-greet", 30_000, ["name"])


def test_the_runtime_never_asks_for_more_jobs_than_it_can_run_and_drains_on_stop(
    fake: FakeGateway, zeebe: ZeebeClient
) -> None:
    STARTED.clear()
    RELEASE.clear()
    fake.add_jobs("runtime-slow", [make_job(k, "runtime-slow") for k in (1, 2, 3)])
    runtime = CamundaRuntime(outbound_connectors=[SlowSync], client=zeebe, max_jobs=2, poll_timeout=0.2)

    thread = running(runtime)
    assert STARTED.wait(5)
    runtime.stop()
    thread.join(0.5)
    assert thread.is_alive()  # it drains the jobs it holds before returning
    RELEASE.set()
    thread.join(5)

    assert not thread.is_alive()
    assert all(c.request.maxJobsToActivate <= 2 for c in fake.calls_to("ActivateJobs"))
    assert sorted(c.request.jobKey for c in fake.calls_to("CompleteJob")) == [1, 2]


def test_the_runtime_runs_inbound_loops_and_publishes_one_message(fake: FakeGateway, zeebe: ZeebeClient) -> None:
    Ticker.seen = 0  # type: ignore[attr-defined]
    key = f"k-{uuid.uuid4().hex[:6]}"
    fake.add_jobs(
        "_activate_inbound_connector",
        [
            make_job(
                5,
                "_activate_inbound_connector",
                custom_headers={"name": "runtime_ticker"},
                variables={"correlation_key": key, "start": 10},
            )
        ],
    )
    runtime = CamundaRuntime(inbound_connector=[Ticker], client=zeebe, poll_timeout=0.2)

    thread = running(runtime)
    fake.wait_for("PublishMessage")
    runtime.stop()
    thread.join(5)

    assert not thread.is_alive()
    assert [c.request.jobKey for c in fake.calls_to("CompleteJob")] == [5]
    (publish,) = fake.calls_to("PublishMessage")
    assert (publish.request.name, publish.request.correlationKey) == ("runtime_ticker", key)
    assert json.loads(publish.request.variables) == {"ticked": 12}
    assert publish.request.messageId == "runtime_ticker:5"
    assert publish.request.timeToLive == 3_600_000
