"""The gateway client: the only code in zeebe-celery that touches gRPC."""

from zeebe_celery.gateway.client import JobCall, ZeebeClient, dumps_variables
from zeebe_celery.gateway.oauth import OAuthInterceptor, OAuthTokenProvider
from zeebe_celery.gateway.retry import RetryPolicy
from zeebe_celery.gateway.types import (
    ActivateInstruction,
    BrokerInfo,
    DecisionEvaluation,
    Deployment,
    PartitionHealth,
    PartitionInfo,
    PartitionRole,
    ProcessInstance,
    ProcessInstanceResult,
    PublishedMessage,
    Signal,
    Topology,
)

__all__ = [
    "ActivateInstruction",
    "BrokerInfo",
    "DecisionEvaluation",
    "Deployment",
    "JobCall",
    "OAuthInterceptor",
    "OAuthTokenProvider",
    "PartitionHealth",
    "PartitionInfo",
    "PartitionRole",
    "ProcessInstance",
    "ProcessInstanceResult",
    "PublishedMessage",
    "RetryPolicy",
    "Signal",
    "Topology",
    "ZeebeClient",
    "dumps_variables",
]
