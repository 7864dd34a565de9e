"""The worker side: run a handler for one job and report the outcome to Zeebe.

Every job ends in exactly one report: CompleteJob, ThrowError, or FailJob (with ``retries - 1``, or 0
for input and output that cannot work on a retry). A job whose deadline has passed is not run; it
belongs to Zeebe again. Reports go through one gateway client per worker process, retried on
transient errors until shortly before the job's deadline. A report answered with NOT_FOUND or
FAILED_PRECONDITION means the job is gone (timed out, cancelled or completed elsewhere): it is logged
and counted, and the task ends normally.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from celery import Task, bootsteps
from celery.signals import worker_process_shutdown
from pydantic import ValidationError

from zeebe_celery import metrics, tracing, transport, worker_metrics
from zeebe_celery.broker import check_broker
from zeebe_celery.config import BridgeSettings, ZeebeSettings, broker_redis_url, flow_control_redis, load_settings
from zeebe_celery.errors import BpmnError, ConfigurationError, HandlerInputError
from zeebe_celery.flow import InflightStore
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.green import green_threads, refuse_async_on_green_pool
from zeebe_celery.handler import Handler, output_variables
from zeebe_celery.handoff import HandOffReporter, Reports, Slot
from zeebe_celery.job import Job
from zeebe_celery.json_only import check_json_only
from zeebe_celery.logs import apply_format, bind_job
from zeebe_celery.outcome import Outcome
from zeebe_celery.redis_location import refuse_a_cluster
from zeebe_celery.report import describe, reporting_client
from zeebe_celery.report_loop import ReportLoop
from zeebe_celery.report_queue import ReportQueue
from zeebe_celery.results import AdHocResult, Corrections, Deny
from zeebe_celery.spec import JobTypeSpec, spec_for
from zeebe_celery.time_limits import JobRequest
from zeebe_celery.wakeup import wake_on_task_end
from zeebe_celery.worker_metrics import WorkerMetricsSettings

if TYPE_CHECKING:
    from celery import Celery

__all__ = [
    "ReportQueue",
    "WorkerContext",
    "WorkerSettings",
    "ZeebeJobTask",
    "close_contexts",
    "configure",
    "context_for",
    "fetch_only_when_free",
    "release_slot",
    "run_job",
    "run_one",
    "run_one_async",
    "worker_init",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker is configured by, loaded once at its boot (:func:`worker_init`)."""

    zeebe: ZeebeSettings
    bridge: BridgeSettings
    metrics: WorkerMetricsSettings


@dataclass
class WorkerContext:
    """The per-process resources a worker reports with; opened lazily after the fork."""

    client: ZeebeClient
    bridge: BridgeSettings
    inflight: InflightStore | None
    reports: Reports | None = None
    _types: dict[str, JobTypeSpec] = field(default_factory=dict)

    def job_type(self, task_name: str) -> JobTypeSpec:
        """The settled options of the job type the task ``task_name`` handles, under this worker's bridge."""
        settled = self._types.get(task_name)
        if settled is None:
            settled = self._types[task_name] = spec_for(task_name).resolve(self.bridge)
        return settled

    def close(self) -> None:
        if self.reports is not None:
            self.reports.flush()
        self.client.close()
        if self.inflight is not None:
            self.inflight.close()


_CONFIG_KEY = "zeebe_celery_settings"
_contexts: dict[tuple[int, int], WorkerContext] = {}
_contexts_lock = threading.Lock()


def configure(
    app: Celery,
    *,
    zeebe: ZeebeSettings | None = None,
    bridge: BridgeSettings | None = None,
    metrics: WorkerMetricsSettings | None = None,
) -> None:
    """Attach settings to a Celery app, instead of reading them from the environment at the worker's boot."""
    app.conf[_CONFIG_KEY] = (zeebe, bridge, metrics)


def worker_settings(app: Celery) -> WorkerSettings:
    """The app's worker settings: those given to :func:`configure`, the rest from the environment.

    Loaded once per app; raises ConfigurationError naming the variable when they are invalid.
    """
    given = app.conf.get(_CONFIG_KEY)
    if isinstance(given, WorkerSettings):
        return given
    zeebe, bridge, metrics_settings = given or (None, None, None)
    settings = WorkerSettings(
        zeebe=zeebe or load_settings(ZeebeSettings),
        bridge=bridge or load_settings(BridgeSettings),
        metrics=metrics_settings or load_settings(WorkerMetricsSettings),
    )
    app.conf[_CONFIG_KEY] = settings
    return settings


def worker_init(app: Celery) -> WorkerSettings:
    """Boot a Celery worker of ``app``: load its settings (so bad ones fail now, not at the first job),
    refuse an app that accepts anything but JSON, guard the bridge's queues against poison messages
    (:mod:`zeebe_celery.transport`), on Redis take a message only when a process is free
    (:func:`fetch_only_when_free`), apply the log format, and connect the worker's signals. Raises
    ConfigurationError.

    Celery calls it through :class:`WorkerBoot`, in the worker's main process before the pool forks.
    """
    settings = worker_settings(app)
    check_json_only(app)
    check_broker(settings.bridge, app)
    location = flow_control_redis(settings.bridge, app)
    if location is not None:
        refuse_a_cluster(location)
    transport.install(app, settings.bridge)
    fetch_only_when_free(app, settings.bridge)
    if settings.bridge.log_format == "json":
        # Celery has set up its loggers by the time the worker's boot steps are made.
        for name in ("", "celery.task"):
            apply_format(logging.getLogger(name), settings.bridge.log_format)
    worker_process_shutdown.connect(_flush_reports, weak=False, dispatch_uid="zeebe-celery-flush-reports")
    worker_metrics.connect(settings.metrics)
    return settings


def fetch_only_when_free(app: Celery, bridge: BridgeSettings) -> None:
    """On a Redis broker, make the worker take a message only when a pool process is free to run it
    (Celery's ``worker_disable_prefetch``).

    A prefetched message waits in the worker's memory, where nobody else can take it: when the worker is
    killed, or loses Redis for a moment (Celery's attempt to put the message back fails while Redis is
    away), the message is gone and its job waits out its whole timeout in Zeebe. The poller already keeps
    each queue short, so prefetching gains nothing. (The ``celery worker`` command writes its own default
    of the option into the app's settings, so a choice of the app cannot be told from it.)
    """
    if broker_redis_url(bridge, app) is not None and not app.conf.worker_disable_prefetch:
        logger.info("worker_disable_prefetch turned on: a message is taken only when a process is free")
        app.conf.worker_disable_prefetch = True


class WorkerBoot(bootsteps.Step):  # type: ignore[misc]
    """The worker boot step of every app with a ``@zeebe_task``: runs :func:`worker_init`.

    Invalid settings, an app that accepts more than JSON, or async handlers on a green pool
    (:mod:`zeebe_celery.green`) stop the worker before it consumes anything:
    one line on stderr, as the poller writes it, and the poller's exit code (EX_CONFIG, 78).
    """

    name = "zeebe-celery"

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        try:
            worker_init(parent.app)
            refuse_async_on_green_pool(parent.app, getattr(parent, "pool_cls", None))
            wake_on_task_end(parent)
        except ConfigurationError as error:
            sys.stderr.write(f"zeebe-celery worker: {error.one_line()}\n")
            raise SystemExit(os.EX_CONFIG) from None
        super().__init__(parent, **kwargs)


class ZeebeJobTask(Task):  # type: ignore[misc]
    """The Celery task class of every ``@zeebe_task``.

    Binding it to an app adds :class:`WorkerBoot` to the app's worker, so the worker signals are connected
    in a Celery worker only, never by importing a handler module (in the poller, say). Its requests stop
    a handler at its job's deadline (:class:`~zeebe_celery.time_limits.JobRequest`).
    """

    Request = JobRequest

    @classmethod
    def on_bound(cls, app: Celery) -> None:
        app.steps["worker"].add(WorkerBoot)


def context_for(app: Celery) -> WorkerContext:
    """This process's context for ``app``; built on first use, so never shared across a fork."""
    key = (os.getpid(), id(app))
    context = _contexts.get(key)
    if context is not None:
        return context
    with _contexts_lock:
        context = _contexts.get(key)
        if context is None:
            settings = worker_settings(app)
            bridge = settings.bridge
            location = flow_control_redis(bridge, app)
            context = WorkerContext(
                client=ZeebeClient(settings.zeebe),
                bridge=bridge,
                inflight=InflightStore.from_url(location) if location else None,
                reports=_reports(bridge, settings.zeebe),
            )
            _contexts[key] = context
    return context


def _reports(bridge: BridgeSettings, zeebe: ZeebeSettings) -> Reports | None:
    """Where this process hands its reports off to (:mod:`zeebe_celery.handoff`), if it does."""
    if bridge.report_concurrency <= 1:
        return None
    if green_threads():
        return ReportQueue(bridge.report_concurrency)
    return ReportLoop(zeebe, bridge.report_concurrency)


def close_contexts(app: Celery | None = None) -> None:
    """Close this process's worker contexts, of ``app`` or of every app (reports flushed first), and
    forget them, so the next job builds a fresh one; for tests."""
    with _contexts_lock:
        keys = [key for key in _contexts if key[0] == os.getpid() and (app is None or key[1] == id(app))]
        contexts = [_contexts.pop(key) for key in keys]
    for context in contexts:
        context.close()


def _flush_reports(**_: Any) -> None:
    """On worker_process_shutdown: send the reports still in flight before the pool process exits."""
    pid = os.getpid()
    for (owner, _app), context in list(_contexts.items()):
        if owner == pid and context.reports is not None:
            context.reports.flush()


def run_job(task: Any, handler: Handler, payload: dict[str, Any]) -> Outcome:
    """Run ``handler`` for the job in ``payload`` and report it; returns the outcome's name."""
    try:
        job = Job.model_validate(payload)
    except ValidationError as exc:
        # Without a valid job there is nobody to report to; Zeebe re-activates it after its timeout.
        logger.error("task %s received a malformed job payload: %s", task.name, exc)
        raise
    context = context_for(task.app)
    return run_one(task, handler, job, context, context.job_type(task.name), context.reports)


def run_one(
    task: Any,
    handler: Callable[[Job, Any], Any],
    job: Job,
    context: WorkerContext,
    spec: JobTypeSpec,
    reports: Reports | None,
) -> Outcome:
    """Run ``handler`` for ``job`` and report it, with everything a job has alone: its deadline check, its
    log fields, span, metrics and slot. With ``reports``, the report goes out in the background."""
    slot = Slot(context.inflight, job)
    try:
        with bind_job(job):
            return tracing.run_traced(task, job, _run_and_report, context, spec, handler, job, task, slot, reports)
    finally:
        if not slot.handed_off:
            slot.release()


def release_slot(context: WorkerContext, job: Job) -> None:
    """Free the slot of a job that will not run here (one of a batch cancelled before it started)."""
    Slot(context.inflight, job).release()


async def run_one_async(
    task: Any,
    handler: Callable[[Job, Any], Awaitable[Any]],
    job: Job,
    context: WorkerContext,
    spec: JobTypeSpec,
    reports: Reports | None,
) -> Outcome:
    """:func:`run_one` with a coroutine handler, on the running loop: the same checks, span, metrics, report
    and slot. A handler cancelled (its batch interrupted) reports nothing; its slot is freed."""
    slot = Slot(context.inflight, job)
    try:
        with bind_job(job):
            return await tracing.run_traced_async(
                task, job, _run_and_report_async, context, spec, handler, job, task, slot, reports
            )
    finally:
        if not slot.handed_off:
            slot.release()


def _run_and_report(
    context: WorkerContext,
    spec: JobTypeSpec,
    handler: Callable[[Job, Any], Any],
    job: Job,
    task: Any,
    slot: Slot,
    reports: Reports | None,
) -> Outcome:
    if _expired(job):
        return Outcome.EXPIRED
    reporter = _reporter(context, job, slot, reports)
    started = time.perf_counter()
    try:
        result = handler(job, task)
    except Exception as error:  # noqa: BLE001 - every handler failure ends in a report (or none, if it is late)
        return _failed(reporter, spec, job, started, error)
    return _succeeded(reporter, job, started, result)


async def _run_and_report_async(
    context: WorkerContext,
    spec: JobTypeSpec,
    handler: Callable[[Job, Any], Awaitable[Any]],
    job: Job,
    task: Any,
    slot: Slot,
    reports: Reports | None,
) -> Outcome:
    if _expired(job):
        return Outcome.EXPIRED
    reporter = _reporter(context, job, slot, reports)
    started = time.perf_counter()
    try:
        result = await handler(job, task)
    except Exception as error:  # noqa: BLE001 - every handler failure ends in a report (or none, if it is late)
        return _failed(reporter, spec, job, started, error)
    return _succeeded(reporter, job, started, result)


def _expired(job: Job) -> bool:
    if not job.is_expired():
        return False
    logger.info("job %s (%s) is past its deadline; not running it, Zeebe hands it out again", job.key, job.type)
    metrics.JOBS_EXPIRED.labels(job.type).inc()
    return True


def _reporter(context: WorkerContext, job: Job, slot: Slot, reports: Reports | None) -> HandOffReporter:
    client = reporting_client(context.client, job, budget=context.bridge.report_budget)
    return HandOffReporter(client, job, reports=reports, slot=slot)


def _failed(reporter: HandOffReporter, spec: JobTypeSpec, job: Job, started: float, error: Exception) -> Outcome:
    """What a handler's exception means: a thrown BPMN error, an incident, or a failure (none, if it is late)."""
    metrics.observe_handler(job.type, started)
    if isinstance(error, BpmnError):
        return reporter.throw(error)
    if isinstance(error, HandlerInputError):
        return reporter.incident(str(error))
    tracing.record_exception(error)
    if job.is_expired():
        # Stopped at its deadline (Celery's time limit), or failed past it: the job is Zeebe's again, and a
        # FailJob now would spend a retry of a job that may already run elsewhere.
        logger.info(
            "job %s (%s) is gone: its deadline passed while the handler ran (%s); not reporting it, "
            "Zeebe hands it out again",
            job.key,
            job.type,
            describe(error),
        )
        metrics.JOBS_GONE.labels(job.type).inc()
        return Outcome.GONE
    return reporter.fail(error, spec.retry_backoff)


def _succeeded(reporter: HandOffReporter, job: Job, started: float, result: Any) -> Outcome:
    metrics.observe_handler(job.type, started)
    if isinstance(result, Deny | Corrections | AdHocResult):
        return reporter.complete(None, result=result)
    try:
        variables = output_variables(result)
    except (TypeError, ValueError) as error:
        return reporter.incident(f"invalid output: {error}")
    return reporter.complete(variables)
