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
        inner = result.get(head, {})
        result[head] = put(context(inner), keys[1:], value)
    return result


def merge(*contexts: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for each in spread(contexts):
        result.update(context(each))
    return result


def from_entries(entries: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for entry in entries if type(entries) is list else [entries]:
        key = text(context(entry)["key"])
        if key in result:
            raise ValueError(f"duplicate context key {key!r}")
        if "value" not in context(entry):
            raise ValueError(f"the entry {key!r} has no value")
        result[key] = context(entry)["value"]
    return result


def put_key(context_value: Any, key: Any, value: Any) -> dict[str, Any]:
    return put(context_value, text(key), value)


def put_keys(context_value: Any, keys: Any, value: Any) -> dict[str, Any]:
    if not items(keys):
        raise ValueError("context put() takes at least one key")
    return put(context_value, keys, value)


def _entries(context_value: Any) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in context(context_value).items()]


# By position a key or a list of keys; by name, `key` is one key and `keys` a list.
_PUT = [
    overload(put, "context", "key", "value", by_name=False),
    overload(put_key, "context", "key", "value"),
    overload(put_keys, "context", "keys", "value"),
]

FUNCTIONS: dict[str, list[Overload]] = {
    "get value": [overload(get_value, "m|context", "key|keys")],
    "get entries": [overload(_entries, "m|context")],
    "context put": _PUT,
    "put": _PUT,
    "context merge": [overload(merge, "contexts...")],
    "put all": [overload(merge, "contexts...")],
    "context": [overload(from_entries, "entries")],
}
