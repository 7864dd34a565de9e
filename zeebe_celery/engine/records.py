"""The records the engine exports, shaped as Zeebe's exporters write them, and queries over them for tests.

A record is a dict: ``position``, ``key``, ``timestamp``, ``recordType``, ``valueType``, ``intent``,
``rejectionType``, ``rejectionReason`` and ``value`` (``bpmnProcessId``, ``processInstanceKey``,
``elementId``, ``errorMessage``, ...). The log is bounded: the oldest records fall off first, so a
long-running engine holds a fixed amount of history.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Deferred", "RecordLog", "Value", "matches", "value_of"]

Record = dict[str, Any]
logger = logging.getLogger(__name__)


class Deferred:
    """A record's value made when first read, from what the command passed (a snapshot of anything that can
    change later): most records are never read, and the hottest ones cost a tuple instead of a dict."""

    __slots__ = ("_args", "_make", "_value")

    def __init__(self, make: Callable[..., dict[str, Any]], *args: Any) -> None:
        self._make = make
        self._args = args
        self._value: dict[str, Any] | None = None

    def get(self) -> dict[str, Any]:
        value = self._value
        if value is None:
            # Two readers racing make the same value twice; either result is kept.
            value = self._value = self._make(*self._args)
        return value


Value = dict[str, Any] | Deferred


def value_of(value: Value) -> dict[str, Any]:
    """A record value as a dict, made now if it was deferred."""
    return value.get() if isinstance(value, Deferred) else value


# A retained record as the log keeps it: (position, key, timestamp, record type, value type, intent, value);
# it becomes a Record dict only when read, so a command pays for a tuple, not a dict, per record.
_Entry = tuple[int, int, int, str, str, str, Value]


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
        "value": value_of(value),
    }


class RecordLog:
    """Appends records and answers ``find`` and ``wait_for`` over the retained ones."""

    def __init__(self, *, limit: int = 100_000, clock: Callable[[], int]) -> None:
        self.limit = limit
        # A plain attribute, not a property: every record written asks it.
        self.enabled = limit > 0
        self._records: deque[_Entry] = deque(maxlen=limit or 1)
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
        if not self.limit:
            return
        with self._lock:
            self._position += 1
            entry = (self._position, key, self._clock(), record_type, value_type, intent, value)
            self._records.append(entry)
            if self.listeners:
                self._tell([entry])
            if self._waiting:
                self._changed.notify_all()

    def extend(self, records: list[tuple[str, str, int, Value]]) -> None:
        """Append a committed command's records (value type, intent, key, value), under one lock."""
        if not self.limit:
            return
        with self._lock:
            now = self._clock()
            entries = [
                (position, key, now, "EVENT", value_type, intent, value)
                for position, (value_type, intent, key, value) in enumerate(records, self._position + 1)
            ]
            self._records.extend(entries)
            if self.listeners:
                self._tell(entries)
            self._position += len(entries)
            if self._waiting:
                self._changed.notify_all()

    def all(self) -> list[Record]:
        with self._changed:
            return [_as_record(e) for e in self._records]

    def since(self, position: int) -> list[Record]:
        """The retained records after ``position``, oldest first; costs the records returned, not the log."""
        with self._changed:
            # Positions are consecutive, so the first wanted record's index follows from the oldest's.
            oldest = self._position - len(self._records) + 1
            return [_as_record(e) for e in itertools.islice(self._records, max(0, position + 1 - oldest), None)]

    def find(self, value_type: str | None = None, intent: str | None = None, **value: Any) -> list[Record]:
        """The retained records of that type and intent whose value has every given field."""
        with self._changed:
            return [_as_record(e) for e in self._records if _entry_matches(e, value_type, intent, value)]

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
                found = [e for e in self._records if _entry_matches(e, value_type, intent, value)]
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
    if not value:
        return True
    fields = value_of(entry[6])
    return all(fields.get(k) == v for k, v in value.items())


def matches(record: Record, value_type: str | None, intent: str | None, value: dict[str, Any]) -> bool:
    """Whether ``record`` has that value type and intent (None: any) and every given value field."""
    if value_type is not None and record["valueType"] != value_type:
        return False
    if intent is not None and record["intent"] != intent:
        return False
    fields = record["value"]
    return all(fields.get(k) == v for k, v in value.items())
