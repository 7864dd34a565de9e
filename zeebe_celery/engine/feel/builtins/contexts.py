"""FEEL's context functions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._args import context, items, spread, text
from .signature import Overload, overload


def _keys(key: Any) -> list[str]:
    return [text(k) for k in items(key)] if type(key) is list else [text(key)]


def get_value(context_value: Any, key: Any) -> Any:
    value: Any = context(context_value)
    for part in _keys(key):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def put(context_value: Any, key: Any, value: Any) -> dict[str, Any]:
    keys = _keys(key)
    result = dict(context(context_value))
    head = keys[0]
    if len(keys) == 1:
        result[head] = value
    else:
        inner = result.get(head)
        result[head] = put(inner if isinstance(inner, Mapping) else {}, keys[1:], value)
    return result


def merge(*contexts: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for each in spread(contexts):
        result.update(context(each))
    return result


def from_entries(entries: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for entry in items(entries):
        result[text(context(entry)["key"])] = context(entry).get("value")
    return result


def _entries(context_value: Any) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in context(context_value).items()]


FUNCTIONS: dict[str, list[Overload]] = {
    "get value": [overload(get_value, "m|context", "key|keys")],
    "get entries": [overload(_entries, "m|context")],
    "context put": [overload(put, "context", "key|keys", "value")],
    "put": [overload(put, "context", "key|keys", "value")],
    "context merge": [overload(merge, "contexts|context...")],
    "put all": [overload(merge, "contexts|context...")],
    "context": [overload(from_entries, "entries")],
}
