"""FEEL's string functions."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ._args import integer, items, text

_FLAGS = {"i": re.IGNORECASE, "s": re.DOTALL, "m": re.MULTILINE, "x": re.VERBOSE}


def _regex(pattern: Any, flags: Any) -> re.Pattern[str]:
    mode = 0
    for flag in text(flags) if flags is not None else "":
        if flag not in _FLAGS:
            raise ValueError(f"unknown regex flag {flag!r}")
        mode |= _FLAGS[flag]
    return re.compile(text(pattern), mode)


def substring(string: Any, start: Any, length: Any = None) -> str:
    value, begin = text(string), integer(start)
    offset = begin - 1 if begin > 0 else max(len(value) + begin, 0)
    return value[offset:] if length is None else value[offset : offset + integer(length)]


def substring_before(string: Any, match: Any) -> str:
    value, found = text(string), value_index(string, match)
    return "" if found < 0 else value[:found]


def substring_after(string: Any, match: Any) -> str:
    value, found = text(string), value_index(string, match)
    return "" if found < 0 else value[found + len(text(match)) :]


def value_index(string: Any, match: Any) -> int:
    needle = text(match)
    return text(string).find(needle) if needle else -1


def matches(input: Any, pattern: Any, flags: Any = None) -> bool:
    return _regex(pattern, flags).search(text(input)) is not None


def _replacement(template: str) -> str:
    # XPath writes groups as $1; Python's re wants \g<1>, and a literal backslash doubled.
    return re.sub(r"\$(\d+)", r"\\g<\1>", template.replace("\\", "\\\\"))


def replace(input: Any, pattern: Any, replacement: Any, flags: Any = None) -> str:
    return _regex(pattern, flags).sub(_replacement(text(replacement)), text(input))


def split(string: Any, delimiter: Any) -> list[str]:
    return re.split(text(delimiter), text(string))


def string_join(list_: Any, delimiter: Any = None, prefix: Any = None, suffix: Any = None) -> str:
    parts = [text(item) for item in items(list_) if item is not None]
    joined = (text(delimiter) if delimiter is not None else "").join(parts)
    return (text(prefix) if prefix is not None else "") + joined + (text(suffix) if suffix is not None else "")


def extract(string: Any, pattern: Any) -> list[str]:
    return [m.group(0) for m in _regex(pattern, None).finditer(text(string))]


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "string length": lambda string: len(text(string)),
    "substring": substring,
    "substring before": substring_before,
    "substring after": substring_after,
    "upper case": lambda string: text(string).upper(),
    "lower case": lambda string: text(string).lower(),
    "contains": lambda string, match: text(match) in text(string),
    "starts with": lambda string, match: text(string).startswith(text(match)),
    "ends with": lambda string, match: text(string).endswith(text(match)),
    "matches": matches,
    "replace": replace,
    "split": split,
    "string join": string_join,
    "trim": lambda string: text(string).strip(),
    "is blank": lambda string: not text(string).strip(),
    "extract": extract,
}
