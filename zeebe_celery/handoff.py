"""How a job's report leaves the task that ran it, and the job's flow-control slot, freed once that report
is done.

A report is sent on the task's own thread (``ZEEBE_CELERY_REPORT_CONCURRENCY=1``), or handed off so that the
pool process runs its next job meanwhile: to the process's report loop (:mod:`zeebe_celery.report_loop`),
or, where a loop cannot run (a green pool, a client on a channel of the app's own making), to the report
queue's threads (:mod:`zeebe_celery.report_queue`). Either way the job ends with the one report the
:class:`~zeebe_celery.report.Reporter` rules give it.
"""

from __future__ import annotations

import logging

import grpc

from zeebe_celery import metrics
from zeebe_celery.errors import GatewayError, TransientError, UnauthenticatedError, map_grpc_error
from zeebe_celery.flow import InflightStore
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.job import Job
from zeebe_celery.logs import bind_job
from zeebe_celery.outcome import Outcome
from zeebe_celery.report import Reporter, Send
from zeebe_celery.report_loop import ReportLoop
from zeebe_celery.report_queue import ReportQueue

__all__ = ["HandOffReporter", "Reports", "Slot"]

logger = logging.getLogger("zeebe_celery.worker")

Reports = ReportQueue | ReportLoop


class Slot:
    """A job's place under its type's bound; freed once, by the report that ends the job or by its task."""

    def __init__(self, inflight: InflightStore | None, job: Job) -> None:
        self._inflight = inflight
        self._job = job
        self._freed = False
        self.handed_off = False

    def release(self, together: Reports | None = None) -> None:
        """Free the slot now, or ``together`` with the slots of the other finished reports."""
        if self._freed or self._inflight is None:
            return
        self._freed = True
        if together is not None:
            together.release(self._inflight, self._job.type, (self._job.key, self._job.deadline))
            return
        slot = [(self._job.key, self._job.deadline)]
        try:
            self._inflight.release(self._job.type, slot)
        except Exception as exc:  # noqa: BLE001 - tried again in the background; it lapses at the deadline anyway
            logger.warning("could not free the flow-control slot of job %s (%s); trying again", self._job.key, exc)
            self._inflight.release_later(self._job.type, slot)


class HandOffReporter(Reporter):
    """A :class:`Reporter` that hands the report to ``reports`` (if any) and returns the outcome it is meant
    to have at once; the job's slot is freed when the report is done."""

    def __init__(self, client: ZeebeClient, job: Job, *, reports: Reports | None, slot: Slot) -> None:
        super().__init__(client, job, log=logger)
        self._reports = reports
        self._slot = slot

    def _send(self, outcome: Outcome, send: Send) -> Outcome:
        reports = self._reports
        if isinstance(reports, ReportLoop) and self.client.own_channel:
            return self._on_loop(reports, outcome, send)
        if isinstance(reports, ReportQueue):
            self._slot.handed_off = True
            try:
                reports.submit(lambda: self._deliver_and_release(outcome, send))
            except RuntimeError:
                # The queue was flushed for shutdown: send this report now rather than lose it.
                self._slot.handed_off = False
                return self._deliver(outcome, send)
            return outcome
        return self._deliver(outcome, send)

    def _on_loop(self, loop: ReportLoop, outcome: Outcome, send: Send) -> Outcome:
        self._slot.handed_off = True

        def sent(rpc: str, request: object, timeout: float, metadata: object) -> None:
            loop.send(rpc, request, timeout, metadata, lambda error: self._sent(loop, outcome, send, rpc, error))

        try:
            send(self.client.deferred(sent))
        except (RuntimeError, GatewayError):
            # The loop was flushed for shutdown, or the report could not even be handed over (no token, a
            # gateway too old for it): the shared path sends it now, or says why it cannot.
            self._slot.handed_off = False
            return self._deliver(outcome, send)
        except BaseException:
            self._slot.handed_off = False  # nothing was handed over: the task frees the slot
            raise
        return outcome

    def _sent(self, loop: ReportLoop, outcome: Outcome, send: Send, rpc: str, error: BaseException | None) -> None:
        """On the loop: the first attempt's end. A failure goes to the shared path, on a helper thread."""
        if error is None:
            metrics.JOBS_REPORTED.labels(self.job.type, outcome).inc()
            self._slot.release(together=loop)
            return
        failure = map_grpc_error(error, rpc=rpc, idempotent=True) if isinstance(error, grpc.RpcError) else error
        if isinstance(failure, TransientError | UnauthenticatedError) or not isinstance(failure, GatewayError):
            again = send  # sent afresh, with the retry policy (and a new token, if the gateway refused it)
        else:
            known = failure

            def again(client: ZeebeClient) -> None:
                raise known  # NOT_FOUND, a message too large...: what the shared path makes of it

        loop.again(lambda: self._deliver_and_release(outcome, again, loop))

    def _deliver_and_release(self, outcome: Outcome, send: Send, together: Reports | None = None) -> Outcome:
        try:
            with bind_job(self.job):
                return self._deliver(outcome, send)
        finally:
            self._slot.release(together=together or self._reports)
