"""FEEL's context functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._args import context, items, spread, text


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


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "get value": get_value,
    "get entries": lambda context_value: [{"key": k, "value": v} for k, v in context(context_value).items()],
    "put": put,
    "context put": put,
    "context merge": merge,
    "context": from_entries,
}
