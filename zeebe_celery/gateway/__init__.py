"""The gateway client: the only code in zeebe-celery that touches gRPC."""

from zeebe_celery.gateway.client import JobCall, TenantFilter, ZeebeClient, dumps_variables
from zeebe_celery.gateway.instructions import MoveInstruction
from zeebe_celery.gateway.oauth import OAuthInterceptor, OAuthTokenProvider
from zeebe_celery.gateway.retry import RetryPolicy
from zeebe_celery.gateway.types import (
    ActivateInstruction,
    BatchOperation,
    BrokerInfo,
    ConditionalEvaluation,
    DecisionEvaluation,
    DeletedResource,
    Deployment,
    PartitionHealth,
    PartitionInfo,
    PartitionRole,
    ProcessInstance,
    ProcessInstanceReference,
    ProcessInstanceResult,
    PublishedMessage,
    Signal,
    Topology,
)

__all__ = [
    "ActivateInstruction",
    "BatchOperation",
    "BrokerInfo",
    "ConditionalEvaluation",
    "DecisionEvaluation",
    "DeletedResource",
    "Deployment",
    "JobCall",
    "MoveInstruction",
    "OAuthInterceptor",
    "OAuthTokenProvider",
    "PartitionHealth",
    "PartitionInfo",
    "PartitionRole",
    "ProcessInstance",
    "ProcessInstanceReference",
    "ProcessInstanceResult",
    "PublishedMessage",
    "RetryPolicy",
    "Signal",
    "TenantFilter",
    "Topology",
    "ZeebeClient",
    "dumps_variables",
]
