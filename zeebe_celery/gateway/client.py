"""The typed, synchronous Zeebe gateway client: one method per RPC of the Gateway service.

The client opens its channel lazily, once per process: a client created before a fork never shares a
channel with the child, which opens its own on first use. Every call has a deadline, gRPC errors are
mapped to :mod:`zeebe_celery.errors`, and transient ones are retried by one :class:`RetryPolicy`.
"""

from __future__ import annotations

import enum
import json
import logging
import math
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import grpc
from pydantic import BaseModel

from zeebe_celery.config import ZeebeSettings, load_settings, parse_duration
from zeebe_celery.errors import UnauthenticatedError, ZeebeCeleryError, map_grpc_error
from zeebe_celery.gateway.channel import build_channel, build_token_provider
from zeebe_celery.gateway.oauth import OAuthTokenProvider
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub
from zeebe_celery.gateway.retry import RetryPolicy
from zeebe_celery.gateway.types import (
    ActivateInstruction,
    DecisionEvaluation,
    Deployment,
    ProcessInstance,
    ProcessInstanceResult,
    PublishedMessage,
    Signal,
    Topology,
    loads_object,
)
from zeebe_celery.job import Job

__all__ = ["JobCall", "ZeebeClient", "dumps_variables"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
DurationLike = float | str
Variables = Mapping[str, Any] | BaseModel | str | None
ChannelFactory = Callable[[], grpc.Channel]

# Slack on top of a long-poll's own timeout, so the gateway answers before our deadline fires.
_LONG_POLL_SLACK = 10.0
# What the gateway waits for jobs when ActivateJobs leaves requestTimeout at 0.
_DEFAULT_LONG_POLL = 10.0
# What the gateway waits for an instance's end when CreateProcessInstanceWithResult leaves requestTimeout
# at 0: its generic request timeout (zeebe.gateway.cluster.requestTimeout).
_DEFAULT_GATEWAY_REQUEST = 15.0


def dumps_variables(variables: Variables) -> str:
    """Encode variables as the JSON object the gateway expects; None is no variables.

    Text is taken as JSON that is already encoded, so nothing is encoded twice. Raises TypeError naming
    the variable that cannot be encoded.
    """
    if variables is None:
        return ""
    if isinstance(variables, str):
        return variables
    if isinstance(variables, BaseModel):
        return variables.model_dump_json()
    try:
        # NaN and Infinity are not JSON: the gateway refuses them and other clients could not read them.
        return json.dumps(variables, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        if isinstance(variables, Mapping):
            for name, value in variables.items():
                try:
                    json.dumps(value, allow_nan=False)
                except (TypeError, ValueError) as inner:
                    raise TypeError(f"variable {name!r} is not JSON-serialisable: {inner}") from None
        raise TypeError(f"variables are not JSON-serialisable: {exc}") from None


def _ms(value: DurationLike) -> int:
    """Whole milliseconds, rounded to the nearest; a positive duration is never sent as 0 (which
    often means "the default"). Raises ValueError for a negative or malformed duration."""
    seconds = parse_duration(value)
    if seconds <= 0:
        return 0
    return max(1, math.floor(seconds * 1000 + 0.5))


def _poll_ms(request_timeout: DurationLike) -> int:
    """ActivateJobs' requestTimeout: 0 is the gateway's default, a negative number -1 (no long poll)."""
    if isinstance(request_timeout, int | float) and request_timeout < 0:
        return -1
    return _ms(request_timeout)


def _long_poll_seconds(poll_ms: int) -> float:
    """How long the gateway may hold an ActivateJobs call with requestTimeout ``poll_ms``."""
    if poll_ms < 0:
        return 0.0
    if poll_ms == 0:
        return _DEFAULT_LONG_POLL
    return poll_ms / 1000


def _is_gateway_rejection(error: UnauthenticatedError) -> bool:
    """Whether the gateway refused the token, rather than the authorization server the credentials."""
    return isinstance(error.__cause__, grpc.RpcError)


class _State(enum.Enum):
    UNOPENED = 1
    OPENED = 2
    CLOSED = 3


class _Connection:
    """The per-process channel, shared by a client and its :meth:`ZeebeClient.with_options` views."""

    def __init__(self, factory: ChannelFactory) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._pid = 0
        self._channel: grpc.Channel | None = None
        self._stub: GatewayStub | None = None
        self.state = _State.UNOPENED
        ref = weakref.ref(self)

        def forget_in_child() -> None:
            connection = ref()
            if connection is not None:
                connection._forget()

        os.register_at_fork(after_in_child=forget_in_child)

    def _forget(self) -> None:
        # The parent's channel belongs to the parent: the child neither uses nor closes it.
        self._lock = threading.Lock()
        self._channel = None
        self._stub = None
        self._pid = 0

    def stub(self) -> GatewayStub:
        stub = self._stub
        if stub is not None and self._pid == os.getpid():
            return stub
        with self._lock:
            if self.state is _State.CLOSED:
                raise RuntimeError("this ZeebeClient is closed")
            if self._stub is None or self._pid != os.getpid():
                self._channel = self._factory()
                self._stub = GatewayStub(self._channel)
                self._pid = os.getpid()
                self.state = _State.OPENED
            return self._stub

    def close(self) -> None:
        with self._lock:
            if self._channel is not None and self._pid == os.getpid():
                self._channel.close()
            self._channel = None
            self._stub = None
            self.state = _State.CLOSED


class JobCall:
    """An open ActivateJobs or StreamActivatedJobs call: iterate it for jobs, :meth:`cancel` to end it.

    Jobs received before an error or a cancel are still yielded; the error is raised after them,
    mapped to :mod:`zeebe_celery.errors`. A cancelled call just ends. When the gateway refuses the
    token (UNAUTHENTICATED), ``token_rejected`` runs before the error is raised, so that the next call
    fetches a new token.
    """

    def __init__(
        self,
        call: Any,
        rpc: str,
        unpack: Callable[[Any], Iterable[pb.ActivatedJob]],
        *,
        token_rejected: Callable[[], None] | None = None,
    ) -> None:
        self._call = call
        self._rpc = rpc
        self._unpack = unpack
        self._token_rejected = token_rejected
        self._cancelled = False

    def __iter__(self) -> Iterator[Job]:
        for activated in self.activated():
            yield Job.from_activated(activated)

    def activated(self) -> Iterator[pb.ActivatedJob]:
        """The jobs as the gateway sent them, unparsed: for code that forwards them, like the poller."""
        try:
            for message in self._call:
                yield from self._unpack(message)
        except grpc.RpcError as exc:
            if self._cancelled:
                return
            error = map_grpc_error(exc, rpc=self._rpc)
            if isinstance(error, UnauthenticatedError) and self._token_rejected is not None:
                self._token_rejected()
            raise error from exc

    def cancel(self) -> None:
        """End the call; safe to call from another thread and more than once."""
        self._cancelled = True
        self._call.cancel()


class ZeebeClient:
    """A synchronous client for the whole Zeebe gateway API.

    Construct it from :class:`~zeebe_celery.config.ZeebeSettings` (or :meth:`from_env`); it connects
    on first use. Variables go in as dicts or pydantic models and come out as dicts. Durations are
    seconds, or text such as ``"5m"``. Raises subclasses of :class:`~zeebe_celery.errors.GatewayError`.
    """

    def __init__(
        self,
        settings: ZeebeSettings | None = None,
        *,
        retry: RetryPolicy | None = None,
        channel_factory: ChannelFactory | None = None,
    ) -> None:
        self.settings = settings if settings is not None else ZeebeSettings.model_construct()
        self._tokens: OAuthTokenProvider | None = (
            None if channel_factory is not None else build_token_provider(self.settings)
        )
        factory = channel_factory or (lambda: build_channel(self.settings, self._tokens))
        self._conn = _Connection(factory)
        self._retry = retry or RetryPolicy()
        self._timeout = self.settings.request_timeout

    @classmethod
    def from_env(cls, **overrides: Any) -> ZeebeClient:
        """Build a client from the standard environment variables and ``.env``.

        Raises ConfigurationError naming the variable when the settings are inconsistent.
        """
        return cls(load_settings(ZeebeSettings, **overrides))

    def __repr__(self) -> str:
        return f"ZeebeClient(address={self.settings.gateway_address!r}, state={self._conn.state.name})"

    def __enter__(self) -> ZeebeClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close this process's channel; the client cannot be used afterwards. Safe to call twice."""
        self._conn.close()

    def with_options(
        self,
        *,
        retry_until: float | None = None,
        retry_budget: float | None = None,
        on_retry: Callable[[], None] | None = None,
    ) -> ZeebeClient:
        """A view on the same channel whose retries also stop at ``retry_until`` (epoch seconds), with
        another time budget, and ``on_retry`` called before each retry."""
        view = object.__new__(ZeebeClient)
        view.__dict__.update(self.__dict__)
        view._retry = self._retry.bounded(until=retry_until, budget=retry_budget, on_retry=on_retry)
        return view

    # -- plumbing ------------------------------------------------------------------------------------

    def _token(self) -> str | None:
        """The token the next call sends (fetched now if need be), or None without OAuth.

        Raises UnauthenticatedError when the authorization server refuses the credentials.
        """
        return self._tokens.token() if self._tokens is not None else None

    def _rejecter(self, token: str | None) -> Callable[[], None] | None:
        """What to run when the gateway refuses ``token``: forget it, unless another thread already did."""
        tokens = self._tokens
        if tokens is None:
            return None
        return lambda: tokens.invalidate(token)

    def _unary(
        self,
        rpc: str,
        request: Any,
        *,
        idempotent: bool = False,
        timeout: float | None = None,
        retry: bool = True,
    ) -> Any:
        deadline = timeout if timeout is not None else self._timeout

        def attempt() -> Any:
            method = getattr(self._conn.stub(), rpc)
            try:
                return method(request, timeout=deadline)
            except grpc.RpcError as exc:
                raise map_grpc_error(exc, rpc=rpc, idempotent=idempotent) from exc

        def attempt_with_fresh_token() -> Any:
            # Read outside the try: a refusal by the authorization server is raised as it is, once.
            token = self._token()
            try:
                return attempt()
            except UnauthenticatedError as error:
                if self._tokens is None or not _is_gateway_rejection(error):
                    raise
                # A revoked or rotated token: fetch a new one and try exactly once more. Only this
                # token is forgotten, so threads that got the same refusal share one new fetch.
                self._tokens.invalidate(token)
                return attempt()

        if not retry:
            return attempt_with_fresh_token()
        return self._retry.call(attempt_with_fresh_token)

    # -- jobs ----------------------------------------------------------------------------------------

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
    ) -> JobCall:
        """Start one ActivateJobs long poll and return it open, so another thread can cancel it.

        ``request_timeout`` 0 is the gateway's default (10 s); a negative one disables long polling.
        """
        poll_ms = _poll_ms(request_timeout)
        request = pb.ActivateJobsRequest(
            type=job_type,
            worker=worker,
            timeout=_ms(timeout),
            maxJobsToActivate=max_jobs,
            fetchVariable=list(fetch_variables or ()),
            requestTimeout=poll_ms,
            tenantIds=list(tenant_ids),
        )
        stub = self._conn.stub()
        token = self._token()
        call = stub.ActivateJobs(request, timeout=_long_poll_seconds(poll_ms) + _LONG_POLL_SLACK)
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
                if jobs or self._tokens is None or not _is_gateway_rejection(error):
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
        stream_timeout: DurationLike = 3600.0,
    ) -> JobCall:
        """Open a job stream: the broker pushes jobs of ``job_type`` as they become activatable.

        The stream ends after ``stream_timeout`` (every call has a deadline); reopen it then. When the
        gateway refuses the OAuth token, UnauthenticatedError is raised and the next call gets a new one.
        """
        request = pb.StreamActivatedJobsRequest(
            type=job_type,
            worker=worker,
            timeout=_ms(timeout),
            fetchVariable=list(fetch_variables or ()),
            tenantIds=list(tenant_ids),
        )
        stub = self._conn.stub()
        token = self._token()
        call = stub.StreamActivatedJobs(request, timeout=parse_duration(stream_timeout))
        return JobCall(call, "StreamActivatedJobs", lambda job: (job,), token_rejected=self._rejecter(token))

    def complete_job(self, job_key: int, variables: Variables = None) -> None:
        """Complete a job, merging ``variables`` into its scope."""
        request = pb.CompleteJobRequest(jobKey=job_key, variables=dumps_variables(variables))
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
            retryBackOff=_ms(retry_backoff),
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

    def update_job_retries(self, job_key: int, retries: int) -> None:
        """Set the retries a job has left, e.g. before resolving its incident."""
        self._unary("UpdateJobRetries", pb.UpdateJobRetriesRequest(jobKey=job_key, retries=retries), idempotent=True)

    def update_job_timeout(self, job_key: int, timeout: DurationLike) -> None:
        """Move an activated job's deadline to now + ``timeout``."""
        request = pb.UpdateJobTimeoutRequest(jobKey=job_key, timeout=_ms(timeout))
        self._unary("UpdateJobTimeout", request, idempotent=True)

    # -- process instances ---------------------------------------------------------------------------

    @staticmethod
    def _create_request(
        bpmn_process_id: str | None,
        process_definition_key: int | None,
        version: int,
        variables: Variables,
        start_at: Sequence[str],
        tenant_id: str | None,
    ) -> pb.CreateProcessInstanceRequest:
        if (bpmn_process_id is None) == (process_definition_key is None):
            raise ValueError("give exactly one of bpmn_process_id and process_definition_key")
        return pb.CreateProcessInstanceRequest(
            bpmnProcessId=bpmn_process_id or "",
            processDefinitionKey=process_definition_key or 0,
            version=version,
            variables=dumps_variables(variables),
            startInstructions=[pb.ProcessInstanceCreationStartInstruction(elementId=e) for e in start_at],
            tenantId=tenant_id or "",
        )

    def create_process_instance(
        self,
        bpmn_process_id: str | None = None,
        *,
        process_definition_key: int | None = None,
        version: int = -1,
        variables: Variables = None,
        start_at: Sequence[str] = (),
        tenant_id: str | None = None,
    ) -> ProcessInstance:
        """Start an instance of the latest (or the given ``version``) of a process."""
        request = self._create_request(bpmn_process_id, process_definition_key, version, variables, start_at, tenant_id)
        r = self._unary("CreateProcessInstance", request)
        return ProcessInstance(
            process_instance_key=r.processInstanceKey,
            process_definition_key=r.processDefinitionKey,
            bpmn_process_id=r.bpmnProcessId,
            version=r.version,
            tenant_id=r.tenantId,
        )

    def create_process_instance_with_result(
        self,
        bpmn_process_id: str | None = None,
        *,
        process_definition_key: int | None = None,
        version: int = -1,
        variables: Variables = None,
        start_at: Sequence[str] = (),
        tenant_id: str | None = None,
        request_timeout: DurationLike = 60.0,
        fetch_variables: Sequence[str] = (),
    ) -> ProcessInstanceResult:
        """Start an instance and wait up to ``request_timeout`` for it to complete.

        ``request_timeout`` 0 is the gateway's own request timeout (15 s unless configured otherwise).
        """
        inner = self._create_request(bpmn_process_id, process_definition_key, version, variables, start_at, tenant_id)
        wait_ms = _ms(request_timeout)
        request = pb.CreateProcessInstanceWithResultRequest(
            request=inner, requestTimeout=wait_ms, fetchVariables=list(fetch_variables)
        )
        waits = wait_ms / 1000 if wait_ms > 0 else _DEFAULT_GATEWAY_REQUEST
        r = self._unary("CreateProcessInstanceWithResult", request, timeout=waits + _LONG_POLL_SLACK)
        return ProcessInstanceResult(
            process_instance_key=r.processInstanceKey,
            process_definition_key=r.processDefinitionKey,
            bpmn_process_id=r.bpmnProcessId,
            version=r.version,
            tenant_id=r.tenantId,
            variables=loads_object(r.variables),
        )

    def cancel_process_instance(self, process_instance_key: int) -> None:
        """Cancel a running instance."""
        self._unary("CancelProcessInstance", pb.CancelProcessInstanceRequest(processInstanceKey=process_instance_key))

    def modify_process_instance(
        self,
        process_instance_key: int,
        *,
        activate: Sequence[ActivateInstruction] = (),
        terminate: Sequence[int] = (),
    ) -> None:
        """Activate elements and/or terminate element instances of a running instance."""
        request = pb.ModifyProcessInstanceRequest(
            processInstanceKey=process_instance_key,
            activateInstructions=[
                pb.ModifyProcessInstanceRequest.ActivateInstruction(
                    elementId=a.element_id,
                    ancestorElementInstanceKey=a.ancestor_element_instance_key,
                    variableInstructions=[
                        pb.ModifyProcessInstanceRequest.VariableInstruction(variables=dumps_variables(v), scopeId=scope)
                        for scope, v in a.variables.items()
                    ],
                )
                for a in activate
            ],
            terminateInstructions=[
                pb.ModifyProcessInstanceRequest.TerminateInstruction(elementInstanceKey=k) for k in terminate
            ],
        )
        self._unary("ModifyProcessInstance", request)

    def migrate_process_instance(
        self,
        process_instance_key: int,
        *,
        target_process_definition_key: int,
        mappings: Mapping[str, str] | Sequence[tuple[str, str]],
    ) -> None:
        """Move a running instance to another process definition, element by element."""
        pairs = mappings.items() if isinstance(mappings, Mapping) else mappings
        plan = pb.MigrateProcessInstanceRequest.MigrationPlan(
            targetProcessDefinitionKey=target_process_definition_key,
            mappingInstructions=[
                pb.MigrateProcessInstanceRequest.MappingInstruction(sourceElementId=s, targetElementId=t)
                for s, t in pairs
            ],
        )
        request = pb.MigrateProcessInstanceRequest(processInstanceKey=process_instance_key, migrationPlan=plan)
        self._unary("MigrateProcessInstance", request)

    def set_variables(self, element_instance_key: int, variables: Variables, *, local: bool = False) -> int:
        """Merge ``variables`` into a scope (an instance or element instance); returns the command key."""
        request = pb.SetVariablesRequest(
            elementInstanceKey=element_instance_key, variables=dumps_variables(variables) or "{}", local=local
        )
        return int(self._unary("SetVariables", request).key)

    def resolve_incident(self, incident_key: int) -> None:
        """Mark an incident resolved; fix its cause (retries, variables) first."""
        self._unary("ResolveIncident", pb.ResolveIncidentRequest(incidentKey=incident_key))

    # -- resources, messages, signals, decisions -----------------------------------------------------

    def deploy_resource(self, *resources: str | Path | tuple[str, bytes], tenant_id: str | None = None) -> Deployment:
        """Deploy BPMN, DMN or form resources atomically: paths, or (name, content) pairs.

        Raises FileNotFoundError for a missing path, before anything is sent.
        """
        if not resources:
            raise ValueError("deploy_resource needs at least one resource")
        items = []
        for resource in resources:
            if isinstance(resource, tuple):
                name, content = resource
            else:
                path = Path(resource)
                name, content = path.name, path.read_bytes()
            items.append(pb.Resource(name=name, content=content))
        request = pb.DeployResourceRequest(resources=items, tenantId=tenant_id or "")
        return Deployment.from_pb(self._unary("DeployResource", request))

    def delete_resource(self, resource_key: int) -> None:
        """Delete a deployed process, decision or decision requirements graph by its key."""
        self._unary("DeleteResource", pb.DeleteResourceRequest(resourceKey=resource_key))

    def publish_message(
        self,
        name: str,
        *,
        correlation_key: str = "",
        variables: Variables = None,
        time_to_live: DurationLike = 0.0,
        message_id: str = "",
        tenant_id: str | None = None,
    ) -> PublishedMessage:
        """Publish a message; it waits up to ``time_to_live`` for a subscription to correlate to."""
        request = pb.PublishMessageRequest(
            name=name,
            correlationKey=correlation_key,
            timeToLive=_ms(time_to_live),
            messageId=message_id,
            variables=dumps_variables(variables),
            tenantId=tenant_id or "",
        )
        r = self._unary("PublishMessage", request)
        return PublishedMessage(key=r.key, tenant_id=r.tenantId)

    def broadcast_signal(
        self, signal_name: str, *, variables: Variables = None, tenant_id: str | None = None
    ) -> Signal:
        """Broadcast a signal to every signal event waiting for ``signal_name``."""
        request = pb.BroadcastSignalRequest(
            signalName=signal_name, variables=dumps_variables(variables), tenantId=tenant_id or ""
        )
        r = self._unary("BroadcastSignal", request)
        return Signal(key=r.key, tenant_id=r.tenantId)

    def evaluate_decision(
        self,
        decision_id: str | None = None,
        *,
        decision_key: int | None = None,
        variables: Variables = None,
        tenant_id: str | None = None,
    ) -> DecisionEvaluation:
        """Evaluate the latest version of a DMN decision (by id) or a given one (by key)."""
        if (decision_id is None) == (decision_key is None):
            raise ValueError("give exactly one of decision_id and decision_key")
        request = pb.EvaluateDecisionRequest(
            decisionId=decision_id or "",
            decisionKey=decision_key or 0,
            variables=dumps_variables(variables),
            tenantId=tenant_id or "",
        )
        return DecisionEvaluation.from_pb(self._unary("EvaluateDecision", request))

    def topology(self, *, timeout: float | None = None, retry: bool = True) -> Topology:
        """The brokers, partitions and their health, as the gateway sees them."""
        return Topology.from_pb(self._unary("Topology", pb.TopologyRequest(), timeout=timeout, retry=retry))
