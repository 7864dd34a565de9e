"""CamundaRuntime: the connectors in one asyncio process over the engine, with no Celery or Redis. Its jobs
are real jobs of processes deployed for the connectors' types; the assertions read the engine's records."""

from __future__ import annotations

import datetime
import json
import os
import threading
import uuid
from typing import Any

from celery import Celery
from pydantic import BaseModel

from tests.unit.engine_jobs import EngineJobs
from zeebe_celery import BpmnError, CamundaRuntime, InboundConnector, OutboundConnector, RunConfig
from zeebe_celery.connectors.inbound import ACTIVATE_JOB_TYPE
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.faults import Faults
from zeebe_celery.engine.state import JobState
from zeebe_celery.gateway.client import PublishedMessage, ZeebeClient
from zeebe_celery.job import Job

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


WHEN = f"runtime-when-{SUFFIX}"
REFUSE = f"runtime-refuse-{SUFFIX}"
FLAKY = f"runtime-flaky-{SUFFIX}"


class When(OutboundConnector):
    def run(self, config: RunConfig) -> dict[str, Any]:
        return {"when": datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC)}

    class ConnectorConfig:
        name = "When"
        type = WHEN
        timeout = 30
        app = RUNTIME_APP


class RefuseWithAClock(OutboundConnector):
    def run(self, config: RunConfig) -> None:
        raise BpmnError("NO", "no", variables={"at": datetime.date(2024, 1, 2)})

    class ConnectorConfig:
        name = "RefuseWithAClock"
        type = REFUSE
        timeout = 30
        app = RUNTIME_APP


class Flaky(OutboundConnector):
    def run(self, config: RunConfig) -> None:
        raise RuntimeError("down")

    class ConnectorConfig:
        name = "Flaky"
        type = FLAKY
        timeout = 30
        retry_backoff = 7
        app = RUNTIME_APP


ECHO = f"runtime-echo-{SUFFIX}"


class Echo(OutboundConnector):
    name: str

    async def run(self, config: RunConfig) -> Greeting:
        return Greeting(text=f"hello {self.name}")

    class ConnectorConfig:
        name = "Echo"
        type = ECHO
        timeout = 30
        app = RUNTIME_APP


def run_until(engine: ZeebeEngine, runtime: CamundaRuntime, intent: str, job_type: str) -> None:
    thread = running(runtime)
    try:
        found = engine.records.wait_for("JOB", intent, within=5, type=job_type)
    finally:
        runtime.stop()
        thread.join(5)
    assert not thread.is_alive()
    assert found, f"no {job_type} job was {intent} within 5s"


def test_a_result_that_is_not_json_raises_an_incident_naming_the_field(
    engine: ZeebeEngine, jobs: EngineJobs, client: ZeebeClient
) -> None:
    jobs.deploy(WHEN, headers={"resultVariable": "r"})
    (instance,) = jobs.create(WHEN)
    key = jobs.job_of(instance)

    run_until(engine, CamundaRuntime([When], client=client, poll_timeout=0.2), "FAILED", WHEN)

    (failure,) = jobs.failures(key)
    assert failure["retries"] == 0
    assert failure["errorMessage"].startswith("invalid output:")
    assert "'r'" in failure["errorMessage"]
    assert jobs.incident(key)["errorMessage"] == failure["errorMessage"]


def test_bpmn_error_variables_that_are_not_json_raise_an_incident(
    engine: ZeebeEngine, jobs: EngineJobs, client: ZeebeClient
) -> None:
    jobs.deploy(REFUSE)
    (instance,) = jobs.create(REFUSE)
    key = jobs.job_of(instance)

    run_until(engine, CamundaRuntime([RefuseWithAClock], client=client, poll_timeout=0.2), "FAILED", REFUSE)

    (failure,) = jobs.failures(key)
    assert failure["retries"] == 0
    assert failure["errorMessage"].startswith("invalid BpmnError 'NO'")


def test_a_report_the_gateway_can_never_take_becomes_an_incident(
    engine: ZeebeEngine, faults: Faults, jobs: EngineJobs, client: ZeebeClient
) -> None:
    jobs.deploy(ECHO, headers={"resultVariable": "g"})
    (instance,) = jobs.create(ECHO, variables={"name": "ada"})
    key = jobs.job_of(instance)
    faults.fail("CompleteJob", "RESOURCE_EXHAUSTED", "message larger than max (4194304)")

    run_until(engine, CamundaRuntime([Echo], client=client, poll_timeout=0.2), "FAILED", ECHO)

    (failure,) = jobs.failures(key)
    assert failure["retries"] == 0
    assert failure["errorMessage"].startswith("could not report the job as completed")


def test_a_failing_connector_is_failed_with_its_retry_backoff(
    engine: ZeebeEngine, faults: Faults, jobs: EngineJobs, client: ZeebeClient
) -> None:
    jobs.deploy(FLAKY)
    (instance,) = jobs.create(FLAKY)
    key = jobs.job_of(instance)

    run_until(engine, CamundaRuntime([Flaky], client=client, poll_timeout=0.2), "FAILED", FLAKY)

    (fail,) = faults.calls("FailJob")
    assert (fail.request.jobKey, fail.request.retries, fail.request.retryBackOff) == (key, 2, 7000)
    assert fail.request.errorMessage == "RuntimeError: down"


CLOCK = f"runtime_clock_{SUFFIX}"


class Clock(InboundConnector):
    async def loop(self) -> dict[str, Any] | None:
        Clock.seen += 1
        if Clock.seen == 1:
            return {"at": datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC)}
        return {"at": "2024-01-02"}

    class ConnectorConfig:
        name = CLOCK
        cycle = 0.05
        app = RUNTIME_APP


Clock.seen = 0  # type: ignore[attr-defined]


class PublishFailsOnce(ZeebeClient):
    """A client whose first publish fails as a closed channel does, with an error that is no GatewayError."""

    failed = False

    def publish_message(self, *args: Any, **kwargs: Any) -> PublishedMessage:
        if not self.failed:
            self.failed = True
            raise RuntimeError("Cannot invoke RPC on closed channel!")
        return super().publish_message(*args, **kwargs)


def test_an_inbound_loop_whose_dict_is_not_json_runs_again_and_a_failed_publish_is_retried(
    engine: ZeebeEngine, faults: Faults, jobs: EngineJobs, client: ZeebeClient
) -> None:
    Clock.seen = 0  # type: ignore[attr-defined]
    jobs.deploy(ACTIVATE_JOB_TYPE, headers={"name": CLOCK})
    jobs.create(ACTIVATE_JOB_TYPE, variables={"correlation_key": "c"})
    flaky = PublishFailsOnce(client.settings)
    runtime = CamundaRuntime(inbound_connectors=[Clock], client=flaky, poll_timeout=0.2)

    thread = running(runtime)
    try:
        published = engine.records.wait_for("MESSAGE", "PUBLISHED", within=5, name=CLOCK)
    finally:
        runtime.stop()
        thread.join(5)
        flaky.close()

    assert published
    assert flaky.failed
    assert Clock.seen >= 3  # not JSON, then a publish that failed, then the one that got through
    (publish,) = faults.calls("PublishMessage")
    assert json.loads(publish.request.variables) == {"at": "2024-01-02"}


MANY = f"runtime-many-{SUFFIX}"
# More sync runs at once than asyncio's default executor has threads (min(32, cpus + 4)).
CONCURRENT = min(32, (os.cpu_count() or 1) + 4) + 1
TOGETHER = threading.Barrier(CONCURRENT, timeout=5)


class Together(OutboundConnector):
    def run(self, config: RunConfig) -> None:
        TOGETHER.wait()  # breaks unless every job runs at the same time

    class ConnectorConfig:
        name = "Together"
        type = MANY
        timeout = 30
        app = RUNTIME_APP


def test_the_runtime_runs_max_jobs_sync_connectors_at_once_beside_its_long_polls(
    engine: ZeebeEngine, jobs: EngineJobs, client: ZeebeClient
) -> None:
    jobs.deploy(MANY)
    keys = [jobs.job_of(instance) for instance in jobs.create(MANY, CONCURRENT)]
    runtime = CamundaRuntime([Together, Greeter], client=client, max_jobs=CONCURRENT, poll_timeout=0.5)

    thread = running(runtime)
    try:
        done = engine.records.wait_for("JOB", "COMPLETED", count=CONCURRENT, within=10, type=MANY)
    finally:
        runtime.stop()
        thread.join(5)

    assert sorted(r["key"] for r in done) == sorted(keys)
    assert not [r for r in engine.records.find("JOB", "FAILED") if r["key"] in keys]


class ActivationFailsOnce(ZeebeClient):
    """A client whose first ActivateJobs fails with an error that is no ZeebeCeleryError."""

    failed = False

    def activate_jobs(self, *args: Any, **kwargs: Any) -> list[Job]:
        if not self.failed:
            self.failed = True
            raise RuntimeError("unexpected")
        return super().activate_jobs(*args, **kwargs)


def test_a_poll_that_fails_in_any_way_backs_off_and_goes_on(
    engine: ZeebeEngine, jobs: EngineJobs, client: ZeebeClient
) -> None:
    jobs.deploy(ECHO, headers={"resultVariable": "g"})
    (instance,) = jobs.create(ECHO, variables={"name": "bo"})
    key = jobs.job_of(instance)
    flaky = ActivationFailsOnce(client.settings)
    runtime = CamundaRuntime([Echo], client=flaky, poll_timeout=0.2)

    try:
        run_until(engine, runtime, "COMPLETED", ECHO)
    finally:
        flaky.close()

    assert flaky.failed
    assert jobs.completed_variables(key) == {"g": {"text": "hello bo"}}
