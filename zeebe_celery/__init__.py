"""zeebe-celery: run Camunda 8 (Zeebe) service-task jobs on a Celery fleet."""

from zeebe_celery._version import __version__
from zeebe_celery.config import BridgeSettings, ZeebeSettings
from zeebe_celery.connectors import CamundaRuntime, InboundConnector, OutboundConnector, RunConfig, outbound_connector
from zeebe_celery.errors import (
    BpmnError,
    ConfigurationError,
    GatewayError,
    TerminalError,
    TransientError,
    ZeebeCeleryError,
)
from zeebe_celery.gateway import RetryPolicy, ZeebeClient
from zeebe_celery.job import Job, JobKind, ListenerEventType, UserTaskProperties
from zeebe_celery.results import ActivateElement, AdHocResult, Corrections, Deny, JobResult
from zeebe_celery.simple import GatewayClient
from zeebe_celery.task import zeebe_task

__all__ = [
    "ActivateElement",
    "AdHocResult",
    "BpmnError",
    "BridgeSettings",
    "CamundaRuntime",
    "ConfigurationError",
    "Corrections",
    "Deny",
    "GatewayClient",
    "GatewayError",
    "InboundConnector",
    "Job",
    "JobKind",
    "JobResult",
    "ListenerEventType",
    "OutboundConnector",
    "RetryPolicy",
    "RunConfig",
    "TerminalError",
    "TransientError",
    "UserTaskProperties",
    "ZeebeCeleryError",
    "ZeebeClient",
    "ZeebeSettings",
    "__version__",
    "outbound_connector",
    "zeebe_task",
]
