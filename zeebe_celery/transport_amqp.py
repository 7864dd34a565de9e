"""The worker's AMQP transport (RabbitMQ): kombu's own, with the bridge's queues guarded against poison messages.

On RabbitMQ a malformed message stops the worker as it does on Redis ("Unrecoverable error"), and since it
was never acknowledged RabbitMQ hands it to the next worker, which dies too. The worker of an app with
``@zeebe_task`` handlers on an AMQP broker therefore consumes through :class:`Transport`: each message
delivered from a bridge queue is checked with the same rules as on Redis (:class:`~zeebe_celery.transport.
QueueGuard`), and a poison one is set aside on the queue's dead-letter list in the flow-control Redis, logged
once and counted, then acknowledged, instead of reaching kombu, Celery or a handler. What is set aside is the
message as the Redis transport would have stored it: its body (base64), content type, headers and delivery
information.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from typing import Any

import amqp
from kombu.transport import pyamqp

from zeebe_celery.deadletter_amqp import KEPT_PROPERTIES
from zeebe_celery.redis_location import connect
from zeebe_celery.transport import DEAD_LETTER_URL_OPTION, OTHERS_OPTION, PREFIX_OPTION, QUEUES_OPTION, QueueGuard

__all__ = ["GuardedChannel", "SSLTransport", "Transport", "envelope"]


def envelope(message: amqp.Message) -> bytes:
    """``message`` as kombu's Redis transport stores one: what the guard's rules read."""
    properties = message.properties
    info = message.delivery_info or {}
    body = message.body
    stored = {
        "body": base64.b64encode(body if isinstance(body, bytes) else str(body).encode()).decode(),
        "content-type": properties.get("content_type"),
        "content-encoding": properties.get("content_encoding"),
        "headers": properties.get("application_headers") or {},
        "properties": {
            "delivery_tag": str(message.delivery_tag),
            "body_encoding": "base64",
            "delivery_info": {"exchange": info.get("exchange", ""), "routing_key": info.get("routing_key", "")},
            # What a requeue (zeebe_celery.deadletter_amqp) publishes again with the message.
            **{name: properties[name] for name in KEPT_PROPERTIES if properties.get(name) is not None},
        },
    }
    # AMQP headers may carry timestamps and decimals, which JSON has not: they are checked as their text.
    return json.dumps(stored, default=str).encode()


class GuardedChannel(pyamqp.Channel):
    """kombu's AMQP channel whose consumers of a bridge queue see only messages the guard admits."""

    connection: GuardedConnection

    def basic_consume(
        self, queue: str = "", *args: Any, callback: Callable[..., Any] | None = None, **kwargs: Any
    ) -> Any:
        guard = self.connection.guard
        if guard is not None and callback is not None and guard.tasks_of(queue) is not None:
            callback = self._guarded(guard, queue, callback)
        return super().basic_consume(queue, *args, callback=callback, **kwargs)

    def _guarded(self, guard: QueueGuard, queue: str, callback: Callable[..., Any]) -> Callable[[amqp.Message], Any]:
        def deliver(message: amqp.Message) -> Any:
            # A message that cannot be set aside raises here, unacknowledged: RabbitMQ keeps it.
            if guard.admit(queue, envelope(message)):
                return callback(message)
            self.basic_ack(message.delivery_tag)
            return None

        return deliver


class GuardedConnection(pyamqp.Connection):
    Channel = GuardedChannel
    guard: QueueGuard | None = None


class Transport(pyamqp.Transport):
    """kombu's AMQP transport, consuming through :class:`GuardedChannel` (settings from the transport options)."""

    Connection = GuardedConnection

    def establish_connection(self) -> Any:
        connection = super().establish_connection()  # type: ignore[no-untyped-call]
        options: dict[str, Any] = self.client.transport_options if self.client is not None else {}
        url = options.get(DEAD_LETTER_URL_OPTION)
        if url:
            connection.guard = QueueGuard(
                options.get(QUEUES_OPTION, {}),
                others=options.get(OTHERS_OPTION, ()),
                prefix=options.get(PREFIX_OPTION, ""),
                sep="",
                client=functools.cache(lambda: connect(url, socket_timeout=5, socket_connect_timeout=5)),
            )
        return connection


class SSLTransport(Transport, pyamqp.SSLTransport):
    """:class:`Transport` over TLS, for an ``amqps://`` broker: TLS is on even without ``broker_use_ssl``."""
