"""The dead-letter lists: where poison messages of a bridge queue are set aside, for a person to look at.

A message the worker cannot take (see :mod:`zeebe_celery.poison`) goes, exactly as it was, to the list
``<queue>.dead`` of the same Redis, wrapped in a record that says why and when. The set
:data:`DEAD_LETTER_LISTS` names every queue that has such a list, so an operator's tools find them without
scanning the keyspace. ``zeebe-celery dead`` lists, requeues and purges them through :class:`DeadLetters`.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import redis

from zeebe_celery.redis_location import RedisLocation, connect

__all__ = ["DEAD_LETTER_LISTS", "DeadLetter", "DeadLetters", "dead_letter_list", "record", "select"]

DEAD_LETTER_LISTS = "zeebe-celery:dead-letter-queues"
_SUFFIX = ".dead"

# KEYS[1] dead-letter list, KEYS[2] queue, ARGV[1] the record, ARGV[2] the message: moved only if still there.
_REQUEUE = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
"""


def dead_letter_list(queue: str) -> str:
    """The list the poison messages of ``queue`` are set aside in."""
    return f"{queue}{_SUFFIX}"


def record(queue: str, message: bytes, *, kind: str, reason: str, now: datetime | None = None) -> bytes:
    """The dead-letter record of ``message``: JSON holding the message as it was (as text, or in base64
    when it is not UTF-8), its queue, why it was set aside and when, under an id of its own."""
    entry: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "queue": queue,
        "kind": kind,
        "reason": reason,
        "dead_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
    }
    try:
        entry["message"] = message.decode("utf-8")
    except UnicodeDecodeError:
        entry["message_base64"] = base64.b64encode(message).decode("ascii")
    return json.dumps(entry).encode()


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One message set aside: its record's fields, the message's exact bytes, and the record as stored."""

    id: str
    queue: str
    kind: str
    reason: str
    dead_at: str
    message: bytes
    stored: bytes

    @classmethod
    def parse(cls, stored: bytes, queue: str) -> DeadLetter:
        """Read a stored record; an entry that is not one (written by hand, say) is kept whole as the message."""
        try:
            entry = json.loads(stored)
            message = (
                base64.b64decode(entry["message_base64"], validate=True)
                if "message_base64" in entry
                else str(entry["message"]).encode()
            )
            return cls(
                id=str(entry["id"]),
                queue=str(entry.get("queue") or queue),
                kind=str(entry.get("kind", "")),
                reason=str(entry.get("reason", "")),
                dead_at=str(entry.get("dead_at", "")),
                message=message,
                stored=stored,
            )
        except (ValueError, TypeError, KeyError, binascii.Error):
            return cls(
                id="",
                queue=queue,
                kind="",
                reason="not a dead-letter record",
                dead_at="",
                message=stored,
                stored=stored,
            )

    def summary(self) -> dict[str, Any]:
        """The record as JSON-ready fields, with the message as text; one that is not UTF-8 also in base64."""
        fields: dict[str, Any] = {
            "id": self.id,
            "queue": self.queue,
            "kind": self.kind,
            "reason": self.reason,
            "dead_at": self.dead_at,
            "size": len(self.message),
            "message": self.message.decode("utf-8", errors="replace"),
        }
        try:
            self.message.decode("utf-8")
        except UnicodeDecodeError:
            fields["message_base64"] = base64.b64encode(self.message).decode("ascii")
        return fields


class DeadLetters:
    """The dead-letter lists of one Redis. Raises redis.RedisError when it cannot be reached."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._requeue = client.register_script(_REQUEUE)

    @classmethod
    def from_url(cls, url: str | RedisLocation) -> DeadLetters:
        return cls(connect(url, socket_timeout=10, socket_connect_timeout=5))

    def set_aside(self, queue: str, message: bytes, *, kind: str, reason: str) -> str:
        """Put ``message`` of ``queue`` on its dead-letter list; returns the list's name."""
        dead = dead_letter_list(queue)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.lpush(dead, record(queue, message, kind=kind, reason=reason))
            pipe.sadd(DEAD_LETTER_LISTS, queue)
            pipe.execute()
        return dead

    def queues(self) -> list[str]:
        """The queues that have had messages set aside, sorted."""
        return sorted(q.decode() for q in cast("set[bytes]", self._redis.smembers(DEAD_LETTER_LISTS)))

    def entries(self, queue: str) -> list[DeadLetter]:
        """What ``queue``'s dead-letter list holds, oldest first."""
        stored = cast("list[bytes]", self._redis.lrange(dead_letter_list(queue), 0, -1))
        return [DeadLetter.parse(item, queue) for item in reversed(stored)]

    def requeue(self, queue: str, letters: Iterable[DeadLetter]) -> list[DeadLetter]:
        """Put each message back on ``queue`` as it was, and off the dead-letter list; returns those moved
        (one another operator moved first is not moved twice)."""
        moved = []
        for letter in letters:
            if self._requeue(keys=[dead_letter_list(queue), queue], args=[letter.stored, letter.message]):
                moved.append(letter)
        return moved

    def holds(self, queue: str, letter: DeadLetter) -> bool:
        """Whether ``letter`` is still on ``queue``'s dead-letter list."""
        return self._redis.lpos(dead_letter_list(queue), cast(Any, letter.stored)) is not None

    def remove(self, queue: str, letter: DeadLetter) -> bool:
        """Take ``letter`` off ``queue``'s dead-letter list; False when it was no longer there."""
        return bool(self._redis.lrem(dead_letter_list(queue), 1, cast(Any, letter.stored)))

    def purge(self, queue: str, letters: Iterable[DeadLetter]) -> list[DeadLetter]:
        """Delete these records from ``queue``'s dead-letter list; returns those deleted."""
        return [letter for letter in letters if self.remove(queue, letter)]

    def close(self) -> None:
        self._redis.close()


def select(letters: Sequence[DeadLetter], ids: Iterable[str]) -> tuple[list[DeadLetter], list[str]]:
    """The letters with these ids (a unique prefix will do), and the ids that match none or several."""
    chosen: list[DeadLetter] = []
    unmatched: list[str] = []
    for wanted in ids:
        matches = [letter for letter in letters if letter.id and letter.id.startswith(wanted)]
        if len(matches) == 1:
            chosen.append(matches[0])
        else:
            unmatched.append(wanted)
    return chosen, unmatched
