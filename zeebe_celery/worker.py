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
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from celery.signals import after_setup_logger, after_setup_task_logger, worker_process_shutdown
from pydantic import ValidationError

from zeebe_celery import metrics, tracing
from zeebe_celery import worker_metrics as _worker_metrics  # noqa: F401 - connects its signals
from zeebe_celery.config import BridgeSettings, ZeebeSettings, load_settings
from zeebe_celery.errors import (
    BpmnError,
    FailedPreconditionError,
    GatewayError,
    NotFoundError,
    TerminalError,
    ZeebeCeleryError,
)
from zeebe_celery.flow import InflightStore
from zeebe_celery.gateway.client import ZeebeClient, dumps_variables
from zeebe_celery.job import Job
from zeebe_celery.logs import apply_format, bind_job
from zeebe_celery.task import HandlerInputError, ZeebeTaskSpec, output_variables, spec_for

if TYPE_CHECKING:
    from celery import Celery

    from zeebe_celery.task import _Handler

__all__ = ["WorkerContext", "configure", "run_job"]

logger = logging.getLogger(__name__)

MAX_ERROR_MESSAGE = 1000
# Reports stop retrying this long before the job's deadline: a report that lands later is refused.
DEADLINE_MARGIN = 0.5


@dataclass
class WorkerContext:
    """The per-process resources a worker reports with; opened lazily after the fork."""

    client: ZeebeClient
    bridge: BridgeSettings
    inflight: InflightStore | None
    reports: ReportQueue | None = None


_CONFIG_KEY = "zeebe_celery_settings"
_contexts: dict[tuple[int, int], WorkerContext] = {}
_contexts_lock = threading.Lock()


def configure(app: Celery, *, zeebe: ZeebeSettings | None = None, bridge: BridgeSettings | None = None) -> None:
    """Attach settings to a Celery app, instead of reading them from the environment in the worker."""
    app.conf[_CONFIG_KEY] = (zeebe, bridge)


def context_for(app: Celery) -> WorkerContext:
    """This process's context for ``app``; built on first use, so never shared across a fork."""
    key = (os.getpid(), id(app))
    context = _contexts.get(key)
    if context is not None:
        return context
    with _contexts_lock:
        context = _contexts.get(key)
        if context is None:
            zeebe, bridge = app.conf.get(_CONFIG_KEY) or (None, None)
            zeebe = zeebe or load_settings(ZeebeSettings)
            bridge = bridge or load_settings(BridgeSettings)
            redis_url = bridge.redis_url or _redis_broker_url(app, bridge)
            context = WorkerContext(
                client=ZeebeClient(zeebe),
                bridge=bridge,
                inflight=InflightStore.from_url(redis_url) if redis_url else None,
                reports=ReportQueue(bridge.report_concurrency) if bridge.report_concurrency > 1 else None,
            )
            _contexts[key] = context
    return context


class ReportQueue:
    """Reports of one worker process sent from background threads, at most ``size`` at a time.

    With it, a pool process runs its next job while the gateway answers the last report, instead of
    waiting one round trip per job. A job's slot is freed once its report is done. A full queue makes the
    next report wait, so a slow gateway still slows the worker down. :meth:`flush` waits for every report.
    """

    def __init__(self, size: int) -> None:
        self._free = threading.BoundedSemaphore(size)
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="zeebe-report")

    def submit(self, deliver: Callable[[], object]) -> None:
        self._free.acquire()
        try:
            self._executor.submit(self._run, deliver)
        except BaseException:
            self._free.release()
            raise

    def _run(self, deliver: Callable[[], object]) -> None:
        try:
            deliver()
        except Exception:  # deliver handles gateway errors itself; anything else must not kill the thread
            logger.exception("a background report failed")
        finally:
            self._free.release()

    def flush(self) -> None:
        """Wait until every submitted report is done; the queue takes no more reports after this."""
        self._executor.shutdown(wait=True)


def _flush_reports(**_: Any) -> None:
    """On worker_process_shutdown: send the reports still in flight before the pool process exits."""
    pid = os.getpid()
    for (owner, _app), context in list(_contexts.items()):
        if owner == pid and context.reports is not None:
            context.reports.flush()


worker_process_shutdown.connect(_flush_reports, weak=False, dispatch_uid="zeebe-celery-flush-reports")


class _Slot:
    """A job's place under its type's bound; freed once, by the report that ends the job or by run_job."""

    def __init__(self, inflight: InflightStore | None, job: Job) -> None:
        self._inflight = inflight
        self._job = job
        self._freed = False
        self.handed_off = False

    def release(self) -> None:
        if self._freed or self._inflight is None:
            return
        self._freed = True
        try:
            self._inflight.release(self._job.type, [(self._job.key, self._job.deadline)])
        except Exception:  # the slot also frees itself at the deadline
            logger.warning("could not release the flow-control slot of job %s", self._job.key, exc_info=True)


def _redis_broker_url(app: Celery, bridge: BridgeSettings) -> str | None:
    url = bridge.broker_url or str(app.conf.broker_url or "")
    return url if url.startswith(("redis://", "rediss://", "unix://")) else None


def _worker_log_format(logger: logging.Logger | None = None, **_: Any) -> None:
    """In a Celery worker, apply ZEEBE_CELERY_LOG_FORMAT: JSON lines carry the job key, type and instance."""
    if logger is None:
        return
    try:
        fmt = load_settings(BridgeSettings).log_format
    except ZeebeCeleryError:
        return  # the worker reports bad settings when it runs its first job
    if fmt == "json":
        apply_format(logger, fmt)


after_setup_logger.connect(_worker_log_format, weak=False, dispatch_uid="zeebe-celery-worker-logging")
after_setup_task_logger.connect(_worker_log_format, weak=False, dispatch_uid="zeebe-celery-worker-task-logging")


def truncate(text: str, limit: int = MAX_ERROR_MESSAGE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(exc: BaseException) -> str:
    """``Type: message``, the failure text Zeebe shows for a failed job."""
    message = str(exc)
    return truncate(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)


def run_job(task: Any, handler: _Handler, payload: dict[str, Any]) -> str:
    """Run ``handler`` for the job in ``payload`` and report it; returns the outcome's name."""
    try:
        job = Job.model_validate(payload)
    except ValidationError as exc:
        # Without a valid job there is nobody to report to; Zeebe re-activates it after its timeout.
        logger.error("task %s received a malformed job payload: %s", task.name, exc)
        raise
    spec = spec_for(task.name)
    context = context_for(task.app)
    slot = _Slot(context.inflight, job)
    try:
        with bind_job(job):
            return tracing.run_traced(task, job, _run_and_report, context, spec, handler, job, task, slot)
    finally:
        if not slot.handed_off:
            slot.release()


def _run_and_report(
    context: WorkerContext, spec: ZeebeTaskSpec, handler: _Handler, job: Job, task: Any, slot: _Slot
) -> str:
    if job.is_expired():
        logger.info("job %s (%s) is past its deadline; not running it, Zeebe hands it out again", job.key, job.type)
        metrics.JOBS_EXPIRED.labels(job.type).inc()
        return "expired"
    client = context.client.with_options(
        retry_until=job.deadline / 1000 - DEADLINE_MARGIN,
        retry_budget=context.bridge.report_budget,
        on_retry=metrics.REPORT_RETRIES.labels(job.type).inc,
    )
    reporter = _Reporter(client, job, queue=context.reports, slot=slot)
    started = time.perf_counter()
    try:
        result = handler(job, task)
    except BpmnError as error:
        metrics.observe_handler(job.type, started)
        return reporter.throw(error)
    except HandlerInputError as error:
        metrics.observe_handler(job.type, started)
        return reporter.incident(str(error))
    except Exception as error:  # noqa: BLE001 - every handler failure becomes a FailJob
        tracing.record_exception(error)
        metrics.observe_handler(job.type, started)
        backoff = spec.retry_backoff if spec.retry_backoff is not None else context.bridge.retry_backoff
        return reporter.fail(error, backoff)
    metrics.observe_handler(job.type, started)
    try:
        variables = output_variables(result)
        encoded = dumps_variables(variables)
    except (TypeError, ValueError) as error:
        return reporter.incident(f"invalid output: {error}")
    return reporter.complete(encoded)


class _Reporter:
    """Sends the one report a job ends with, and decides what a refused report means.

    With a :class:`ReportQueue`, the report is sent in the background and the outcome it is meant to
    have is returned at once; the job's slot is freed when the report is done.
    """

    def __init__(self, client: ZeebeClient, job: Job, *, queue: ReportQueue | None, slot: _Slot) -> None:
        self.client = client
        self.job = job
        self._queue = queue
        self._slot = slot

    def complete(self, encoded_variables: str) -> str:
        return self._send("completed", lambda: self.client.complete_job(self.job.key, encoded_variables))

    def throw(self, error: BpmnError) -> str:
        try:
            variables = dumps_variables(error.variables)
        except (TypeError, ValueError) as invalid:
            return self.incident(f"invalid BpmnError {error.code!r}: {invalid}")
        return self._send(
            "thrown",
            lambda: self.client.throw_error(
                self.job.key, error.code, error_message=truncate(error.message), variables=variables
            ),
        )

    def fail(self, error: Exception, backoff: float) -> str:
        logger.info("job %s (%s) failed: %s", self.job.key, self.job.type, describe(error))
        retries = max(self.job.retries - 1, 0)
        return self._send(
            "failed",
            lambda: self.client.fail_job(
                self.job.key, retries=retries, error_message=describe(error), retry_backoff=backoff
            ),
        )

    def incident(self, message: str) -> str:
        """FailJob with no retries left: an incident a human can see, since a retry would fail again."""
        logger.warning("job %s (%s) raises an incident: %s", self.job.key, self.job.type, message)
        return self._send("incident", self._incident_call(message))

    def _incident_call(self, message: str) -> Callable[[], None]:
        return lambda: self.client.fail_job(self.job.key, retries=0, error_message=truncate(message))

    def _send(self, outcome: str, send: Callable[[], None]) -> str:
        if self._queue is None:
            return self._deliver(outcome, send)
        try:
            self._queue.submit(lambda: self._deliver_and_release(outcome, send))
        except RuntimeError:
            # The queue was flushed for shutdown: send this report now rather than lose it.
            return self._deliver(outcome, send)
        self._slot.handed_off = True
        return outcome

    def _deliver_and_release(self, outcome: str, send: Callable[[], None]) -> str:
        try:
            with bind_job(self.job):
                return self._deliver(outcome, send)
        finally:
            self._slot.release()

    def _deliver(self, outcome: str, send: Callable[[], None]) -> str:
        job = self.job
        try:
            send()
        except (NotFoundError, FailedPreconditionError) as gone:
            logger.info("job %s (%s) is gone, its %s report was refused: %s", job.key, job.type, outcome, gone.details)
            metrics.JOBS_GONE.labels(job.type).inc()
            return "gone"
        except TerminalError as error:
            if outcome == "incident":
                logger.error("job %s (%s): even the incident was refused: %s", job.key, job.type, error)
                metrics.JOBS_UNREPORTED.labels(job.type).inc()
                return "unreported"
            # The report itself cannot succeed (e.g. variables too large): make it an incident, not a loss.
            message = f"could not report the job as {outcome}: {error}"
            logger.warning("job %s (%s) raises an incident: %s", job.key, job.type, message)
            return self._deliver("incident", self._incident_call(message))
        except GatewayError:
            logger.exception(
                "could not report job %s (%s) as %s before its deadline; Zeebe hands it out again",
                job.key,
                job.type,
                outcome,
            )
            metrics.JOBS_UNREPORTED.labels(job.type).inc()
            return "unreported"
        metrics.JOBS_REPORTED.labels(job.type, outcome).inc()
        return outcome
