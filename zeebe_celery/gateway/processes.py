"""The process-instance RPCs of :class:`~zeebe_celery.gateway.client.ZeebeClient`: create (with tags,
business id and runtime instructions), create and wait for the result, cancel, modify, migrate, set
variables and resolve incidents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from zeebe_celery.gateway.base import ClientBase
from zeebe_celery.gateway.encoding import (
    DEFAULT_GATEWAY_REQUEST,
    LONG_POLL_SLACK,
    DurationLike,
    Variables,
    dumps_variables,
    ms,
)
from zeebe_celery.gateway.instructions import ActivateInstruction, MoveInstruction
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.types import ProcessInstance, ProcessInstanceResult
from zeebe_celery.gateway.versions import (
    BUSINESS_ID,
    MOVE_INSTRUCTIONS,
    PROCESS_TAGS,
    RUNTIME_INSTRUCTIONS,
    TERMINATE_BY_ELEMENT_ID,
)

__all__ = ["ProcessesMixin"]

_Modify = pb.ModifyProcessInstanceRequest


def _variable_instructions(variables: Mapping[str, Mapping[str, Any]]) -> list[_Modify.VariableInstruction]:
    return [_Modify.VariableInstruction(variables=dumps_variables(v), scopeId=scope) for scope, v in variables.items()]


class ProcessesMixin(ClientBase):
    def _create_request(
        self,
        rpc: str,
        bpmn_process_id: str | None,
        process_definition_key: int | None,
        version: int,
        variables: Variables,
        start_at: Sequence[str],
        tenant_id: str | None,
        *,
        tags: Sequence[str],
        business_id: str | None,
        terminate_after: Sequence[str],
        operation_reference: int | None,
    ) -> pb.CreateProcessInstanceRequest:
        """Raises ValueError for a request that names no process or two; UnsupportedByGatewayError for
        tags or runtime instructions before 8.8 and a business id before 8.9."""
        if (bpmn_process_id is None) == (process_definition_key is None):
            raise ValueError("give exactly one of bpmn_process_id and process_definition_key")
        if isinstance(tags, str):
            raise TypeError("tags is a list of tags, not one string")
        if tags:
            self._require(PROCESS_TAGS, rpc=rpc)
        if terminate_after:
            self._require(RUNTIME_INSTRUCTIONS, rpc=rpc)
        if business_id is not None:
            self._require(BUSINESS_ID, rpc=rpc)
        return pb.CreateProcessInstanceRequest(
            bpmnProcessId=bpmn_process_id or "",
            processDefinitionKey=process_definition_key or 0,
            version=version,
            variables=dumps_variables(variables),
            startInstructions=[pb.ProcessInstanceCreationStartInstruction(elementId=e) for e in start_at],
            tenantId=tenant_id or "",
            operationReference=operation_reference,
            runtimeInstructions=[
                pb.ProcessInstanceCreationRuntimeInstruction(
                    terminate=pb.TerminateProcessInstanceInstruction(afterElementId=element_id)
                )
                for element_id in terminate_after
            ],
            tags=list(tags),
            businessId=business_id,
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
        tags: Sequence[str] = (),
        business_id: str | None = None,
        terminate_after: Sequence[str] = (),
        operation_reference: int | None = None,
    ) -> ProcessInstance:
        """Start an instance of the latest (or the given ``version``) of a process.

        ``tags`` (8.8) are attached to the instance; ``business_id`` (8.9) identifies it within its
        process definition, and with uniqueness control on, a second active instance with the same one is
        refused (AlreadyExistsError). ``terminate_after`` (8.8) ends the instance once one of those
        elements completes. ``operation_reference`` (8.6) is a number of your own that Zeebe writes on the
        records this makes.
        """
        request = self._create_request(
            "CreateProcessInstance",
            bpmn_process_id,
            process_definition_key,
            version,
            variables,
            start_at,
            tenant_id,
            tags=tags,
            business_id=business_id,
            terminate_after=terminate_after,
            operation_reference=operation_reference,
        )
        return ProcessInstance.from_pb(self._unary("CreateProcessInstance", request))

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
        tags: Sequence[str] = (),
        business_id: str | None = None,
        terminate_after: Sequence[str] = (),
        operation_reference: int | None = None,
    ) -> ProcessInstanceResult:
        """Start an instance and wait up to ``request_timeout`` for it to complete.

        ``request_timeout`` 0 is the gateway's own request timeout (15 s unless configured otherwise).
        The other options are those of :meth:`create_process_instance`.
        """
        inner = self._create_request(
            "CreateProcessInstanceWithResult",
            bpmn_process_id,
            process_definition_key,
            version,
            variables,
            start_at,
            tenant_id,
            tags=tags,
            business_id=business_id,
            terminate_after=terminate_after,
            operation_reference=operation_reference,
        )
        wait_ms = ms(request_timeout)
        request = pb.CreateProcessInstanceWithResultRequest(
            request=inner, requestTimeout=wait_ms, fetchVariables=list(fetch_variables)
        )
        waits = wait_ms / 1000 if wait_ms > 0 else DEFAULT_GATEWAY_REQUEST
        r = self._unary("CreateProcessInstanceWithResult", request, timeout=waits + LONG_POLL_SLACK)
        return ProcessInstanceResult.from_pb(r)

    def cancel_process_instance(self, process_instance_key: int, *, operation_reference: int | None = None) -> None:
        """Cancel a running instance."""
        request = pb.CancelProcessInstanceRequest(
            processInstanceKey=process_instance_key, operationReference=operation_reference
        )
        self._unary("CancelProcessInstance", request)

    def modify_process_instance(
        self,
        process_instance_key: int,
        *,
        activate: Sequence[ActivateInstruction] = (),
        terminate: Sequence[int] = (),
        terminate_elements: Sequence[str] = (),
        move: Sequence[MoveInstruction] = (),
        operation_reference: int | None = None,
    ) -> None:
        """Activate elements and/or terminate element instances of a running instance.

        ``terminate`` names element instances by key; ``terminate_elements`` (8.9) every instance of
        those elements; ``move`` (8.9) moves element instances to other elements.
        """
        if terminate_elements:
            self._require(TERMINATE_BY_ELEMENT_ID, rpc="ModifyProcessInstance")
        if move:
            self._require(MOVE_INSTRUCTIONS, rpc="ModifyProcessInstance")
        request = _Modify(
            processInstanceKey=process_instance_key,
            activateInstructions=[
                _Modify.ActivateInstruction(
                    elementId=a.element_id,
                    ancestorElementInstanceKey=a.ancestor_element_instance_key,
                    variableInstructions=_variable_instructions(a.variables),
                )
                for a in activate
            ],
            terminateInstructions=[
                *(_Modify.TerminateInstruction(elementInstanceKey=k) for k in terminate),
                *(_Modify.TerminateInstruction(elementId=e) for e in terminate_elements),
            ],
            moveInstructions=[
                _Modify.MoveInstruction(
                    sourceElementInstanceKey=m.source_element_instance_key,
                    sourceElementId=m.source_element_id,
                    targetElementId=m.target_element_id,
                    variableInstructions=_variable_instructions(m.variables),
                    ancestorElementInstanceKey=m.ancestor_element_instance_key,
                    inferAncestorScopeFromSourceHierarchy=m.infer_ancestor_scope,
                    useSourceParentKeyAsAncestorScopeKey=m.use_source_parent_as_ancestor,
                )
                for m in move
            ],
            operationReference=operation_reference,
        )
        self._unary("ModifyProcessInstance", request)

    def migrate_process_instance(
        self,
        process_instance_key: int,
        *,
        target_process_definition_key: int,
        mappings: Mapping[str, str] | Sequence[tuple[str, str]],
        operation_reference: int | None = None,
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
        request = pb.MigrateProcessInstanceRequest(
            processInstanceKey=process_instance_key, migrationPlan=plan, operationReference=operation_reference
        )
        self._unary("MigrateProcessInstance", request)

    def set_variables(
        self,
        element_instance_key: int,
        variables: Variables,
        *,
        local: bool = False,
        operation_reference: int | None = None,
    ) -> int:
        """Merge ``variables`` into a scope (an instance or element instance); returns the command key.

        On 8.8+ a scope with a user task may run its updating task listeners first: a listener job left
        unanswered past the request timeout ends the call with DeadlineExceededError.
        """
        request = pb.SetVariablesRequest(
            elementInstanceKey=element_instance_key,
            variables=dumps_variables(variables) or "{}",
            local=local,
            operationReference=operation_reference,
        )
        return int(self._unary("SetVariables", request).key)

    def resolve_incident(self, incident_key: int, *, operation_reference: int | None = None) -> None:
        """Mark an incident resolved; fix its cause (retries, variables) first."""
        request = pb.ResolveIncidentRequest(incidentKey=incident_key, operationReference=operation_reference)
        self._unary("ResolveIncident", request)
