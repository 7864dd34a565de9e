"""The typed, synchronous Zeebe gateway client: one method per RPC of the Camunda 8.9 Gateway service.

The methods live with their concern (:mod:`~zeebe_celery.gateway.jobs`, :mod:`~zeebe_celery.gateway.processes`,
:mod:`~zeebe_celery.gateway.resources`, :mod:`~zeebe_celery.gateway.messages`) on the shared plumbing of
:mod:`~zeebe_celery.gateway.base`. Every call has a deadline, gRPC errors are mapped to
:mod:`zeebe_celery.errors`, and transient ones are retried by one :class:`RetryPolicy`. Against an older
gateway, a call that uses a feature the gateway would ignore raises UnsupportedByGatewayError (see
:mod:`~zeebe_celery.gateway.versions`).
"""

from __future__ import annotations

from collections.abc import Callable

from zeebe_celery.gateway.base import ChannelFactory, JobCall
from zeebe_celery.gateway.encoding import DurationLike, Variables, dumps_variables
from zeebe_celery.gateway.instructions import ActivateInstruction, MoveInstruction
from zeebe_celery.gateway.jobs import JobsMixin, TenantFilter
from zeebe_celery.gateway.messages import MessagesMixin
from zeebe_celery.gateway.processes import ProcessesMixin
from zeebe_celery.gateway.resources import ResourcesMixin
from zeebe_celery.gateway.types import (
    ConditionalEvaluation,
    DecisionEvaluation,
    DeletedResource,
    Deployment,
    ProcessInstance,
    ProcessInstanceResult,
    PublishedMessage,
    Signal,
    Topology,
)

# The values the methods take and return are re-exported for the code that imported them from here.
__all__ = [
    "ActivateInstruction",
    "ChannelFactory",
    "ConditionalEvaluation",
    "DecisionEvaluation",
    "DeletedResource",
    "Deployment",
    "DurationLike",
    "JobCall",
    "MoveInstruction",
    "ProcessInstance",
    "ProcessInstanceResult",
    "PublishedMessage",
    "Signal",
    "TenantFilter",
    "Topology",
    "Variables",
    "ZeebeClient",
    "dumps_variables",
]


class ZeebeClient(JobsMixin, ProcessesMixin, ResourcesMixin, MessagesMixin):
    """A synchronous client for the whole Zeebe gateway API.

    Construct it from :class:`~zeebe_celery.config.ZeebeSettings` (or :meth:`from_env`); it connects
    on first use. Variables go in as dicts or pydantic models and come out as dicts. Durations are
    seconds, or text such as ``"5m"``. Raises subclasses of :class:`~zeebe_celery.errors.GatewayError`.
    """

    def __enter__(self) -> ZeebeClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

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
