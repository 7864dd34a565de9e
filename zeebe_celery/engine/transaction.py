"""A command's transaction: every change to the engine's state is journalled here, so that a command whose
processing raises leaves the state exactly as it was, as Zeebe's stream processor rolls back its
RocksDB transaction.

The appliers (the only code that changes state) change it through :class:`Transaction`'s helpers, which
keep the old value; :meth:`Transaction.rollback` puts everything back in reverse order. The records a
command writes, the process instances and messages it changed, and what must happen once it is committed
(waking pollers, pushing jobs to streams, answering a waiting caller) are collected here too, so that
nothing of an uncommitted command is seen outside.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, MutableSequence, MutableSet
from typing import Any

from zeebe_celery.engine.records import Value

__all__ = ["ATTR", "DEL", "NO_TRANSACTION", "PUT", "Savepoint", "Transaction"]

# The journal's entry kinds, as small ints: a tuple per change is the cheapest undo record. ATTR, PUT and DEL
# are public: the hottest appliers journal inline (``undo.append((ATTR, obj, name, old))`` for an attribute,
# ``(PUT, mapping, key, old)`` for a key replaced or removed, ``(DEL, mapping, key, None)`` for a key added).
ATTR, PUT, DEL, _ADD, _DISCARD, _INSERT, _REMOVE_AT = range(7)
_ATTR, _PUT, _DEL = ATTR, PUT, DEL

Savepoint = tuple[int, int, int]


class Transaction:
    """The changes, records and after-commit work of one command."""

    __slots__ = (
        "after",
        "definitions",
        "first_key",
        "messages",
        "pushed",
        "records",
        "roots",
        "start_timers",
        "undo",
        "woken",
    )

    def __init__(self, first_key: int) -> None:
        self.first_key = first_key
        self.undo: list[tuple[Any, ...]] = []
        # (value type, intent, key, value) of the records to export once committed.
        self.records: list[tuple[str, str, int, Value]] = []
        self.roots: set[int] = set()  # process instance keys changed (for the store)
        self.messages: set[int] = set()  # message keys changed
        self.definitions = False  # deployed resources changed
        self.start_timers = False  # timers of timer start events changed
        self.after: list[Callable[[], None]] = []
        self.woken: set[str] = set()  # job types whose pollers are woken once committed
        self.pushed: set[Any] = set()  # job streams given a job by this command

    # -- journalled changes ----------------------------------------------------------------------------

    def set(self, obj: Any, name: str, value: Any) -> None:
        self.undo.append((_ATTR, obj, name, getattr(obj, name)))
        setattr(obj, name, value)

    def put(self, mapping: MutableMapping[Any, Any], key: Any, value: Any) -> None:
        if key in mapping:
            self.undo.append((_PUT, mapping, key, mapping[key]))
        else:
            self.undo.append((_DEL, mapping, key, None))
        mapping[key] = value

    def pop(self, mapping: MutableMapping[Any, Any], key: Any) -> Any:
        if key not in mapping:
            return None
        value = mapping.pop(key)
        self.undo.append((_PUT, mapping, key, value))
        return value

    def add(self, members: MutableSet[Any], item: Any) -> None:
        if item not in members:
            members.add(item)
            self.undo.append((_DISCARD, members, item, None))

    def discard(self, members: MutableSet[Any], item: Any) -> None:
        if item in members:
            members.discard(item)
            self.undo.append((_ADD, members, item, None))

    def append(self, items: MutableSequence[Any], item: Any) -> None:
        items.append(item)
        self.undo.append((_REMOVE_AT, items, len(items) - 1, None))

    def remove(self, items: MutableSequence[Any], item: Any) -> None:
        for index, present in enumerate(items):
            if present is item or present == item:
                del items[index]
                self.undo.append((_INSERT, items, index, item))
                return

    # -- savepoints and rollback -----------------------------------------------------------------------

    def savepoint(self) -> Savepoint:
        return len(self.undo), len(self.records), len(self.after)

    def rollback_to(self, savepoint: Savepoint) -> None:
        """Undo every change since ``savepoint`` and drop the records written since."""
        changes, records, after = savepoint
        undo = self.undo
        while len(undo) > changes:
            kind, target, name, old = undo.pop()
            if kind == _ATTR:
                setattr(target, name, old)
            elif kind == _PUT:
                target[name] = old
            elif kind == _DEL:
                del target[name]
            elif kind == _ADD:
                target.add(name)
            elif kind == _DISCARD:
                target.discard(name)
            elif kind == _INSERT:
                target.insert(name, old)
            else:
                del target[name]
        del self.records[records:]
        del self.after[after:]

    def rollback(self) -> None:
        self.rollback_to((0, 0, 0))


class _Refused(list[Any]):
    def append(self, item: Any) -> None:
        raise RuntimeError("the engine's state was changed outside a command")


class _NoTransaction(Transaction):
    """What the runtime holds between commands: every change through it raises."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(0)
        self.undo = _Refused()
        self.records = _Refused()


NO_TRANSACTION: Transaction = _NoTransaction()
