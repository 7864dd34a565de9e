"""The resource RPCs of :class:`~zeebe_celery.gateway.client.ZeebeClient`: deploying and deleting
processes, decisions and forms, and evaluating decisions."""

from __future__ import annotations

import warnings
from pathlib import Path

from zeebe_celery.gateway.base import ClientBase
from zeebe_celery.gateway.encoding import Variables, dumps_variables
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.types import DecisionEvaluation, DeletedResource, Deployment, ProcessMetadata
from zeebe_celery.gateway.versions import DELETE_HISTORY

__all__ = ["ResourcesMixin"]


def _read(resources: tuple[str | Path | tuple[str, bytes], ...], rpc: str) -> list[tuple[str, bytes]]:
    """(name, content) of each resource. Raises ValueError for none, FileNotFoundError for a missing path."""
    if not resources:
        raise ValueError(f"{rpc} needs at least one resource")
    items = []
    for resource in resources:
        if isinstance(resource, tuple):
            items.append(resource)
        else:
            path = Path(resource)
            items.append((path.name, path.read_bytes()))
    return items


class ResourcesMixin(ClientBase):
    def deploy_resource(self, *resources: str | Path | tuple[str, bytes], tenant_id: str | None = None) -> Deployment:
        """Deploy BPMN, DMN or form resources atomically: paths, or (name, content) pairs.

        Raises FileNotFoundError for a missing path, before anything is sent.
        """
        items = [pb.Resource(name=name, content=content) for name, content in _read(resources, "deploy_resource")]
        request = pb.DeployResourceRequest(resources=items, tenantId=tenant_id or "")
        return Deployment.from_pb(self._unary("DeployResource", request))

    def deploy_process(self, *resources: str | Path | tuple[str, bytes]) -> Deployment:
        """Deploy BPMN processes with the DeployProcess RPC, which Zeebe deprecated in 8.0 for
        DeployResource; kept for gateways that only serve that. Warns DeprecationWarning."""
        warnings.warn("DeployProcess is deprecated since Zeebe 8.0: use deploy_resource", DeprecationWarning, 2)
        request = pb.DeployProcessRequest(
            processes=[pb.ProcessRequestObject(name=n, definition=c) for n, c in _read(resources, "deploy_process")]
        )
        r = self._unary("DeployProcess", request)
        processes = tuple(
            ProcessMetadata(p.bpmnProcessId, p.version, p.processDefinitionKey, p.resourceName, p.tenantId)
            for p in r.processes
        )
        return Deployment(key=r.key, tenant_id="", processes=processes)

    def delete_resource(
        self, resource_key: int, *, delete_history: bool = False, operation_reference: int | None = None
    ) -> DeletedResource:
        """Delete a deployed process, decision requirements graph or form by its key.

        Deleting a process cancels its running instances. ``delete_history`` (8.9) also deletes a
        process's history, in a batch operation the answer names.
        """
        if delete_history:
            self._require(DELETE_HISTORY, rpc="DeleteResource")
        request = pb.DeleteResourceRequest(
            resourceKey=resource_key,
            operationReference=operation_reference,
            deleteHistory=True if delete_history else None,
        )
        return DeletedResource.from_pb(self._unary("DeleteResource", request))

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
