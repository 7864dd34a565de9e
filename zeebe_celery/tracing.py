"""Optional OpenTelemetry tracing: one trace from the poller's publish of a job to the worker's handler.

With ``opentelemetry-api`` installed (the ``otel`` extra), the dispatcher opens a PRODUCER span
``zeebe.dispatch <type>`` per job and puts its context in the Celery message headers (W3C
``traceparent``/``tracestate``, or whatever propagator the application set). The worker continues that
trace in a CONSUMER span ``zeebe.job <type>``, current while the handler runs, so the handler's own
spans are its children. Spans are recorded only once the application sets up an SDK tracer provider and
an exporter; until then the API's tracer does nothing. Without the package every function here costs
one None check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, ParamSpec

from zeebe_celery._version import __version__
from zeebe_celery.job import Job
from zeebe_celery.outcome import ERROR_OUTCOMES, Outcome

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

__all__ = ["dispatch_headers", "record_exception", "run_traced", "run_traced_async", "use_tracer_provider"]

_P = ParamSpec("_P")

# Outcomes of run_job that mean the job did not end as the handler's author intended.

_tracer: Tracer | None = None
_provider: TracerProvider | None = None

try:
    from opentelemetry import propagate, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError:  # without the otel extra, tracing is off
    pass
else:
    _tracer = trace.get_tracer(__name__, __version__)


def use_tracer_provider(provider: TracerProvider | None) -> None:
    """Trace with ``provider`` instead of OpenTelemetry's global one; None returns to the global one.

    Does nothing without opentelemetry installed.
    """
    global _tracer, _provider
    if _tracer is not None:
        _tracer = trace.get_tracer(__name__, __version__, tracer_provider=provider)
        _provider = provider


def recording() -> bool:
    """Whether spans are recorded: opentelemetry is installed and a real tracer provider is set."""
    if _tracer is None:
        return False
    provider = _provider if _provider is not None else trace.get_tracer_provider()
    return not isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider))


def _attributes(job: Job) -> dict[str, str | int]:
    return {
        "messaging.system": "celery",
        "zeebe.job.key": job.key,
        "zeebe.job.type": job.type,
        "zeebe.job.retries": job.retries,
        "zeebe.process_instance.key": job.process_instance_key,
        "zeebe.bpmn_process_id": job.bpmn_process_id,
        "zeebe.element_id": job.element_id,
    }


def dispatch_headers(job: Job, queue: str) -> dict[str, str] | None:
    """Record the publish of ``job`` to ``queue`` as a PRODUCER span; the message headers that carry it.

    None when tracing is off or the span is not sampled, so nothing is added to the message.
    """
    if _tracer is None:
        return None
    span = _tracer.start_span(
        f"zeebe.dispatch {job.type}",
        kind=SpanKind.PRODUCER,
        attributes={**_attributes(job), "messaging.destination.name": queue, "messaging.operation.type": "send"},
    )
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    span.end()
    return carrier or None


def _carrier(request: Any) -> Mapping[str, Any]:
    """The trace context fields of a Celery task request.

    A worker puts the message's custom headers in ``request.headers``; older Celery versions set them
    as attributes of the request only.
    """
    headers = getattr(request, "headers", None)
    if isinstance(headers, Mapping):
        return headers
    fields = propagate.get_global_textmap().fields
    return {name: value for name in fields if isinstance(value := getattr(request, name, None), str)}


def run_traced(task: Any, job: Job, run: Callable[_P, Outcome], *args: _P.args, **kwargs: _P.kwargs) -> Outcome:
    """Call ``run`` (which returns the job's outcome) inside a CONSUMER span continuing the dispatch's trace.

    The span carries the outcome as ``zeebe.job.outcome``; failed, incident and unreported jobs mark it
    as an error. Exceptions escaping ``run`` are recorded and raised.
    """
    if _tracer is None or not recording():
        return run(*args, **kwargs)
    with _job_span(task, job) as span:
        return _ended(span, run(*args, **kwargs))


async def run_traced_async(
    task: Any, job: Job, run: Callable[_P, Awaitable[Outcome]], *args: _P.args, **kwargs: _P.kwargs
) -> Outcome:
    """:func:`run_traced` for a coroutine: the span is current in the coroutine's own context."""
    if _tracer is None or not recording():
        return await run(*args, **kwargs)
    with _job_span(task, job) as span:
        return _ended(span, await run(*args, **kwargs))


def _job_span(task: Any, job: Job) -> AbstractContextManager[Span]:
    assert _tracer is not None
    parent = propagate.extract(_carrier(task.request))
    attributes = {**_attributes(job), "messaging.operation.type": "process"}
    if task.request.id:
        attributes["messaging.message.id"] = str(task.request.id)
    return _tracer.start_as_current_span(
        f"zeebe.job {job.type}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
    )


def _ended(span: Span, outcome: Outcome) -> Outcome:
    span.set_attribute("zeebe.job.outcome", str(outcome))
    if outcome in ERROR_OUTCOMES:
        span.set_status(Status(StatusCode.ERROR, f"job {outcome}"))
    return outcome


def record_exception(error: BaseException) -> None:
    """Record a handler's exception on the current job span (a no-op outside one, or without tracing)."""
    if _tracer is None:
        return
    trace.get_current_span().record_exception(error)
