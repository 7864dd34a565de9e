"""The job RPCs of :class:`~zeebe_celery.gateway.client.ZeebeClient`: activating and streaming jobs, and
the reports that end them (complete, with an 8.8 ``JobResult``; fail; throw), retries and timeouts."""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence

from zeebe_celery.config import parse_duration
from zeebe_celery.errors import UnauthenticatedError, ZeebeCeleryError
from zeebe_celery.gateway.base import ClientBase, JobCall, is_gateway_rejection
from zeebe_celery.gateway.encoding import (
    LONG_POLL_SLACK,
    DurationLike,
    Variables,
    dumps_variables,
    long_poll_seconds,
    ms,
    poll_ms,
)
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.versions import AD_HOC_RESULT, TENANT_FILTER_ASSIGNED, USER_TASK_RESULT
from zeebe_celery.job import Job
from zeebe_celery.results import AdHocResult, Corrections, Deny, JobResult

__all__ = ["JobsMixin", "TenantFilter", "job_result_pb"]

logger = logging.getLogger(__name__)


class TenantFilter(enum.StrEnum):
    """Which tenants' jobs to activate: those named in ``tenant_ids`` (PROVIDED, the default), or every
    tenant the client's identity is assigned to (ASSIGNED, Camunda 8.9)."""

    PROVIDED = "provided"
    ASSIGNED = "assigned"


_TENANT_FILTERS = {TenantFilter.PROVIDED: pb.TenantFilter.PROVIDED, TenantFilter.ASSIGNED: pb.TenantFilter.ASSIGNED}


def job_result_pb(result: JobResult) -> pb.JobResult:
    """The ``JobResult`` message a typed result stands for."""
    if isinstance(result, Deny):
        return pb.JobResult(type="userTask", denied=True, deniedReason=result.reason)
    if isinstance(result, Corrections):
        corrections = pb.JobResultCorrections()
        if result.assignee is not None:
            corrections.assignee = result.assignee
        if result.due_date is not None:
            corrections.dueDate = result.due_date
        if result.follow_up_date is not None:
            corrections.followUpDate = result.follow_up_date
        if result.candidate_users is not None:
            corrections.candidateUsers.CopyFrom(pb.StringList(values=list(result.candidate_users)))
        if result.candidate_groups is not None:
            corrections.candidateGroups.CopyFrom(pb.StringList(values=list(result.candidate_groups)))
        if result.priority is not None:
            corrections.priority = result.priority
        return pb.JobResult(type="userTask", denied=False, corrections=corrections)
    return pb.JobResult(
        type="adHocSubProcess",
        activateElements=[
            pb.JobResultActivateElement(elementId=e.element_id, variables=dumps_variables(e.variables))
            for e in result.activate
        ],
        isCompletionConditionFulfilled=result.completion_condition_fulfilled,
        isCancelRemainingInstances=result.cancel_remaining_instances,
    )


class JobsMixin(ClientBase):
    def _tenant_filter(
        self, tenant_filter: TenantFilter | str, tenant_ids: Sequence[str], rpc: str
    ) -> pb.TenantFilter.ValueType:
        """Raises ValueError for an unknown filter or for tenant ids with ASSIGNED (which ignores them),
        UnsupportedByGatewayError for ASSIGNED before 8.9."""
        chosen = TenantFilter(str(tenant_filter).lower())
        if chosen is TenantFilter.ASSIGNED and tenant_ids:
            raise ValueError("tenant_filter='assigned' takes the client's assigned tenants: give no tenant_ids")
        if chosen is TenantFilter.ASSIGNED:
            self._require(TENANT_FILTER_ASSIGNED, rpc=rpc)
        return _TENANT_FILTERS[chosen]

    def open_activate_jobs(
        self,
        job_type: str,
        *,
        worker: str,
        timeout: DurationLike,
        max_jobs: int,
        fetch_variables: Sequence[str] | None = None,
        request_timeout: DurationLike = 10.0,
        tenant_ids: Sequence[str] = (),
        tenant_filter: TenantFilter | str = TenantFilter.PROVIDED,
    ) -> JobCall:
        """Start one ActivateJobs long poll and return it open, so another thread can cancel it.

        ``request_timeout`` 0 is the gateway's default (10 s); a negative one disables long polling.
        ``tenant_filter="assigned"`` activates the jobs of every tenant the client is assigned to (8.9).
        """
        poll = poll_ms(request_timeout)
        request = pb.ActivateJobsRequest(
            type=job_type,
            worker=worker,
            timeout=ms(timeout),
            maxJobsToActivate=max_jobs,
            fetchVariable=list(fetch_variables or ()),
            requestTimeout=poll,
            tenantIds=list(tenant_ids),
            tenantFilter=self._tenant_filter(tenant_filter, tenant_ids, "ActivateJobs"),
        )
        stub = self._conn.stub()
        token = self._token()
        call = stub.ActivateJobs(request, timeout=long_poll_seconds(poll) + LONG_POLL_SLACK)
        return JobCall(call, "ActivateJobs", lambda response: response.jobs, token_rejected=self._rejecter(token))

    def activate_jobs(
        self,
        job_type: str,
        *,
        worker: str,
        timeout: DurationLike,
        max_jobs: int,
        fetch_variables: Sequence[str] | None = None,
        request_timeout: DurationLike = 10.0,
        tenant_ids: Sequence[str] = (),
        tenant_filter: TenantFilter | str = TenantFilter.PROVIDED,
    ) -> list[Job]:
        """Activate up to ``max_jobs`` jobs of ``job_type``, long-polling up to ``request_timeout``.

        ``request_timeout`` 0 is the gateway's default (10 s); a negative one disables long polling.
        ``fetch_variables`` None fetches all. Jobs received before a failure are returned rather than
        dropped; a failure before any job arrived is raised. When the gateway refuses the OAuth token,
        a new one is fetched and the activation tried once more.
        """
        jobs: list[Job] = []

        def attempt_with_fresh_token() -> list[Job]:
            try:
                return attempt()
            except UnauthenticatedError as error:
                # The JobCall has already forgotten the refused token.
                if jobs or self._tokens is None or not is_gateway_rejection(error):
                    raise
                return attempt()

        def attempt() -> list[Job]:
            call = self.open_activate_jobs(
                job_type,
                worker=worker,
                timeout=timeout,
                max_jobs=max_jobs,
                fetch_variables=fetch_variables,
                request_timeout=request_timeout,
                tenant_ids=tenant_ids,
                tenant_filter=tenant_filter,
            )
            try:
                for job in call:
                    jobs.append(job)
            except ZeebeCeleryError:
                if not jobs:
                    raise
                logger.warning("ActivateJobs for %s broke off after %d jobs", job_type, len(jobs), exc_info=True)
            return jobs

        return self._retry.call(attempt_with_fresh_token)

    def stream_activated_jobs(
        self,
        job_type: str,
        *,
        worker: str,
        timeout: DurationLike,
        fetch_variables: Sequence[str] | None = None,
        tenant_ids: Sequence[str] = (),
        tenant_filter: TenantFilter | str = TenantFilter.PROVIDED,
        stream_timeout: DurationLike = 3600.0,
    ) -> JobCall:
        """Open a job stream: the broker pushes jobs of ``job_type`` as they become activatable.

        The stream ends after ``stream_timeout`` (every call has a deadline); reopen it then. When the
        gateway refuses the OAuth token, UnauthenticatedError is raised and the next call gets a new one.
        """
        request = pb.StreamActivatedJobsRequest(
            type=job_type,
            worker=worker,
            timeout=ms(timeout),
            fetchVariable=list(fetch_variables or ()),
            tenantIds=list(tenant_ids),
            tenantFilter=self._tenant_filter(tenant_filter, tenant_ids, "StreamActivatedJobs"),
        )
        stub = self._conn.stub()
        token = self._token()
        call = stub.StreamActivatedJobs(request, timeout=parse_duration(stream_timeout))
        return JobCall(call, "StreamActivatedJobs", lambda job: (job,), token_rejected=self._rejecter(token))

    def complete_job(self, job_key: int, variables: Variables = None, *, result: JobResult | None = None) -> None:
        """Complete a job, merging ``variables`` into its scope.

        ``result`` (Camunda 8.8) answers a task-listener job (:class:`Deny`, :class:`Corrections`) or an
        ad-hoc sub-process job (:class:`AdHocResult`); an older gateway would ignore it, so it raises
        UnsupportedByGatewayError there. An ``AdHocResult``'s own variables are sent unless ``variables``
        are given.
        """
        request = pb.CompleteJobRequest(jobKey=job_key, variables=dumps_variables(variables))
        if result is not None:
            if isinstance(result, AdHocResult):
                self._require(AD_HOC_RESULT, rpc="CompleteJob")
                if variables is None:
                    request.variables = dumps_variables(result.variables)
            else:
                self._require(USER_TASK_RESULT, rpc="CompleteJob")
            request.result.CopyFrom(job_result_pb(result))
        self._unary("CompleteJob", request, idempotent=True)

    def fail_job(
        self,
        job_key: int,
        *,
        retries: int,
        error_message: str = "",
        retry_backoff: DurationLike = 0.0,
        variables: Variables = None,
    ) -> None:
        """Fail a job; with ``retries`` > 0 it becomes activatable again after ``retry_backoff``,
        at 0 or less Zeebe raises an incident with ``error_message``."""
        request = pb.FailJobRequest(
            jobKey=job_key,
            retries=retries,
            errorMessage=error_message,
            retryBackOff=ms(retry_backoff),
            variables=dumps_variables(variables),
        )
        self._unary("FailJob", request, idempotent=True)

    def throw_error(
        self, job_key: int, error_code: str, *, error_message: str = "", variables: Variables = None
    ) -> None:
        """Throw a BPMN error from a job, for an error catch event with ``error_code`` to handle."""
        request = pb.ThrowErrorRequest(
            jobKey=job_key,
            errorCode=error_code,
            errorMessage=error_message,
            variables=dumps_variables(variables),
        )
        self._unary("ThrowError", request, idempotent=True)

    def update_job_retries(self, job_key: int, retries: int, *, operation_reference: int | None = None) -> None:
        """Set the retries a job has left, e.g. before resolving its incident.

        ``operation_reference`` (8.6) is a number of your own that Zeebe writes on the records this makes.
        """
        request = pb.UpdateJobRetriesRequest(jobKey=job_key, retries=retries, operationReference=operation_reference)
        self._unary("UpdateJobRetries", request, idempotent=True)

    def update_job_timeout(
        self, job_key: int, timeout: DurationLike, *, operation_reference: int | None = None
    ) -> None:
        """Move an activated job's deadline to now + ``timeout``."""
        request = pb.UpdateJobTimeoutRequest(
            jobKey=job_key, timeout=ms(timeout), operationReference=operation_reference
        )
        self._unary("UpdateJobTimeout", request, idempotent=True)
