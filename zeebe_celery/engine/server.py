"""The gRPC servicer: decodes each Gateway request, runs it on the runtime, and encodes the answer or the
status code. One method per RPC; the runtime knows nothing of gRPC."""

from __future__ import annotations

import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal, TypeVar

import grpc

from zeebe_celery.engine import decode, dmn, feel
from zeebe_celery.engine.answers import GATEWAY_HOP_SECONDS
from zeebe_celery.engine.awaited import AwaitedResult
from zeebe_celery.engine.core import DeployedDecision
from zeebe_celery.engine.errors import EngineError, InvalidArgument
from zeebe_celery.engine.faults import BackPressure, Faults
from zeebe_celery.engine.processors.adhoc import AdHocDecision
from zeebe_celery.engine.runtime import ActivateInstruction, MoveInstruction, Runtime
from zeebe_celery.engine.state import DEFAULT_TENANT, Definition, ElementInstance, Job, JobKind, JobResult
from zeebe_celery.engine.streams import Activated, JobStream
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto import gateway_pb2_grpc

__all__ = ["PROTOCOL_VERSION", "GatewayServicer"]

# The gateway protocol this engine speaks; clients compare it with their own.
PROTOCOL_VERSION = "8.9.0"
# What Zeebe's gateway uses when a request gives no timeout of its own.
DEFAULT_REQUEST_TIMEOUT_MS = 10_000
# Long polls and job streams each hold a server thread while they wait; past this many, polls answer at
# once and streams are refused, so unary calls always find a thread (the engine's pool is larger).
MAX_WAITING_CALLS = 400
# A waiting call wakes this often to notice that its client went away.
_WAKE_SECONDS = 0.5
# The longest a hand-out waits for the answers of the commands that made its jobs (they take microseconds).
_ANSWER_WAIT_SECONDS = 1.0

T = TypeVar("T")
R = TypeVar("R")


class GatewayServicer(gateway_pb2_grpc.GatewayServicer):
    def __init__(
        self,
        runtime: Runtime,
        *,
        host: str,
        port: Callable[[], int],
        faults: Faults,
        back_pressure: BackPressure,
        token: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.host = host
        self.port = port
        self.faults = faults
        self.back_pressure = back_pressure
        self.token = token
        self.waiting_calls = 0  # long polls and streams holding a server thread; guarded by runtime.lock
        # A self-managed Zeebe names its cluster with a UUID when it first forms; this engine, when it starts.
        self.cluster_id = str(uuid.uuid4())

    # -- the one path every call takes ---------------------------------------------------------------

    def _call(
        self, rpc: str, request: Any, context: grpc.ServicerContext, handle: Callable[[], T], *, waits: bool = False
    ) -> T:
        """``waits``: the call may wait (a long poll); it counts against back-pressure only as it is admitted,
        as Zeebe parks long polls in the gateway rather than among the broker's commands in flight."""
        injected = self._admit(rpc, request, context)
        held = True
        self.runtime.job_behavior.answers.begin()
        try:
            if waits:
                self.back_pressure.release()
                held = False
            return injected if injected is not None else handle()
        except EngineError as exc:
            context.abort(getattr(grpc.StatusCode, exc.status), str(exc))
        finally:
            if held:
                self.back_pressure.release()
            self._release_jobs_after_answer(context)

    def _release_jobs_after_answer(self, context: grpc.ServicerContext) -> None:
        """The jobs this call made available go out to workers once its answer has (see answers.py)."""
        answers = self.runtime.job_behavior.answers
        tickets = answers.take()
        if tickets and not context.add_callback(lambda: answers.answered(tickets)):
            answers.answered(tickets)

    def _after_answers(self, job_type: str) -> None:
        """Wait, holding the runtime's lock, until the commands that made the jobs of ``job_type`` just handed
        out have been answered; a bug that leaves one unanswered delays a hand-out, never blocks it."""
        answers = self.runtime.job_behavior.answers
        answers.wait_answered(job_type, answers.horizon(), _ANSWER_WAIT_SECONDS)

    def _run(
        self,
        rpc: str,
        request: Any,
        context: grpc.ServicerContext,
        command: Callable[[Runtime], R],
        answer: Callable[[R], T],
    ) -> T:
        """Run ``command`` on the runtime under its lock, then encode its result with ``answer``."""

        def handle() -> T:
            with self.runtime.lock:
                result = command(self.runtime)
            return answer(result)

        return self._call(rpc, request, context, handle)

    def _admit(self, rpc: str, request: Any, context: grpc.ServicerContext) -> Any:
        """Check the token, play the injected fault and take a back-pressure slot; return the response
        injected in place of the engine's, if any."""
        metadata = context.invocation_metadata()
        if self.token is not None and not hmac.compare_digest(
            str(next((v for k, v in metadata if k == "authorization"), "")).encode(), f"Bearer {self.token}".encode()
        ):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "Expected a valid bearer token in 'authorization'")
        fault = self.faults.enter(rpc, request, metadata, time_remaining=context.time_remaining())
        if fault is not None and fault.code is not None:
            context.abort(getattr(grpc.StatusCode, fault.code), fault.details)
        if not self.back_pressure.acquire(rpc):
            context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"Expected to handle gRPC request {rpc}, but the broker is overloaded (back-pressure)",
            )
        return fault.response if fault is not None else None

    # -- topology ------------------------------------------------------------------------------------

    def Topology(self, request: pb.TopologyRequest, context: grpc.ServicerContext) -> pb.TopologyResponse:
        def handle() -> pb.TopologyResponse:
            partition = pb.Partition(
                partitionId=1,
                role=pb.Partition.PartitionBrokerRole.LEADER,
                health=pb.Partition.PartitionBrokerHealth.HEALTHY,
            )
            broker = pb.BrokerInfo(
                nodeId=0, host=self.host, port=self.port(), partitions=[partition], version=PROTOCOL_VERSION
            )
            return pb.TopologyResponse(
                brokers=[broker],
                clusterSize=1,
                partitionsCount=1,
                replicationFactor=1,
                gatewayVersion=PROTOCOL_VERSION,
                clusterId=self.cluster_id,
            )

        return self._call("Topology", request, context, handle)

    # -- resources -----------------------------------------------------------------------------------

    def DeployResource(
        self, request: pb.DeployResourceRequest, context: grpc.ServicerContext
    ) -> pb.DeployResourceResponse:
        def handle() -> pb.DeployResourceResponse:
            with self.runtime.lock:
                deployment = self.runtime.deploy(
                    [(r.name, r.content) for r in request.resources], tenant_id=request.tenantId
                )
            # Zeebe's gateway lists processes, then decisions, then decision requirements, then forms.
            items = [pb.Deployment(process=_process_metadata(d)) for d in deployment.processes]
            items += [
                pb.Deployment(
                    decision=pb.DecisionMetadata(
                        dmnDecisionId=d.decision_id,
                        dmnDecisionName=d.name,
                        version=d.version,
                        decisionKey=d.key,
                        dmnDecisionRequirementsId=d.drg.drg.id,
                        decisionRequirementsKey=d.drg_key,
                        tenantId=d.tenant_id,
                    )
                )
                for d in deployment.decisions
            ]
            items += [
                pb.Deployment(
                    decisionRequirements=pb.DecisionRequirementsMetadata(
                        dmnDecisionRequirementsId=r.drg.id,
                        dmnDecisionRequirementsName=r.drg.name,
                        version=r.version,
                        decisionRequirementsKey=r.key,
                        resourceName=r.resource_name,
                        tenantId=r.tenant_id,
                    )
                )
                for r in deployment.drgs
            ]
            items += [
                pb.Deployment(
                    form=pb.FormMetadata(
                        formId=f.form_id,
                        version=f.version,
                        formKey=f.key,
                        resourceName=f.resource_name,
                        tenantId=f.tenant_id,
                    )
                )
                for f in deployment.forms
            ]
            return pb.DeployResourceResponse(key=deployment.key, deployments=items, tenantId=deployment.tenant_id)

        return self._call("DeployResource", request, context, handle)

    def DeployProcess(
        self, request: pb.DeployProcessRequest, context: grpc.ServicerContext
    ) -> pb.DeployProcessResponse:
        def handle() -> pb.DeployProcessResponse:
            with self.runtime.lock:
                deployment = self.runtime.deploy([(p.name, p.definition) for p in request.processes])
            return pb.DeployProcessResponse(
                key=deployment.key,
                processes=[_process_metadata(d) for d in deployment.processes],
            )

        return self._call("DeployProcess", request, context, handle)

    def DeleteResource(
        self, request: pb.DeleteResourceRequest, context: grpc.ServicerContext
    ) -> pb.DeleteResourceResponse:
        def answer(batch: int | None) -> pb.DeleteResourceResponse:
            response = pb.DeleteResourceResponse(resourceKey=str(request.resourceKey))
            if batch is not None:
                response.batchOperation.CopyFrom(
                    pb.BatchOperationCreatedResult(
                        batchOperationKey=str(batch),
                        batchOperationType=pb.BatchOperationCreatedResult.DELETE_PROCESS_DEFINITION,
                    )
                )
            return response

        return self._run(
            "DeleteResource",
            request,
            context,
            lambda runtime: runtime.delete_resource(request.resourceKey, delete_history=request.deleteHistory),
            answer,
        )

    # -- process instances ---------------------------------------------------------------------------

    def _create(
        self,
        request: pb.CreateProcessInstanceRequest,
        on_created: Callable[[ElementInstance], None] | None = None,
    ) -> ElementInstance:
        variables = decode.variables(request.variables)
        definition = self.runtime.find_definition(
            key=request.processDefinitionKey,
            process_id=request.bpmnProcessId,
            version=request.version,
            tenant_id=request.tenantId,
        )
        # Repeated fields are read only when present: each read of one builds a wrapper.
        starts, tags, instructions = request.startInstructions, request.tags, request.runtimeInstructions
        return self.runtime.create_instance(
            definition,
            variables,
            start_at=[s.elementId for s in starts] if starts else [],
            on_created=on_created,
            tags=list(tags) if tags else [],
            business_id=request.businessId,
            terminate_after=[r.terminate.afterElementId for r in instructions if r.HasField("terminate")]
            if instructions
            else [],
        )

    def CreateProcessInstance(
        self, request: pb.CreateProcessInstanceRequest, context: grpc.ServicerContext
    ) -> pb.CreateProcessInstanceResponse:
        def handle() -> pb.CreateProcessInstanceResponse:
            with self.runtime.lock:
                root = self._create(request)
            return _created(root)

        return self._call("CreateProcessInstance", request, context, handle)

    def CreateProcessInstanceWithResult(
        self, request: pb.CreateProcessInstanceWithResultRequest, context: grpc.ServicerContext
    ) -> pb.CreateProcessInstanceWithResultResponse:
        def handle() -> pb.CreateProcessInstanceWithResultResponse:
            awaited = AwaitedResult(self.runtime)
            with self.runtime.lock:
                root = self._create(request.request, on_created=awaited.register)
                # The answer waits for the instance's end, so its jobs cannot wait for the answer.
                self.runtime.job_behavior.answers.answered(self.runtime.job_behavior.answers.take())
            timeout_ms = request.requestTimeout or DEFAULT_REQUEST_TIMEOUT_MS
            deadline = time.monotonic() + timeout_ms / 1000
            while not awaited.done.wait(min(_WAKE_SECONDS, max(deadline - time.monotonic(), 0))):
                if time.monotonic() >= deadline or not context.is_active():
                    awaited.give_up(root.key)
                    context.abort(
                        grpc.StatusCode.DEADLINE_EXCEEDED,
                        f"Time out between gateway and broker: Request timed out after PT{timeout_ms / 1000:g}S",
                    )
            variables = awaited.variables
            if variables is None:
                context.abort(
                    grpc.StatusCode.ABORTED,
                    f"Expected to receive the result of process instance '{root.key}', but it was terminated",
                )
            fetch = list(request.fetchVariables)
            if fetch:
                variables = {k: v for k, v in variables.items() if k in fetch}
            created = _created(root)
            return pb.CreateProcessInstanceWithResultResponse(
                processDefinitionKey=created.processDefinitionKey,
                bpmnProcessId=created.bpmnProcessId,
                version=created.version,
                processInstanceKey=created.processInstanceKey,
                variables=json.dumps(variables),
                tenantId=created.tenantId,
                tags=created.tags,
                businessId=created.businessId if created.HasField("businessId") else None,
            )

        return self._call("CreateProcessInstanceWithResult", request, context, handle)

    def CancelProcessInstance(
        self, request: pb.CancelProcessInstanceRequest, context: grpc.ServicerContext
    ) -> pb.CancelProcessInstanceResponse:
        return self._run(
            "CancelProcessInstance",
            request,
            context,
            lambda runtime: runtime.cancel_instance(request.processInstanceKey),
            lambda _: pb.CancelProcessInstanceResponse(),
        )

    def SetVariables(self, request: pb.SetVariablesRequest, context: grpc.ServicerContext) -> pb.SetVariablesResponse:
        # On a native user task's scope the answer waits for the task's updating listeners (8.8).
        def handle() -> pb.SetVariablesResponse:
            variables = decode.variables(request.variables)
            done = threading.Event()
            outcome: list[EngineError | None] = []

            def answered(error: EngineError | None) -> None:
                outcome.append(error)
                done.set()

            with self.runtime.lock:
                key = self.runtime.set_variables(
                    request.elementInstanceKey, variables, local=request.local, waiter=answered
                )
            remaining = context.time_remaining()
            deadline = time.monotonic() + (DEFAULT_REQUEST_TIMEOUT_MS / 1000 if remaining is None else remaining)
            while not done.wait(min(_WAKE_SECONDS, max(deadline - time.monotonic(), 0))):
                if time.monotonic() >= deadline or not context.is_active():
                    with self.runtime.lock:
                        if self.runtime.user_task_waiters.get(_task_key(self.runtime, request)) is answered:
                            self.runtime.user_task_waiters.pop(_task_key(self.runtime, request), None)
                    context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "Time out between gateway and broker")
            if outcome[0] is not None:
                raise outcome[0]
            return pb.SetVariablesResponse(key=key)

        return self._call("SetVariables", request, context, handle)

    def ModifyProcessInstance(
        self, request: pb.ModifyProcessInstanceRequest, context: grpc.ServicerContext
    ) -> pb.ModifyProcessInstanceResponse:
        def handle() -> pb.ModifyProcessInstanceResponse:
            activate = [
                ActivateInstruction(
                    element_id=a.elementId,
                    ancestor_key=a.ancestorElementInstanceKey,
                    variables=[(v.scopeId, decode.variables(v.variables)) for v in a.variableInstructions],
                )
                for a in request.activateInstructions
            ]
            move = [
                MoveInstruction(
                    target_element_id=m.targetElementId,
                    source_key=m.sourceElementInstanceKey,
                    source_element_id=m.sourceElementId,
                    ancestor_key=m.ancestorElementInstanceKey or -1,
                    infer_ancestor=m.inferAncestorScopeFromSourceHierarchy,
                    source_parent=m.useSourceParentKeyAsAncestorScopeKey,
                    variables=[(v.scopeId, decode.variables(v.variables)) for v in m.variableInstructions],
                )
                for m in request.moveInstructions
            ]
            with self.runtime.lock:
                self.runtime.modify_instance(
                    request.processInstanceKey,
                    activate=activate,
                    terminate=[t.elementInstanceKey for t in request.terminateInstructions if t.elementInstanceKey],
                    terminate_elements=[t.elementId for t in request.terminateInstructions if not t.elementInstanceKey],
                    move=move,
                )
            return pb.ModifyProcessInstanceResponse()

        return self._call("ModifyProcessInstance", request, context, handle)

    def MigrateProcessInstance(
        self, request: pb.MigrateProcessInstanceRequest, context: grpc.ServicerContext
    ) -> pb.MigrateProcessInstanceResponse:
        def handle() -> pb.MigrateProcessInstanceResponse:
            plan = request.migrationPlan
            with self.runtime.lock:
                self.runtime.migrate_instance(
                    request.processInstanceKey,
                    target_key=plan.targetProcessDefinitionKey,
                    mappings=[(m.sourceElementId, m.targetElementId) for m in plan.mappingInstructions],
                )
            return pb.MigrateProcessInstanceResponse()

        return self._call("MigrateProcessInstance", request, context, handle)

    def ResolveIncident(
        self, request: pb.ResolveIncidentRequest, context: grpc.ServicerContext
    ) -> pb.ResolveIncidentResponse:
        return self._run(
            "ResolveIncident",
            request,
            context,
            lambda runtime: runtime.resolve_incident(request.incidentKey),
            lambda _: pb.ResolveIncidentResponse(),
        )

    # -- jobs ----------------------------------------------------------------------------------------

    def ActivateJobs(
        self, request: pb.ActivateJobsRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.ActivateJobsResponse]:
        # Jobs activated for a client that is gone would wait out their timeout; they go back at once
        # instead, as Zeebe yields them. ``ended`` is set when the call ends, however it ends.
        handover = _Handover(self.runtime)
        context.add_callback(handover.call_ended)

        def handle() -> list[Activated]:
            runtime = self.runtime
            job_timeout = decode.duration(request.timeout, what="the job timeout")
            timeout = request.requestTimeout
            wait_ms = DEFAULT_REQUEST_TIMEOUT_MS if timeout == 0 else max(timeout, 0)
            deadline = time.monotonic() + wait_ms / 1000
            with runtime.lock:
                condition = runtime.condition_for(request.type)
                tenants = _tenants(request.tenantIds, request.tenantFilter)
                waiting = False
                try:
                    while True:
                        if handover.ended or not context.is_active():
                            return []
                        now = time.monotonic()
                        left = deadline - now
                        activated = runtime.activate_jobs(
                            request.type,
                            worker=request.worker,
                            timeout=job_timeout,
                            max_jobs=request.maxJobsToActivate,
                            fetch=list(request.fetchVariable),
                            tenant_ids=tenants,
                            # A parked poll keeps the gateway's hop while it can wait (answers.py).
                            pooled_before=now - GATEWAY_HOP_SECONDS if waiting and left > 0 else None,
                        )
                        if activated:
                            self._after_answers(request.type)
                            return activated
                        if left <= 0:
                            return activated
                        if not waiting:
                            # Waiting calls hold a server thread each; past the cap a poll answers at once,
                            # so unary calls always find a thread.
                            if self.waiting_calls >= MAX_WAITING_CALLS:
                                return []
                            self.waiting_calls += 1
                            waiting = True
                        hop = runtime.job_behavior.hop_left(request.type, tenants, now)
                        condition.wait(min(left, _WAKE_SECONDS, _WAKE_SECONDS if hop is None else hop))
                finally:
                    if waiting:
                        self.waiting_calls -= 1

        activated = self._call("ActivateJobs", request, context, handle, waits=True)
        if activated and handover.hold([job for job, _ in activated]):
            yield pb.ActivateJobsResponse(jobs=[activated_job(job, variables) for job, variables in activated])
            # grpc asks for more only once the answer went out.
            handover.delivered()

    def StreamActivatedJobs(
        self, request: pb.StreamActivatedJobsRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.ActivatedJob]:
        if not request.type.strip() or not request.worker.strip() or not 1 <= request.timeout <= decode.MAX_DURATION_MS:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Expected a non-empty type and worker and a timeout between 1 and {decode.MAX_DURATION_MS} ms",
            )
        stream = JobStream(
            job_type=request.type,
            worker=request.worker,
            timeout=request.timeout,
            fetch=tuple(request.fetchVariable),
            tenant_ids=frozenset(_tenants(request.tenantIds, request.tenantFilter)),
        )
        self._call("StreamActivatedJobs", request, context, lambda: None)
        runtime = self.runtime
        with runtime.lock:
            condition = runtime.condition_for(request.type)
            if self.waiting_calls >= MAX_WAITING_CALLS:
                context.abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"Expected to open a job stream, but {MAX_WAITING_CALLS} calls already wait on this engine",
                )
            self.waiting_calls += 1
        handover = _Handover(runtime)

        def ended() -> None:
            # A stream that is ending takes no more pushes; what it holds goes back.
            stream.closed = True
            handover.call_ended()
            self._wake(condition)

        context.add_callback(ended)
        with runtime.lock:
            runtime.open_stream(stream)
        try:
            while True:
                # Pushes land in the stream's buffer meanwhile, also while a job is being written below: the
                # write blocks as long as HTTP/2 flow control holds the call back.
                with runtime.lock:
                    while not (activated := runtime.job_behavior.take_pushed(stream)):
                        if stream.closed or not context.is_active():
                            return
                        condition.wait(_WAKE_SECONDS)
                    self._after_answers(request.type)
                    if stream.closed or not context.is_active():
                        runtime.yield_jobs([activated[0]])
                        return
                job, variables = activated
                if not handover.hold([job]):
                    return
                yield activated_job(job, variables)
                handover.delivered()
        finally:
            with runtime.lock:
                self.waiting_calls -= 1
                runtime.close_stream(stream)

    def _wake(self, condition: threading.Condition) -> None:
        with condition:
            condition.notify_all()

    def CompleteJob(self, request: pb.CompleteJobRequest, context: grpc.ServicerContext) -> pb.CompleteJobResponse:
        return self._run(
            "CompleteJob",
            request,
            context,
            lambda runtime: runtime.complete_job(
                request.jobKey,
                decode.variables(request.variables),
                ad_hoc_decision(request),
                result=job_result(request.result) if request.HasField("result") else None,
            ),
            lambda _: pb.CompleteJobResponse(),
        )

    def FailJob(self, request: pb.FailJobRequest, context: grpc.ServicerContext) -> pb.FailJobResponse:
        return self._run(
            "FailJob",
            request,
            context,
            lambda runtime: runtime.fail_job(
                request.jobKey,
                retries=request.retries,
                error_message=request.errorMessage,
                backoff=decode.duration(request.retryBackOff, what="the retry back-off"),
                variables=decode.variables(request.variables),
            ),
            lambda _: pb.FailJobResponse(),
        )

    def ThrowError(self, request: pb.ThrowErrorRequest, context: grpc.ServicerContext) -> pb.ThrowErrorResponse:
        return self._run(
            "ThrowError",
            request,
            context,
            lambda runtime: runtime.throw_job_error(
                request.jobKey,
                code=request.errorCode,
                message=request.errorMessage,
                variables=decode.variables(request.variables),
            ),
            lambda _: pb.ThrowErrorResponse(),
        )

    def UpdateJobRetries(
        self, request: pb.UpdateJobRetriesRequest, context: grpc.ServicerContext
    ) -> pb.UpdateJobRetriesResponse:
        return self._run(
            "UpdateJobRetries",
            request,
            context,
            lambda runtime: runtime.update_job_retries(request.jobKey, request.retries),
            lambda _: pb.UpdateJobRetriesResponse(),
        )

    def UpdateJobTimeout(
        self, request: pb.UpdateJobTimeoutRequest, context: grpc.ServicerContext
    ) -> pb.UpdateJobTimeoutResponse:
        return self._run(
            "UpdateJobTimeout",
            request,
            context,
            lambda runtime: runtime.update_job_timeout(
                request.jobKey, decode.duration(request.timeout, what="the job timeout")
            ),
            lambda _: pb.UpdateJobTimeoutResponse(),
        )

    # -- messages, signals and decisions -------------------------------------------------------------

    def PublishMessage(
        self, request: pb.PublishMessageRequest, context: grpc.ServicerContext
    ) -> pb.PublishMessageResponse:
        def handle() -> pb.PublishMessageResponse:
            if not request.name:
                raise InvalidArgument("Expected to publish a message with a non-empty name")
            variables = decode.variables(request.variables)
            with self.runtime.lock:
                message = self.runtime.publish_message(
                    request.name,
                    correlation_key=request.correlationKey,
                    ttl=decode.duration(request.timeToLive, what="the time to live"),
                    message_id=request.messageId,
                    variables=variables,
                    tenant_id=request.tenantId or DEFAULT_TENANT,
                )
            return pb.PublishMessageResponse(key=message.key, tenantId=message.tenant_id)

        return self._call("PublishMessage", request, context, handle)

    def BroadcastSignal(
        self, request: pb.BroadcastSignalRequest, context: grpc.ServicerContext
    ) -> pb.BroadcastSignalResponse:
        tenant = request.tenantId or DEFAULT_TENANT
        return self._run(
            "BroadcastSignal",
            request,
            context,
            lambda runtime: runtime.broadcast_signal(
                request.signalName, variables=decode.variables(request.variables), tenant_id=tenant
            ),
            lambda key: pb.BroadcastSignalResponse(key=key, tenantId=tenant),
        )

    def EvaluateDecision(
        self, request: pb.EvaluateDecisionRequest, context: grpc.ServicerContext
    ) -> pb.EvaluateDecisionResponse:
        def handle() -> pb.EvaluateDecisionResponse:
            variables = decode.variables(request.variables)
            with self.runtime.lock:
                entry = self.runtime.find_decision(
                    key=request.decisionKey, decision_id=request.decisionId, tenant_id=request.tenantId
                )
                instance_key = self.runtime.keys.next()
                versions = {d.decision_id: d for d in self.runtime.decisions.values() if d.drg is entry.drg}
            return _evaluated(entry, variables, instance_key, versions)

        return self._call("EvaluateDecision", request, context, handle)

    def EvaluateConditional(
        self, request: pb.EvaluateConditionalRequest, context: grpc.ServicerContext
    ) -> pb.EvaluateConditionalResponse:
        tenant = request.tenantId or DEFAULT_TENANT
        return self._run(
            "EvaluateConditional",
            request,
            context,
            lambda runtime: runtime.evaluate_conditional(
                decode.variables(request.variables),
                tenant_id=tenant,
                definition_key=request.processDefinitionKey if request.HasField("processDefinitionKey") else None,
            ),
            lambda outcome: pb.EvaluateConditionalResponse(
                conditionalEvaluationKey=outcome[0],
                tenantId=tenant,
                processInstances=[
                    pb.ProcessInstanceReference(processDefinitionKey=d, processInstanceKey=p) for d, p in outcome[1]
                ],
            ),
        )


class _Handover:
    """Jobs on their way to a poller: given back if the call ends before they went out.

    Each job is held with the deadline of this activation, so a job that timed out meanwhile and went to
    another worker is not taken from that one.
    """

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._lock = threading.Lock()
        self._held: list[tuple[Job, int]] = []
        self.ended = False

    def hold(self, jobs: list[Job]) -> bool:
        """Hold ``jobs`` until delivered; False (and given back) when the call already ended."""
        held = [(job, job.deadline) for job in jobs]
        with self._lock:
            if not self.ended:
                self._held = held
                return True
        self._give_back(held)
        return False

    def delivered(self) -> None:
        with self._lock:
            self._held = []

    def call_ended(self) -> None:
        with self._lock:
            self.ended = True
            held, self._held = self._held, []
        if held:
            self._give_back(held)

    def _give_back(self, held: list[tuple[Job, int]]) -> None:
        with self._runtime.lock:
            self._runtime.yield_jobs([job for job, deadline in held if job.deadline == deadline])


def _task_key(runtime: Runtime, request: pb.SetVariablesRequest) -> int:
    instance = runtime.instances.get(request.elementInstanceKey)
    task = instance.user_task if instance is not None else None
    return task.key if task is not None else -1


def _tenants(tenant_ids: Iterable[str], tenant_filter: int) -> list[str]:
    """The tenants whose jobs a request may take. ASSIGNED means the tenants assigned to the caller; this
    engine has no identity, so every client is assigned every tenant (with a bearer token configured too:
    the token grants access, not tenants), and ASSIGNED takes jobs of all of them."""
    return [] if tenant_filter == pb.TenantFilter.ASSIGNED else list(tenant_ids)


# JobResultCorrections' fields by the USER_TASK attribute each corrects.
_Correction = Literal["assignee", "dueDate", "followUpDate", "candidateUsers", "candidateGroups", "priority"]
_CORRECTIONS: tuple[tuple[_Correction, str], ...] = (
    ("assignee", "assignee"),
    ("dueDate", "dueDate"),
    ("followUpDate", "followUpDate"),
    ("candidateUsers", "candidateUsersList"),
    ("candidateGroups", "candidateGroupsList"),
    ("priority", "priority"),
)


def job_result(result: pb.JobResult) -> JobResult:
    """A CompleteJob's result: each correction set in the message is a corrected attribute."""
    corrections: dict[str, Any] = {}
    if result.HasField("corrections"):
        given = result.corrections
        for name, attribute in _CORRECTIONS:
            if given.HasField(name):
                value = getattr(given, name)
                corrections[attribute] = list(value.values) if isinstance(value, pb.StringList) else value
    return JobResult(
        type=result.type,
        denied=result.denied,
        denied_reason=result.deniedReason,
        corrections=corrections,
        activate_elements=tuple((e.elementId, decode.variables(e.variables)) for e in result.activateElements),
        completion_condition_fulfilled=result.isCompletionConditionFulfilled,
        cancel_remaining_instances=result.isCancelRemainingInstances,
    )


def _process_metadata(definition: Definition) -> pb.ProcessMetadata:
    return pb.ProcessMetadata(
        bpmnProcessId=definition.bpmn_process_id,
        version=definition.version,
        processDefinitionKey=definition.key,
        resourceName=definition.resource_name,
        tenantId=definition.tenant_id,
    )


def _created(root: ElementInstance) -> pb.CreateProcessInstanceResponse:
    definition = root.definition
    response = pb.CreateProcessInstanceResponse(
        processDefinitionKey=definition.key,
        bpmnProcessId=definition.bpmn_process_id,
        version=definition.version,
        processInstanceKey=root.key,
        tenantId=definition.tenant_id,
    )
    # Set only when there are any: an empty field costs as much to build as a full one.
    if root.tags:
        response.tags.extend(root.tags)
    if root.business_id:
        response.businessId = root.business_id
    return response


# The wire's enum values by name, looked up once rather than through the enum wrapper per job.
_JOB_KINDS = dict(pb.ActivatedJob.JobKind.items())
_LISTENER_EVENT_TYPES = dict(pb.ActivatedJob.ListenerEventType.items())


def activated_job(job: Job, variables: str) -> pb.ActivatedJob:
    """The ActivatedJob message of a job handed out with ``variables`` (a JSON document)."""
    instance = job.instance
    definition = instance.definition
    activated = pb.ActivatedJob(
        key=job.key,
        type=job.type,
        processInstanceKey=instance.process_instance_key,
        bpmnProcessId=definition.bpmn_process_id,
        processDefinitionVersion=definition.version,
        processDefinitionKey=definition.key,
        elementId=instance.element.id,
        elementInstanceKey=instance.key,
        customHeaders=job.custom_headers,
        worker=job.worker,
        retries=job.retries,
        deadline=job.deadline,
        variables=variables,
        tenantId=definition.tenant_id,
        kind=_JOB_KINDS[job.kind],
        # Not the enum's zero (ASSIGNING): a plain job's is UNSPECIFIED.
        listenerEventType=_LISTENER_EVENT_TYPES[job.listener_event_type],
    )
    # The rest only when there is any, as building an empty field costs as much as a full one.
    if job.kind == JobKind.TASK_LISTENER:
        activated.userTask.CopyFrom(_user_task_properties(job))
    tags = instance.root().tags
    if tags:
        activated.tags.extend(tags)
    return activated


_HEADER = "io.camunda.zeebe:"


def _user_task_properties(job: Job) -> pb.UserTaskProperties:
    """A task listener's job: the user task as it was when the listener's job was created (its headers)."""
    headers = json.loads(job.custom_headers)

    def header(name: str) -> str | None:
        value = headers.get(_HEADER + name)
        return value if isinstance(value, str) else None

    def listed(name: str) -> list[str]:
        value = header(name)
        return list(json.loads(value)) if value else []

    key, priority, form_key = header("userTaskKey"), header("priority"), header("formKey")
    return pb.UserTaskProperties(
        action=header("action"),
        assignee=header("assignee"),
        candidateGroups=listed("candidateGroups"),
        candidateUsers=listed("candidateUsers"),
        changedAttributes=listed("changedAttributes"),
        dueDate=header("dueDate"),
        followUpDate=header("followUpDate"),
        formKey=int(form_key) if form_key else None,
        priority=int(priority) if priority else None,
        userTaskKey=int(key) if key else None,
    )


def _evaluated(
    entry: DeployedDecision, variables: dict[str, Any], instance_key: int, versions: dict[str, DeployedDecision]
) -> pb.EvaluateDecisionResponse:
    def dump(value: Any) -> str:
        return json.dumps(feel.to_json(value))

    response = pb.EvaluateDecisionResponse(
        decisionKey=entry.key,
        decisionId=entry.decision_id,
        decisionName=entry.name,
        decisionVersion=entry.version,
        decisionRequirementsId=entry.drg.drg.id,
        decisionRequirementsKey=entry.drg_key,
        tenantId=entry.tenant_id,
        decisionInstanceKey=instance_key,
    )
    try:
        result = dmn.evaluate_decision(entry.drg.drg, entry.decision_id, variables)
    except dmn.DmnEvaluationError as exc:
        response.failedDecisionId = exc.decision_id
        response.failureMessage = str(exc)
        return response
    response.decisionOutput = dump(result.output)
    for evaluated in result.evaluated:
        known = versions.get(evaluated.decision_id, entry)
        response.evaluatedDecisions.append(
            pb.EvaluatedDecision(
                decisionKey=known.key,
                decisionId=evaluated.decision_id,
                decisionName=evaluated.decision_name,
                decisionVersion=known.version,
                decisionType=evaluated.decision_type,
                decisionOutput=dump(evaluated.output),
                tenantId=entry.tenant_id,
                evaluatedInputs=[
                    pb.EvaluatedDecisionInput(inputId=i.input_id, inputName=i.input_name, inputValue=dump(i.value))
                    for i in evaluated.inputs
                ],
                matchedRules=[
                    pb.MatchedDecisionRule(
                        ruleId=r.rule_id,
                        ruleIndex=r.rule_index,
                        evaluatedOutputs=[
                            pb.EvaluatedDecisionOutput(
                                outputId=o.output_id, outputName=o.output_name, outputValue=dump(o.value)
                            )
                            for o in r.outputs
                        ],
                    )
                    for r in evaluated.matched_rules
                ],
            )
        )
    return response


def ad_hoc_decision(request: pb.CompleteJobRequest) -> AdHocDecision | None:
    """The ad-hoc sub-process part of CompleteJob's JobResult, if it has one."""
    if not request.HasField("result") or request.result.type != "adHocSubProcess":
        return None
    result = request.result
    return AdHocDecision(
        activate=[
            (a.elementId, decode.variables(a.variables, what="activateElements.variables"))
            for a in result.activateElements
        ],
        completion_fulfilled=result.isCompletionConditionFulfilled,
        cancel_remaining=result.isCancelRemainingInstances,
    )
