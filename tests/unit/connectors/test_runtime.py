"""CamundaRuntime: the connectors in one asyncio process over the engine, with no Celery or Redis. Its jobs
are real jobs of processes deployed for the connectors' types; the assertions read the engine's records."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from celery import Celery
from pydantic import BaseModel

from tests.unit.engine_jobs import EngineJobs
from zeebe_celery import CamundaRuntime, InboundConnector, OutboundConnector, RunConfig
from zeebe_celery.connectors.inbound import ACTIVATE_JOB_TYPE
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.faults import Faults
from zeebe_celery.engine.state import JobState
from zeebe_celery.gateway.client import ZeebeClient

# Job types of this module alone, so no other test's jobs on the shared engine are theirs.
SUFFIX = uuid.uuid4().hex[:8]
GREET = f"runtime-greet-{SUFFIX}"
SLOW = f"runtime-slow-{SUFFIX}"
TICKER = f"runtime_ticker_{SUFFIX}"
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
        type = GREET
        timeout = 30
        app = RUNTIME_APP


class SlowSync(OutboundConnector):
    def run(self, config: RunConfig) -> int:
        STARTED.set()
        RELEASE.wait(10)
        return 1

    class ConnectorConfig:
        name = "SlowSync"
        type = SLOW
        app = RUNTIME_APP


class Ticker(InboundConnector):
    start: int = 0

    async def loop(self) -> dict[str, Any] | None:
        Ticker.seen += 1
        return {"ticked": self.start + Ticker.seen} if Ticker.seen >= 2 else None

    class ConnectorConfig:
        name = TICKER
        cycle = 0.05
        app = RUNTIME_APP


Ticker.seen = 0  # type: ignore[attr-defined]


def running(runtime: CamundaRuntime) -> threading.Thread:
    thread = threading.Thread(target=runtime.start, daemon=True)
    thread.start()
    assert runtime.wait_ready(5)
    return thread


def completed_keys(engine: ZeebeEngine, job_type: str) -> list[int]:
    return sorted(r["key"] for r in engine.records.find("JOB", "COMPLETED", type=job_type))


def test_the_runtime_runs_an_outbound_connector_and_reports_its_result(
    engine: ZeebeEngine, faults: Faults, jobs: EngineJobs, client: ZeebeClient
) -> None:
    jobs.deploy(GREET, headers={"resultVariable": "g"})
    (instance,) = jobs.create(GREET, variables={"name": "ada"})
    key = jobs.job_of(instance)
    runtime = CamundaRuntime(outbound_connectors=[Greeter], client=client, poll_timeout=0.2)

    thread = running(runtime)
    engine.records.wait_for("JOB", "COMPLETED", within=5, type=GREET)
    runtime.stop()
    thread.join(5)

    assert not thread.is_alive()
    assert jobs.completed_variables(key) == {"g": {"text": "hello ada"}}
    activation = faults.calls("ActivateJobs")[0].request
    assert (activation.type, activation.timeout, list(activation.fetchVariable)) == (GREET, 30_000, ["name"])


def test_the_runtime_never_asks_for_more_jobs_than_it_can_run_and_drains_on_stop(
    engine: ZeebeEngine, faults: Faults, jobs: EngineJobs, client: ZeebeClient
) -> None:
    STARTED.clear()
    RELEASE.clear()
    jobs.deploy(SLOW)
    keys = [jobs.job_of(instance) for instance in jobs.create(SLOW, 3)]
    runtime = CamundaRuntime(outbound_connectors=[SlowSync], client=client, max_jobs=2, poll_timeout=0.2)

    thread = running(runtime)
    assert STARTED.wait(5)
    runtime.stop()
    thread.join(0.5)
    assert thread.is_alive()  # it drains the jobs it holds before returning
    RELEASE.set()
    thread.join(5)

    assert not thread.is_alive()
    assert all(c.request.maxJobsToActivate <= 2 for c in faults.calls("ActivateJobs"))
    activated = sorted(
        k for r in engine.records.find("JOB_BATCH", "ACTIVATED", type=SLOW) for k in r["value"]["jobKeys"]
    )
    assert completed_keys(engine, SLOW) == activated == keys[:2]
    assert jobs.state(keys[2]) is JobState.ACTIVATABLE  # never taken: the runtime had no free slot for it


def test_the_runtime_runs_inbound_loops_and_publishes_one_message(
    engine: ZeebeEngine, faults: Faults, jobs: EngineJobs, client: ZeebeClient
) -> None:
    Ticker.seen = 0  # type: ignore[attr-defined]
    key = f"k-{uuid.uuid4().hex[:6]}"
    jobs.deploy(ACTIVATE_JOB_TYPE, headers={"name": TICKER})
    (instance,) = jobs.create(ACTIVATE_JOB_TYPE, variables={"correlation_key": key, "start": 10})
    job_key = jobs.job_of(instance)
    runtime = CamundaRuntime(inbound_connector=[Ticker], client=client, poll_timeout=0.2)

    thread = running(runtime)
    (published,) = engine.records.wait_for("MESSAGE", "PUBLISHED", within=5, name=TICKER)
    runtime.stop()
    thread.join(5)

    assert not thread.is_alive()
    assert [c.request.jobKey for c in faults.calls("CompleteJob")] == [job_key]
    assert jobs.completed_variables(job_key) == {}
    message = published["value"]
    assert (message["correlationKey"], message["messageId"], message["timeToLive"]) == (
        key,
        f"{TICKER}:{job_key}",
        3_600_000,
    )
    (publish,) = faults.calls("PublishMessage")
    assert json.loads(publish.request.variables) == {"ticked": 12}
