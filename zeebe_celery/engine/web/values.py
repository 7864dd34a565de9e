"""Reading what a person typed into the UI: keys, JSON values (held to the gateway's rules: no NaN, no
nesting past its depth) and filter values; each raises ValueError with a message fit for the page."""

from __future__ import annotations

import json
from typing import Any

from zeebe_celery.engine import decode
from zeebe_celery.engine.errors import InvalidArgument

__all__ = ["json_text", "parse_filter_value", "parse_json_value", "parse_key"]

# A key is an int64.
_MAX_KEY_DIGITS = 19


def parse_key(text: str, what: str = "key") -> int:
    if not text.isdigit() or len(text) > _MAX_KEY_DIGITS:
        raise ValueError(f"a {what} is a non-negative integer, not {text[:40]!r}")
    return int(text)


def parse_json_value(text: str, what: str) -> Any:
    """``text`` as one JSON value; raises ValueError naming ``what``."""
    if not text.strip():
        raise ValueError(f'{what} is empty; write a JSON value (a string needs quotes: "text")')
    try:
        wrapped = decode.variables(f'{{"value": {text}\n}}', what=what)
    except InvalidArgument:
        wrapped = {}
    if set(wrapped) != {"value"}:
        raise ValueError(f'{what} is not JSON: {text[:60]!r} (a string needs quotes: "text")')
    return wrapped["value"]


def parse_filter_value(text: str) -> Any:
    """A filter's value: JSON when it reads as JSON (``123``, ``true``, ``"x"``), else the text itself."""
    try:
        return parse_json_value(text, "the value")
    except ValueError:
        return text


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
