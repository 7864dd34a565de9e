"""The records the engine exports, shaped as Zeebe's exporters write them, and queries over them for tests.

A record is a dict: ``position``, ``key``, ``timestamp``, ``recordType``, ``valueType``, ``intent``,
``rejectionType``, ``rejectionReason`` and ``value`` (``bpmnProcessId``, ``processInstanceKey``,
``elementId``, ``errorMessage``, ...). The log is bounded: the oldest records fall off first, so a
long-running engine holds a fixed amount of history.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["RecordLog", "Value", "matches", "value_of"]

Record = dict[str, Any]
logger = logging.getLogger(__name__)


# A record's value: a dict, or a deferred one, made when first read: ``(make, *args)``, where ``args`` are a
# snapshot of anything that can change later. Most records are never read, and the hottest cost a tuple
# instead of a dict. The log keeps a value once made.
Value = dict[str, Any] | tuple[Any, ...]


def value_of(value: Value) -> dict[str, Any]:
    """A record value as a dict, made now if it was deferred."""
    if isinstance(value, tuple):
        made: dict[str, Any] = value[0](*value[1:])
        return made
    return value


# A retained record as read: (position, key, timestamp, record type, value type, intent, value); it becomes a
# Record dict only when read.
_Entry = tuple[int, int, int, str, str, str, dict[str, Any]]
# What a command wrote, as the log keeps it: its first position, its timestamp, the record type and its
# records (value type, intent, key, value). A command pays for one tuple, not one per record.
_Chunk = tuple[int, int, str, list[tuple[str, str, int, Value]]]


def _as_record(entry: _Entry) -> Record:
    position, key, timestamp, record_type, value_type, intent, value = entry
    return {
        "position": position,
        "key": key,
        "timestamp": timestamp,
        "recordType": record_type,
        "valueType": value_type,
        "intent": intent,
        "partitionId": 1,
        "rejectionType": "NULL_VAL",
        "rejectionReason": "",
        "value": value,
    }


def _entries(chunk: _Chunk, oldest: int) -> Iterator[_Entry]:
    """The chunk's entries from position ``oldest`` on; deferred values are made, and kept in the chunk
    (callers hold the log's lock)."""
    first, timestamp, record_type, records = chunk
    for index in range(max(0, oldest - first), len(records)):
        value_type, intent, key, value = records[index]
        if isinstance(value, tuple):
            value = value_of(value)
            records[index] = (value_type, intent, key, value)
        yield first + index, key, timestamp, record_type, value_type, intent, value


class RecordLog:
    """Appends records and answers ``find`` and ``wait_for`` over the retained ones: the newest ``limit``."""

    def __init__(self, *, limit: int = 100_000, clock: Callable[[], int]) -> None:
        self.limit = limit
        # A plain attribute, not a property: every record written asks it.
        self.enabled = limit > 0
        self._chunks: deque[_Chunk] = deque()
        self._retained = 0  # records in the chunks, including those of the oldest chunk past the limit
        self._position = 0
        self._clock = clock
        # Appends take the plain lock; only a wait_for caller makes them notify the condition too.
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._waiting = 0
        # Readers kept up to date as records are appended (the REST API's search history), called under
        # the log's lock with each batch of new records; with none, appending builds no dicts.
        self.listeners: list[Callable[[list[Record]], None]] = []

    def listen(self, listener: Callable[[list[Record]], None]) -> None:
        """Call ``listener`` with every batch of records appended from now on."""
        with self._lock:
            self.listeners.append(listener)

    def _tell(self, entries: list[_Entry]) -> None:
        # The records are committed already: a reader that fails is logged, never the command's failure.
        batch = [_as_record(e) for e in entries]
        for listener in self.listeners:
            try:
                listener(batch)
            except Exception:
                logger.exception("A reader of the exported records failed on %d record(s)", len(batch))

    def append(self, value_type: str, intent: str, key: int, value: Value, record_type: str = "EVENT") -> None:
        if self.limit:
            with self._lock:
                self._add(record_type, [(value_type, intent, key, value)])

    def extend(self, records: list[tuple[str, str, int, Value]]) -> None:
        """Append a committed command's records (value type, intent, key, value), under one lock; the log
        keeps the list itself, which the caller no longer changes."""
        if self.limit:
            with self._lock:
                self._add("EVENT", records)

    def _add(self, record_type: str, records: list[tuple[str, str, int, Value]]) -> None:
        chunk = (self._position + 1, self._clock(), record_type, records)
        self._chunks.append(chunk)
        self._position += len(records)
        self._retained += len(records)
        # Whole chunks fall off once past the limit; the rest of the oldest one is hidden by _oldest().
        while self._retained - len(self._chunks[0][3]) >= self.limit:
            self._retained -= len(self._chunks.popleft()[3])
        if self.listeners:
            self._tell(list(_entries(chunk, 0)))
        if self._waiting:
            self._changed.notify_all()

    def _oldest(self) -> int:
        """The oldest retained position."""
        return max(1, self._position - self.limit + 1)

    def _since(self, position: int) -> Iterator[_Entry]:
        """The retained entries after ``position``, oldest first; call holding the lock."""
        start = max(position + 1, self._oldest())
        # Readers mostly ask for recent records: find the first chunk wanted from the newest end.
        wanted: list[_Chunk] = []
        for chunk in reversed(self._chunks):
            if chunk[0] + len(chunk[3]) <= start:
                break
            wanted.append(chunk)
        for chunk in reversed(wanted):
            yield from _entries(chunk, start)

    def all(self) -> list[Record]:
        with self._changed:
            return [_as_record(e) for e in self._since(0)]

    def since(self, position: int) -> list[Record]:
        """The retained records after ``position``, oldest first; costs the records returned, not the log."""
        with self._changed:
            return [_as_record(e) for e in self._since(position)]

    def find(self, value_type: str | None = None, intent: str | None = None, **value: Any) -> list[Record]:
        """The retained records of that type and intent whose value has every given field."""
        with self._changed:
            return [_as_record(e) for e in self._since(0) if _entry_matches(e, value_type, intent, value)]

    def wait_for(
        self,
        value_type: str | None = None,
        intent: str | None = None,
        *,
        count: int = 1,
        within: float = 30.0,
        **value: Any,
    ) -> list[Record]:
        """Wait until at least ``count`` such records exist; return them (fewer if ``within`` ran out)."""
        deadline = time.monotonic() + within
        with self._changed:
            while True:
                found = [e for e in self._since(0) if _entry_matches(e, value_type, intent, value)]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return [_as_record(e) for e in found]
                self._waiting += 1
                try:
                    self._changed.wait(left)
                finally:
                    self._waiting -= 1

    def __iter__(self) -> Iterator[Record]:
        return iter(self.all())


def _entry_matches(entry: _Entry, value_type: str | None, intent: str | None, value: dict[str, Any]) -> bool:
    if value_type is not None and entry[4] != value_type:
        return False
    if intent is not None and entry[5] != intent:
        return False
    fields = entry[6]
    return all(fields.get(k) == v for k, v in value.items())


def matches(record: Record, value_type: str | None, intent: str | None, value: dict[str, Any]) -> bool:
    """Whether ``record`` has that value type and intent (None: any) and every given value field."""
    if value_type is not None and record["valueType"] != value_type:
        return False
    if intent is not None and record["intent"] != intent:
        return False
    fields = record["value"]
    return all(fields.get(k) == v for k, v in value.items())
