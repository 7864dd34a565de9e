"""The event RPCs of :class:`~zeebe_celery.gateway.client.ZeebeClient`: publishing messages,
broadcasting signals and (Camunda 8.9) evaluating root conditional start events."""

from __future__ import annotations

from zeebe_celery.gateway.base import ClientBase
from zeebe_celery.gateway.encoding import DurationLike, Variables, dumps_variables, ms
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.types import ConditionalEvaluation, PublishedMessage, Signal
from zeebe_celery.gateway.versions import EVALUATE_CONDITIONAL

__all__ = ["MessagesMixin"]


class MessagesMixin(ClientBase):
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
        """Publish a message; it waits up to ``time_to_live`` for a subscription to correlate to.

        A message with the ``message_id`` of one still alive is refused (AlreadyExistsError).
        """
        request = pb.PublishMessageRequest(
            name=name,
            correlationKey=correlation_key,
            timeToLive=ms(time_to_live),
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

    def evaluate_conditional(
        self,
        variables: Variables,
        *,
        process_definition_key: int | None = None,
        tenant_id: str | None = None,
    ) -> ConditionalEvaluation:
        """Evaluate the root conditional start events against ``variables`` (of every process, or of the
        one ``process_definition_key``), starting an instance for each that holds (Camunda 8.9).

        Raises UnsupportedByGatewayError before 8.9; NotFoundError for an unknown process definition,
        InvalidArgumentError for bad input and PermissionDeniedError when the client may not start the
        matched processes.
        """
        self._require(EVALUATE_CONDITIONAL, rpc="EvaluateConditional")
        request = pb.EvaluateConditionalRequest(
            tenantId=tenant_id or "",
            processDefinitionKey=process_definition_key,
            variables=dumps_variables(variables) or "{}",
        )
        return ConditionalEvaluation.from_pb(self._unary("EvaluateConditional", request))
