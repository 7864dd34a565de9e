"""The one report a job ends with, and what a refused report means: the rules every worker shares.

The Celery worker (:mod:`zeebe_celery.worker`) and ``CamundaRuntime`` both report through a
:class:`Reporter`, so a job ends the same way wherever it ran. Variables are encoded before anything is
sent: output that cannot be encoded fails the job with no retries left, an incident naming the field. A
report the gateway can never take (a message too large) becomes an incident too. NOT_FOUND or
FAILED_PRECONDITION means the job is gone; transient errors are retried until shortly before the job's
deadline (see :func:`reporting_client`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from zeebe_celery import metrics
from zeebe_celery.errors import (
    BpmnError,
    FailedPreconditionError,
    GatewayError,
    MessageTooLargeError,
    NotFoundError,
    TerminalError,
)
from zeebe_celery.gateway.client import ZeebeClient, dumps_variables
from zeebe_celery.gateway.jobs import job_result_pb
from zeebe_celery.job import Job
from zeebe_celery.outcome import Outcome
from zeebe_celery.results import AdHocResult, JobResult, misfit

__all__ = [
    "DEADLINE_MARGIN",
    "MAX_ERROR_MESSAGE",
    "Reporter",
    "Send",
    "describe",
    "reporting_client",
    "too_large",
    "truncate",
]

logger = logging.getLogger(__name__)

MAX_ERROR_MESSAGE = 1000
# Reports stop retrying this long before the job's deadline: a report that lands later is refused.
DEADLINE_MARGIN = 0.5


# A report: the one call it makes, on the client it is given.
Send = Callable[[ZeebeClient], None]

# gRPC states the sizes when it refuses a message: "... larger than max (5242893 vs. 4194304)".
_SIZES = re.compile(r"\((\d+) vs\.? (\d+)\)")


def truncate(text: str, limit: int = MAX_ERROR_MESSAGE) -> str:
    """``text`` cut to at most ``limit`` characters, and safe to send: what UTF-8 cannot encode (lone
    surrogates, from bytes that were not UTF-8) is escaped as ``\\udcff``."""
    safe = text[:limit].encode("utf-8", "backslashreplace").decode("utf-8")
    if len(safe) < len(text) or len(safe) > limit:
        return safe[: limit - 1] + "…"
    return safe


def describe(exc: BaseException) -> str:
    """``Type: message``, the failure text Zeebe shows for a failed job: truncated and safe to send."""
    name = type(exc).__name__
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__ must not stop the report
        message = "(its message could not be read)"
    return truncate(f"{name}: {message}" if message else name)


def too_large(what: str, size: int, limit: int) -> str:
    """The incident text for ``what`` of ``size`` bytes that the gateway's ``limit`` does not let through."""
    return f"{what} is {size:,} bytes, over the gateway's maximum message size of {limit:,} bytes"


def reporting_client(client: ZeebeClient, job: Job, *, budget: float | None = None) -> ZeebeClient:
    """``client`` with retries that stop before ``job``'s deadline (and after ``budget`` seconds)."""
    return client.with_options(
        retry_until=job.deadline / 1000 - DEADLINE_MARGIN,
        retry_budget=budget,
        on_retry=metrics.REPORT_RETRIES.labels(job.type).inc,
    )


class Reporter:
    """Sends the one report a job ends with, and decides what a refused report means.

    Each method sends its report now and returns the outcome it had; subclasses may send it elsewhere
    (the worker's report queue) by overriding :meth:`_send`. It logs to ``log`` (its caller's logger, so
    a job's lines keep the name of the component that ran it).
    """

    def __init__(self, client: ZeebeClient, job: Job, *, log: logging.Logger = logger) -> None:
        self.client = client
        self.job = job
        self.log = log

    def complete(self, variables: Any, *, result: JobResult | None = None) -> Outcome:
        """CompleteJob with ``variables`` and, for a listener or ad-hoc sub-process job, its ``result``.

        Variables that cannot be encoded, and a result that does not fit the job's kind, raise an incident
        naming the problem.
        """
        if result is not None:
            problem = misfit(self.job, result)
            if problem is not None:
                return self.incident(f"invalid result: {problem}")
            if isinstance(result, AdHocResult) and variables is None:
                variables = result.variables
        try:
            encoded = dumps_variables(variables)
            if result is not None:
                job_result_pb(result)  # the elements' variables must encode too
        except (TypeError, ValueError) as error:
            return self.incident(f"invalid output: {error}")
        oversize = self._oversize("the output", encoded)
        if oversize:
            return self.incident(oversize)
        return self._send(Outcome.COMPLETED, lambda client: client.complete_job(self.job.key, encoded, result=result))

    def throw(self, error: BpmnError) -> Outcome:
        try:
            variables = dumps_variables(error.variables)
        except (TypeError, ValueError) as invalid:
            return self.incident(f"invalid BpmnError {error.code!r}: {invalid}")
        oversize = self._oversize(f"the variables of BpmnError {error.code!r}", variables)
        if oversize:
            return self.incident(oversize)
        code = truncate(error.code)
        return self._send(
            Outcome.THROWN,
            lambda client: client.throw_error(
                self.job.key, code, error_message=truncate(error.message), variables=variables
            ),
        )

    def fail(self, error: Exception, backoff: float) -> Outcome:
        self.log.info("job %s (%s) failed: %s", self.job.key, self.job.type, describe(error))
        retries = max(self.job.retries - 1, 0)
        return self._send(
            Outcome.FAILED,
            lambda client: client.fail_job(
                self.job.key, retries=retries, error_message=describe(error), retry_backoff=backoff
            ),
        )

    def incident(self, message: str) -> Outcome:
        """FailJob with no retries left: an incident a human can see, since a retry would fail again."""
        self.log.warning("job %s (%s) raises an incident: %s", self.job.key, self.job.type, message)
        return self._send(Outcome.INCIDENT, self._incident_call(message))

    def _oversize(self, what: str, encoded: str) -> str | None:
        """The incident text when ``encoded`` variables alone exceed the gateway's maximum message size.

        Sending them would fail the same way on every try; the gateway's own refusal of a report that is
        larger only with its other fields is stated the same way (see :meth:`_deliver`).
        """
        limit = self.client.settings.max_message_size
        if len(encoded) <= limit // 4:  # no character takes more than 4 bytes in UTF-8
            return None
        size = len(encoded.encode("utf-8", "surrogatepass"))
        return too_large(what, size, limit) if size > limit else None

    def _incident_call(self, message: str) -> Send:
        return lambda client: client.fail_job(self.job.key, retries=0, error_message=truncate(message))

    def _send(self, outcome: Outcome, send: Send) -> Outcome:
        return self._deliver(outcome, send)

    def _deliver(self, outcome: Outcome, send: Send) -> Outcome:
        job = self.job
        try:
            send(self.client)
        except (NotFoundError, FailedPreconditionError) as gone:
            self.log.info(
                "job %s (%s) is gone, its %s report was refused: %s", job.key, job.type, outcome, gone.details
            )
            metrics.JOBS_GONE.labels(job.type).inc()
            return Outcome.GONE
        except TerminalError as error:
            if outcome is Outcome.INCIDENT:
                self.log.error("job %s (%s): even the incident was refused: %s", job.key, job.type, error)
                metrics.JOBS_UNREPORTED.labels(job.type).inc()
                return Outcome.UNREPORTED
            # The report itself cannot succeed (e.g. variables too large): make it an incident, not a loss.
            sizes = _SIZES.search(error.details) if isinstance(error, MessageTooLargeError) else None
            if sizes:
                message = too_large(f"the {outcome} report", int(sizes[1]), int(sizes[2]))
            else:
                message = f"could not report the job as {outcome}: {error}"
            self.log.warning("job %s (%s) raises an incident: %s", job.key, job.type, message)
            return self._deliver(Outcome.INCIDENT, self._incident_call(message))
        except GatewayError:
            self.log.exception(
                "could not report job %s (%s) as %s before its deadline; Zeebe hands it out again",
                job.key,
                job.type,
                outcome,
            )
            metrics.JOBS_UNREPORTED.labels(job.type).inc()
            return Outcome.UNREPORTED
        metrics.JOBS_REPORTED.labels(job.type, outcome).inc()
        return outcome
