"""OpenTelemetry: the worker's job span continues the trace the dispatcher put in the Celery message.

Jobs go through a real Redis broker: the dispatcher publishes them, and the test consumes the message
with kombu and runs it as a worker's pool process does, so only what travels in the message links the
spans. Jobs are real jobs on the engine, and reports go to it.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery
from celery.worker.request import Request
from kombu.message import Message
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, SpanKind, StatusCode

from tests.unit.engine_jobs import EngineJobs
from zeebe_celery import Job, tracing, zeebe_task
from zeebe_celery.config import BridgeSettings, ZeebeSettings
from zeebe_celery.dispatch import CeleryDispatcher
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.faults import Faults
from zeebe_celery.spec import spec_for
from zeebe_celery.worker import configure

app = Celery("tracing-tests", set_as_current=False)
app.conf.worker_hijack_root_logger = False

handler_spans: list[SpanContext] = []


@zeebe_task("traced-work", app=app)
def traced_work(job: Job) -> dict[str, object]:
    handler_spans.append(trace.get_current_span().get_span_context())
    return {"done": job.key}


@zeebe_task("traced-failure", app=app)
def traced_failure() -> None:
    raise ValueError("the handler fails")


@zeebe_task("traced-batch", batch=4, app=app)
async def traced_batch(job: Job) -> dict[str, object]:
    await asyncio.sleep(0.01)  # the batch's handlers interleave on the loop; each keeps its own span current
    handler_spans.append(trace.get_current_span().get_span_context())
    return {"done": job.key}


@pytest.fixture(scope="module")
def broker(redis_url: str, zeebe_engine: ZeebeEngine) -> str:
    """The test app on real Redis, reporting to the engine, which has a process for each job type."""
    jobs = EngineJobs(zeebe_engine)
    for task in (traced_work, traced_failure, traced_batch):
        jobs.deploy(spec_for(task.name).job_type)
    app.conf.broker_url = redis_url
    configure(
        app,
        zeebe=ZeebeSettings(address=zeebe_engine.address, _env_file=None),
        bridge=BridgeSettings(broker_url=redis_url, redis_url=redis_url, _env_file=None),
    )
    return redis_url


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_tracer_provider(provider)
    yield exporter
    tracing.use_tracer_provider(None)
    provider.shutdown()


def dispatch_and_run(broker: str, jobs: EngineJobs, task: Any) -> tuple[Message, Job]:
    """Publish a new instance's job for ``task`` on a queue of its own, then consume it and run it like a
    pool process."""
    message, (job,) = dispatch_and_run_all(broker, jobs, task, 1)
    return message, job


def dispatch_and_run_all(broker: str, jobs: EngineJobs, task: Any, count: int) -> tuple[Message, list[Job]]:
    """:func:`dispatch_and_run` for ``count`` jobs published together: one message, as a batched type's."""
    spec = spec_for(task.name)
    bridge = BridgeSettings(broker_url=broker, queue_prefix=f"tracing-{uuid.uuid4().hex[:8]}.", _env_file=None)
    dispatcher = CeleryDispatcher(app, {spec.job_type: spec.resolve(bridge)}, bridge)
    try:
        batch = [jobs.one(spec.job_type) for _ in range(count)]
        dispatcher.publish(spec.job_type, batch)
        queue = app.amqp.queues[dispatcher.queue(spec.job_type)]
    finally:
        dispatcher.close()
    received: list[Message] = []

    def on_message(body: Any, message: Message) -> None:
        received.append(message)
        Request(
            message,
            app=app,
            task=app.tasks[message.headers["task"]],
            body=message.body,
            headers=message.headers,
            decoded=False,
        ).execute()

    with app.connection_for_read() as connection, connection.Consumer(queue, callbacks=[on_message], accept=["json"]):
        connection.drain_events(timeout=10)
    assert len(received) == 1
    return received[0], batch


def by_kind(spans: tuple[ReadableSpan, ...], kind: SpanKind) -> ReadableSpan:
    [span] = [s for s in spans if s.kind is kind]
    return span


def test_job_span_is_a_child_of_the_dispatch_span_through_the_message(
    broker: str, faults: Faults, jobs: EngineJobs, spans: InMemorySpanExporter
) -> None:
    handler_spans.clear()
    message, job = dispatch_and_run(broker, jobs, traced_work)

    finished = spans.get_finished_spans()
    dispatched = by_kind(finished, SpanKind.PRODUCER)
    ran = by_kind(finished, SpanKind.CONSUMER)
    assert dispatched.name == "zeebe.dispatch traced-work"
    assert ran.name == "zeebe.job traced-work"
    assert dispatched.context is not None
    assert ran.context is not None
    assert ran.parent is not None
    assert ran.context.trace_id == dispatched.context.trace_id
    assert ran.parent.span_id == dispatched.context.span_id
    assert ran.parent.is_remote  # it came from the message, not from this process's context
    traceparent = f"00-{dispatched.context.trace_id:032x}-{dispatched.context.span_id:016x}-"
    assert message.headers["traceparent"].startswith(traceparent)
    assert dispatched.attributes is not None
    assert dispatched.attributes["zeebe.job.key"] == job.key
    assert dispatched.attributes["zeebe.process_instance.key"] == job.process_instance_key
    assert str(dispatched.attributes["messaging.destination.name"]).endswith(".traced-work")
    assert ran.attributes is not None
    assert ran.attributes["zeebe.job.outcome"] == "completed"
    assert ran.attributes["zeebe.job.type"] == "traced-work"
    assert ran.status.status_code is StatusCode.UNSET
    # The job span is current while the handler runs, so the handler's own spans are its children.
    assert handler_spans == [ran.context]
    assert [call.request.jobKey for call in faults.calls("CompleteJob")] == [job.key]


def test_each_job_of_a_batch_has_its_own_span_under_the_batchs_dispatch(
    broker: str, faults: Faults, jobs: EngineJobs, spans: InMemorySpanExporter
) -> None:
    handler_spans.clear()
    _, batch = dispatch_and_run_all(broker, jobs, traced_batch, 3)

    finished = spans.get_finished_spans()
    dispatched = by_kind(finished, SpanKind.PRODUCER)
    ran = [s for s in finished if s.kind is SpanKind.CONSUMER]
    assert dispatched.context is not None
    assert sorted(s.attributes["zeebe.job.key"] for s in ran if s.attributes) == sorted(j.key for j in batch)
    assert all(s.parent is not None and s.parent.span_id == dispatched.context.span_id for s in ran)
    assert all(s.attributes is not None and s.attributes["zeebe.job.outcome"] == "completed" for s in ran)
    assert sorted(handler_spans, key=lambda c: c.span_id) == sorted(
        [s.context for s in ran if s.context is not None], key=lambda c: c.span_id
    )
    assert sorted(call.request.jobKey for call in faults.calls("CompleteJob")) == sorted(j.key for j in batch)


def test_handler_exception_is_recorded_on_the_job_span(
    broker: str, faults: Faults, jobs: EngineJobs, spans: InMemorySpanExporter
) -> None:
    _, job = dispatch_and_run(broker, jobs, traced_failure)

    finished = spans.get_finished_spans()
    ran = by_kind(finished, SpanKind.CONSUMER)
    assert ran.parent is not None
    assert ran.parent.span_id == by_kind(finished, SpanKind.PRODUCER).context.span_id
    assert ran.attributes is not None
    assert ran.attributes["zeebe.job.outcome"] == "failed"
    assert ran.status.status_code is StatusCode.ERROR
    [event] = [e for e in ran.events if e.name == "exception"]
    assert event.attributes is not None
    assert event.attributes["exception.type"] == "ValueError"
    assert event.attributes["exception.message"] == "the handler fails"
    assert [call.request.jobKey for call in faults.calls("FailJob")] == [job.key]


def test_without_a_tracer_provider_jobs_run_and_messages_carry_no_trace(
    broker: str, faults: Faults, jobs: EngineJobs
) -> None:
    handler_spans.clear()
    message, job = dispatch_and_run(broker, jobs, traced_work)

    assert "traceparent" not in message.headers
    assert handler_spans == [trace.INVALID_SPAN_CONTEXT]
    assert [call.request.jobKey for call in faults.calls("CompleteJob")] == [job.key]


def test_without_opentelemetry_installed_tracing_does_nothing() -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["opentelemetry"] = None  # as if the otel extra were not installed
        from zeebe_celery import tracing, worker
        from zeebe_celery.job import Job

        job = Job(
            key=1, type="plain", process_instance_key=2, bpmn_process_id="p", process_definition_version=1,
            process_definition_key=3, element_id="t", element_instance_key=4, retries=3, deadline=2**41,
        )
        assert tracing._tracer is None
        assert tracing.dispatch_headers(job, "zeebe.plain") is None
        assert tracing.run_traced(object(), job, lambda a, *, b: a + b, "compl", b="eted") == "completed"
        tracing.record_exception(ValueError("ignored"))
        tracing.use_tracer_provider(None)
        assert "opentelemetry.trace" not in sys.modules
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
