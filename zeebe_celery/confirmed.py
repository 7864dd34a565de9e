"""Publishing through kombu to a broker that is not Redis (RabbitMQ), with publisher confirms.

AMQP's ``basic.publish`` returns before the broker has the message; a broker that refuses it afterwards
(a full or deleted queue, a node going down) would lose the job silently. The poller's connection therefore
runs with kombu's ``confirm_publish``: each publish waits for the broker's ack, and a nack or a lost
connection raises, so the poller gives the job back to Zeebe at once. A job counts as dispatched only when
the broker has it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

from celery import Celery
from kombu.connection import Connection

__all__ = ["ConfirmedPublisher"]

logger = logging.getLogger(__name__)

# One quick reconnect per call: the poller's own back-off decides when to try again.
_ENSURE = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


class ConfirmedPublisher:
    """One kombu connection of ``app``'s broker in confirm mode, shared by the poller's loops (a lock keeps
    them one at a time, as a kombu connection wants). It connects on first use and again after an error."""

    def __init__(self, app: Celery) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._connection: Connection | None = None

    def _connected(self) -> Connection:
        if self._connection is None:
            self._connection = self._app.connection_for_write(transport_options={"confirm_publish": True})
        self._connection.ensure_connection(**_ENSURE)
        return self._connection

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()  # type: ignore[no-untyped-call]

    @contextlib.contextmanager
    def producer(self) -> Iterator[Any]:
        """A producer whose publishes return once the broker confirmed them; raises the broker's error."""
        with self._lock:
            try:
                yield self._connected().Producer()  # type: ignore[no-untyped-call]
            except BaseException:
                self._drop()  # a channel the broker closed cannot publish again
                raise

    def queue_depth(self, queue: str) -> int:
        """Messages ready in ``queue`` (0 when it does not exist yet); raises the broker's error."""
        with self._lock:
            try:
                channel: Any = self._connected().default_channel
                try:
                    return int(channel.queue_declare(queue=queue, passive=True).message_count)
                except self._connected().channel_errors:
                    # A passive declare of a missing queue closes the channel; nothing waits there.
                    self._drop()
                    return 0
            except BaseException:
                self._drop()
                raise

    def ping(self) -> bool:
        """Whether the broker takes a connection."""
        with self._lock:
            try:
                self._connected()
            except Exception:  # noqa: BLE001 - any failure means "not reachable"
                self._drop()
                return False
            return True

    def close(self) -> None:
        with self._lock:
            self._drop()
