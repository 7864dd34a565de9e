"""Typed values the client takes and returns instead of raw protobuf messages."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from zeebe_celery.gateway.instructions import ActivateInstruction
from zeebe_celery.gateway.proto import gateway_pb2 as pb

__all__ = [
    "ActivateInstruction",
    "BatchOperation",
    "BrokerInfo",
    "ConditionalEvaluation",
    "DecisionEvaluation",
    "DecisionMetadata",
    "DecisionRequirementsMetadata",
    "DeletedResource",
    "Deployment",
    "EvaluatedDecision",
    "FormMetadata",
    "MatchedRule",
    "PartitionHealth",
    "PartitionInfo",
    "PartitionRole",
    "ProcessInstance",
    "ProcessInstanceReference",
    "ProcessInstanceResult",
    "ProcessMetadata",
    "PublishedMessage",
    "Signal",
    "Topology",
]


def loads_object(text: str) -> dict[str, Any]:
    """Parse a JSON document the gateway sent; an empty string is an empty object."""
    if not text:
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {"value": value}


class PartitionRole(Enum):
    LEADER = pb.Partition.LEADER
    FOLLOWER = pb.Partition.FOLLOWER
    INACTIVE = pb.Partition.INACTIVE


class PartitionHealth(Enum):
    HEALTHY = pb.Partition.HEALTHY
    UNHEALTHY = pb.Partition.UNHEALTHY
    DEAD = pb.Partition.DEAD


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    partition_id: int
    role: PartitionRole
    health: PartitionHealth


@dataclass(frozen=True, slots=True)
class BrokerInfo:
    node_id: int
    host: str
    port: int
    version: str
    partitions: tuple[PartitionInfo, ...]


@dataclass(frozen=True, slots=True)
class Topology:
    """The cluster as the gateway sees it."""

    brokers: tuple[BrokerInfo, ...]
    cluster_size: int
    partitions_count: int
    replication_factor: int
    gateway_version: str
    cluster_id: str = ""  # sent by 8.9 gateways

    @classmethod
    def from_pb(cls, response: pb.TopologyResponse) -> Topology:
        return cls(
            brokers=tuple(
                BrokerInfo(
                    node_id=b.nodeId,
                    host=b.host,
                    port=b.port,
                    version=b.version,
                    partitions=tuple(
                        PartitionInfo(p.partitionId, PartitionRole(p.role), PartitionHealth(p.health))
                        for p in b.partitions
                    ),
                )
                for b in response.brokers
            ),
            cluster_size=response.clusterSize,
            partitions_count=response.partitionsCount,
            replication_factor=response.replicationFactor,
            gateway_version=response.gatewayVersion,
            cluster_id=response.clusterId,
        )

    def healthy_leaders(self) -> set[int]:
        """The ids of partitions that have a healthy leader."""
        return {
            p.partition_id
            for b in self.brokers
            for p in b.partitions
            if p.role is PartitionRole.LEADER and p.health is PartitionHealth.HEALTHY
        }

    @property
    def is_healthy(self) -> bool:
        """Every partition has a healthy leader."""
        return self.partitions_count > 0 and len(self.healthy_leaders()) == self.partitions_count


@dataclass(frozen=True, slots=True)
class ProcessMetadata:
    bpmn_process_id: str
    version: int
    process_definition_key: int
    resource_name: str
    tenant_id: str


@dataclass(frozen=True, slots=True)
class DecisionMetadata:
    decision_id: str
    decision_name: str
    version: int
    decision_key: int
    decision_requirements_id: str
    decision_requirements_key: int
    tenant_id: str


@dataclass(frozen=True, slots=True)
class DecisionRequirementsMetadata:
    decision_requirements_id: str
    decision_requirements_name: str
    version: int
    decision_requirements_key: int
    resource_name: str
    tenant_id: str


@dataclass(frozen=True, slots=True)
class FormMetadata:
    form_id: str
    version: int
    form_key: int
    resource_name: str
    tenant_id: str


@dataclass(frozen=True, slots=True)
class Deployment:
    """What one DeployResource call created."""

    key: int
    tenant_id: str
    processes: tuple[ProcessMetadata, ...] = ()
    decisions: tuple[DecisionMetadata, ...] = ()
    decision_requirements: tuple[DecisionRequirementsMetadata, ...] = ()
    forms: tuple[FormMetadata, ...] = ()

    @classmethod
    def from_pb(cls, response: pb.DeployResourceResponse) -> Deployment:
        processes, decisions, drgs, forms = [], [], [], []
        for item in response.deployments:
            kind = item.WhichOneof("Metadata")
            if kind == "process":
                p = item.process
                processes.append(
                    ProcessMetadata(p.bpmnProcessId, p.version, p.processDefinitionKey, p.resourceName, p.tenantId)
                )
            elif kind == "decision":
                d = item.decision
                decisions.append(
                    DecisionMetadata(
                        d.dmnDecisionId,
                        d.dmnDecisionName,
                        d.version,
                        d.decisionKey,
                        d.dmnDecisionRequirementsId,
                        d.decisionRequirementsKey,
                        d.tenantId,
                    )
                )
            elif kind == "decisionRequirements":
                r = item.decisionRequirements
                drgs.append(
                    DecisionRequirementsMetadata(
                        r.dmnDecisionRequirementsId,
                        r.dmnDecisionRequirementsName,
                        r.version,
                        r.decisionRequirementsKey,
                        r.resourceName,
                        r.tenantId,
                    )
                )
            elif kind == "form":
                f = item.form
                forms.append(FormMetadata(f.formId, f.version, f.formKey, f.resourceName, f.tenantId))
        return cls(
            key=response.key,
            tenant_id=response.tenantId,
            processes=tuple(processes),
            decisions=tuple(decisions),
            decision_requirements=tuple(drgs),
            forms=tuple(forms),
        )


@dataclass(frozen=True, slots=True)
class ProcessInstance:
    """A created instance; ``tags`` (8.8) and ``business_id`` (8.9) as the gateway echoed them."""

    process_instance_key: int
    process_definition_key: int
    bpmn_process_id: str
    version: int
    tenant_id: str
    tags: tuple[str, ...] = ()
    business_id: str | None = None

    @classmethod
    def from_pb(cls, r: pb.CreateProcessInstanceResponse) -> ProcessInstance:
        return cls(
            process_instance_key=r.processInstanceKey,
            process_definition_key=r.processDefinitionKey,
            bpmn_process_id=r.bpmnProcessId,
            version=r.version,
            tenant_id=r.tenantId,
            tags=tuple(r.tags),
            business_id=r.businessId if r.HasField("businessId") else None,
        )


@dataclass(frozen=True, slots=True)
class ProcessInstanceResult:
    """A finished instance with the variables it ended with."""

    process_instance_key: int
    process_definition_key: int
    bpmn_process_id: str
    version: int
    tenant_id: str
    variables: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    business_id: str | None = None

    @classmethod
    def from_pb(cls, r: pb.CreateProcessInstanceWithResultResponse) -> ProcessInstanceResult:
        return cls(
            process_instance_key=r.processInstanceKey,
            process_definition_key=r.processDefinitionKey,
            bpmn_process_id=r.bpmnProcessId,
            version=r.version,
            tenant_id=r.tenantId,
            variables=loads_object(r.variables),
            tags=tuple(r.tags),
            business_id=r.businessId if r.HasField("businessId") else None,
        )


@dataclass(frozen=True, slots=True)
class PublishedMessage:
    key: int
    tenant_id: str


@dataclass(frozen=True, slots=True)
class Signal:
    key: int
    tenant_id: str


@dataclass(frozen=True, slots=True)
class MatchedRule:
    rule_id: str
    rule_index: int
    outputs: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EvaluatedDecision:
    decision_id: str
    decision_key: int
    decision_name: str
    decision_version: int
    decision_type: str
    output: Any
    inputs: dict[str, Any]
    matched_rules: tuple[MatchedRule, ...]
    decision_evaluation_instance_key: str = ""  # sent by 8.8 gateways


@dataclass(frozen=True, slots=True)
class DecisionEvaluation:
    """The result of EvaluateDecision; ``failure_message`` is set when the evaluation failed."""

    decision_id: str
    decision_key: int
    decision_name: str
    decision_version: int
    decision_requirements_id: str
    decision_requirements_key: int
    decision_instance_key: int
    output: Any
    evaluated_decisions: tuple[EvaluatedDecision, ...]
    failed_decision_id: str
    failure_message: str
    tenant_id: str
    decision_evaluation_key: int = 0  # sent by 8.8 gateways; decision_instance_key is its deprecated name

    @classmethod
    def from_pb(cls, r: pb.EvaluateDecisionResponse) -> DecisionEvaluation:
        def parse(text: str) -> Any:
            return json.loads(text) if text else None

        return cls(
            decision_id=r.decisionId,
            decision_key=r.decisionKey,
            decision_name=r.decisionName,
            decision_version=r.decisionVersion,
            decision_requirements_id=r.decisionRequirementsId,
            decision_requirements_key=r.decisionRequirementsKey,
            decision_instance_key=r.decisionInstanceKey,
            output=parse(r.decisionOutput),
            evaluated_decisions=tuple(
                EvaluatedDecision(
                    decision_id=d.decisionId,
                    decision_key=d.decisionKey,
                    decision_name=d.decisionName,
                    decision_version=d.decisionVersion,
                    decision_type=d.decisionType,
                    output=parse(d.decisionOutput),
                    inputs={i.inputName or i.inputId: parse(i.inputValue) for i in d.evaluatedInputs},
                    matched_rules=tuple(
                        MatchedRule(
                            rule_id=m.ruleId,
                            rule_index=m.ruleIndex,
                            outputs={o.outputName or o.outputId: parse(o.outputValue) for o in m.evaluatedOutputs},
                        )
                        for m in d.matchedRules
                    ),
                    decision_evaluation_instance_key=d.decisionEvaluationInstanceKey,
                )
                for d in r.evaluatedDecisions
            ),
            failed_decision_id=r.failedDecisionId,
            failure_message=r.failureMessage,
            tenant_id=r.tenantId,
            decision_evaluation_key=r.decisionEvaluationKey,
        )


@dataclass(frozen=True, slots=True)
class BatchOperation:
    """A batch operation the gateway started, e.g. deleting a process's history."""

    key: str
    type: str


@dataclass(frozen=True, slots=True)
class DeletedResource:
    """What DeleteResource answered: the key (8.9 gateways echo it) and the history-deleting batch
    operation, when ``delete_history`` started one."""

    resource_key: str
    batch_operation: BatchOperation | None = None

    @classmethod
    def from_pb(cls, r: pb.DeleteResourceResponse) -> DeletedResource:
        batch = None
        if r.HasField("batchOperation"):
            kind = pb.BatchOperationCreatedResult.BatchOperationTypeEnum.Name(r.batchOperation.batchOperationType)
            batch = BatchOperation(key=r.batchOperation.batchOperationKey, type=kind)
        return cls(resource_key=r.resourceKey, batch_operation=batch)


@dataclass(frozen=True, slots=True)
class ProcessInstanceReference:
    process_definition_key: int
    process_instance_key: int


@dataclass(frozen=True, slots=True)
class ConditionalEvaluation:
    """What EvaluateConditional answered: the instances its root conditional start events created."""

    key: int
    tenant_id: str
    process_instances: tuple[ProcessInstanceReference, ...] = ()

    @classmethod
    def from_pb(cls, r: pb.EvaluateConditionalResponse) -> ConditionalEvaluation:
        return cls(
            key=r.conditionalEvaluationKey,
            tenant_id=r.tenantId,
            process_instances=tuple(
                ProcessInstanceReference(p.processDefinitionKey, p.processInstanceKey) for p in r.processInstances
            ),
        )
