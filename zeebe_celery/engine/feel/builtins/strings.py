"""FEEL's string functions."""

from __future__ import annotations

import base64
import binascii
import os
import time
import uuid
from typing import Any

from zeebe_celery.engine.feel import regexes
from zeebe_celery.engine.feel.limits import check_size

from ._args import integer, text
from .signature import Overload, overload


def substring(string: Any, start: Any, length: Any = None) -> str:
    value, begin = text(string), integer(start)
    offset = begin - 1 if begin > 0 else max(len(value) + begin, 0)
    # Lengths count code points, as Python's str does (feel-scala counts them too since 1.17).
    return value[offset:] if length is None else value[offset : offset + integer(length)]


def substring_before(string: Any, match: Any) -> str:
    value, needle = text(string), text(match)
    found = value.find(needle)
    return "" if found < 0 else value[:found]


def substring_after(string: Any, match: Any) -> str:
    value, needle = text(string), text(match)
    found = value.find(needle)
    return "" if found < 0 else value[found + len(needle) :]


def _flags(flags: Any) -> str:
    return "" if flags is None else text(flags)


def matches(input: Any, pattern: Any, flags: Any = None) -> bool:
    return regexes.search(text(pattern), _flags(flags), text(input))


def replace(input: Any, pattern: Any, replacement: Any, flags: Any = None) -> str:
    result = regexes.replace_all(text(pattern), _flags(flags), text(input), text(replacement))
    if len(result) > 4096:
        check_size(len(result))
    return result


def split(string: Any, delimiter: Any) -> list[str]:
    return regexes.split(text(delimiter), text(string))


def extract(input: Any, pattern: Any) -> list[str]:
    return regexes.find_all(text(pattern), text(input))


def string_join(list_: Any, delimiter: Any = None, prefix: Any = None, suffix: Any = None) -> str:
    parts = [text(item) for item in (list_ if type(list_) is list else [text(list_)]) if item is not None]
    separator = text(delimiter) if delimiter is not None else ""
    start, end = (text(prefix) if prefix is not None else ""), (text(suffix) if suffix is not None else "")
    size = sum(map(len, parts)) + len(separator) * len(parts) + len(start) + len(end)
    if size > 4096:
        check_size(size)  # before building it
    return start + separator.join(parts) + end


def _uuid7() -> str:
    """A time-ordered random UUID (version 7), the kind feel-scala's ``uuid()`` makes."""
    millis = time.time_ns() // 1_000_000
    raw = bytearray(millis.to_bytes(6, "big") + os.urandom(10))
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


def from_base64(value: Any) -> str | None:
    try:
        return base64.b64decode(text(value), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def _java_trim(string: Any) -> str:
    value = text(string)
    start, end = 0, len(value)
    while start < end and value[start] <= " ":
        start += 1
    while end > start and value[end - 1] <= " ":
        end -= 1
    return value[start:end]


FUNCTIONS: dict[str, list[Overload]] = {
    "string length": [overload(lambda string: len(text(string)), "string")],
    "substring": [overload(substring, "string", "start position|start", "length?")],
    "substring before": [overload(substring_before, "string", "match")],
    "substring after": [overload(substring_after, "string", "match")],
    "upper case": [overload(lambda string: text(string).upper(), "string")],
    "lower case": [overload(lambda string: text(string).lower(), "string")],
    "contains": [overload(lambda string, match: text(match) in text(string), "string", "match")],
    "starts with": [overload(lambda string, match: text(string).startswith(text(match)), "string", "match")],
    "ends with": [overload(lambda string, match: text(string).endswith(text(match)), "string", "match")],
    "matches": [overload(matches, "input", "pattern", "flags?")],
    "replace": [overload(replace, "input", "pattern", "replacement", "flags?")],
    "split": [overload(split, "string", "delimiter")],
    "extract": [overload(extract, "input", "pattern")],
    "string join": [
        overload(string_join, "list", "delimiter?"),
        overload(string_join, "list", "delimiter", "prefix", "suffix"),
    ],
    "trim": [overload(_java_trim, "string")],
    "is blank": [overload(lambda string: not _java_trim(string), "string")],
    "uuid": [overload(_uuid7)],
    "to base64": [overload(lambda value: base64.b64encode(text(value).encode("utf-8")).decode("ascii"), "value")],
    "from base64": [overload(from_base64, "value")],
}
