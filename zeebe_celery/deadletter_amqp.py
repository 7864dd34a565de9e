"""Requeueing dead letters onto a RabbitMQ queue, with publisher confirms.

On an AMQP broker a poison message is set aside in flow control's Redis as the envelope
:func:`zeebe_celery.transport_amqp.envelope` writes: its body (base64), content type and encoding, headers and
properties. Requeueing publishes that message again, as it was, straight to its queue (the default exchange,
routed by the queue's name) and waits for the broker's confirm; only then is the record removed from the
dead-letter list. A message the broker refuses (a nack, no such queue, a lost connection) stays on the list and
the error is raised, so nothing is lost: at worst, when the connection drops after the broker took a message but
before its confirm arrived, the message is on its queue and still on the list, and may be requeued twice (a job
that runs twice is within the bridge's at-least-once rule).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kombu.connection import Connection

from zeebe_celery.deadletter import DeadLetter, DeadLetters

__all__ = ["KEPT_PROPERTIES", "AmqpRequeue", "Restored", "restore"]

logger = logging.getLogger(__name__)

# AMQP message properties the envelope keeps and a requeue restores.
KEPT_PROPERTIES = ("correlation_id", "reply_to", "priority", "delivery_mode")


@dataclass(frozen=True, slots=True)
class Restored:
    """A dead letter's message as it was published: what :meth:`AmqpRequeue.requeue` sends again."""

    body: bytes
    content_type: str | None
    content_encoding: str | None
    headers: Mapping[str, Any]
    properties: Mapping[str, Any] = field(default_factory=dict)


def restore(letter: DeadLetter) -> Restored:
    """The message of ``letter`` from its AMQP envelope; raises ValueError when it holds no such envelope."""
    try:
        stored = json.loads(letter.message)
        if not isinstance(stored, dict) or not isinstance(stored.get("body"), str):
            raise ValueError("no body")
        body = base64.b64decode(stored["body"], validate=True)
    except (ValueError, binascii.Error) as exc:
        raise ValueError(f"{letter.id or 'an entry'} holds no AMQP message envelope ({exc})") from None
    headers = stored.get("headers")
    properties = stored.get("properties")
    kept = properties if isinstance(properties, dict) else {}
    return Restored(
        body=body,
        content_type=stored.get("content-type"),
        content_encoding=stored.get("content-encoding"),
        headers=headers if isinstance(headers, dict) else {},
        properties={name: kept[name] for name in KEPT_PROPERTIES if kept.get(name) is not None},
    )


class AmqpRequeue:
    """Publishes dead letters back onto their RabbitMQ queue, one confirm at a time.

    ``url`` is the broker's (``amqp://`` or ``amqps://``); ``ssl`` is Celery's ``broker_use_ssl`` for it.
    """

    def __init__(self, url: str, *, ssl: Any = None) -> None:
        self._url = url
        self._ssl = ssl

    def requeue(
        self, store: DeadLetters, queue: str, letters: Iterable[DeadLetter]
    ) -> tuple[list[DeadLetter], list[tuple[DeadLetter, str]]]:
        """Put each message back on ``queue`` and, once the broker confirmed it, off the dead-letter list.

        Returns the letters moved, and those left on the list with the reason (no AMQP envelope). One another
        operator moved or purged first is skipped. Raises kombu's or the broker's error when ``queue`` does not
        exist or a publish is refused; the letters moved until then stay moved.
        """
        moved: list[DeadLetter] = []
        left: list[tuple[DeadLetter, str]] = []
        options = {"confirm_publish": True}
        with Connection(self._url, ssl=self._ssl or False, transport_options=options) as connection:  # type: ignore[no-untyped-call]
            channel = connection.channel()
            # Passive: the queue must exist as its workers declared it (classic or quorum); none is created here.
            channel.queue_declare(queue=queue, passive=True)
            for letter in letters:
                try:
                    message = restore(letter)
                except ValueError as exc:
                    left.append((letter, str(exc)))
                    continue
                if not store.holds(queue, letter):
                    continue
                properties = {"delivery_mode": 2, **message.properties}
                amqp_message = channel.prepare_message(
                    message.body,
                    priority=properties.pop("priority", None),
                    content_type=message.content_type,
                    content_encoding=message.content_encoding,
                    headers=dict(message.headers),
                    properties=properties,
                )
                # The connection confirms every publish (it returns once the broker has the message, and raises
                # on a nack); mandatory: a message the broker cannot route comes back and raises, not dropped.
                channel.basic_publish(amqp_message, exchange="", routing_key=queue, mandatory=True)
                if not store.remove(queue, letter):
                    logger.warning("dead letter %s was removed by someone else while it was requeued", letter.id)
                moved.append(letter)
        return moved, left
