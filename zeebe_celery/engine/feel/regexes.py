"""Regular expressions for ``matches``, ``replace``, ``split`` and ``extract``, read as feel-scala reads
them (``java.util.regex``: possessive quantifiers, atomic groups, ``\\p{..}`` classes, ``$1`` in a
replacement), with the flags ``s``, ``m``, ``i`` and ``x``.

Every match runs under the evaluation's regex time limit, so a catastrophic pattern fails the
evaluation (:class:`~.limits.FeelLimitError`) instead of blocking the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

import regex

from .limits import FeelLimitError, current_limits

__all__ = ["find_all", "replace_all", "search", "split"]

_FLAGS = {"s": regex.DOTALL, "m": regex.MULTILINE, "i": regex.IGNORECASE, "x": regex.VERBOSE}
_T = TypeVar("_T")


@lru_cache(maxsize=512)
def _compile(pattern: str, flags: str) -> regex.Pattern[str]:
    mode = 0
    for flag in flags:
        if flag not in _FLAGS:  # feel-scala ignores such a flag; the spec (XPath's fn:matches) refuses it
            raise ValueError(f"unknown regex flag {flag!r}")
        if flag != "x":  # whitespace is taken out below, as XPath does, escaped or not
            mode |= _FLAGS[flag]
    if "x" in flags:
        pattern = _without_whitespace(pattern)
    translated, subtracts = _translate(pattern, dot_all="s" in flags)
    try:
        return regex.compile(translated, mode | (regex.VERSION1 if subtracts else regex.VERSION0))
    except regex.error as error:
        raise ValueError(f"invalid pattern {pattern!r}: {error}") from None


def _without_whitespace(pattern: str) -> str:
    kept, depth = [], 0
    for char in pattern:
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        if depth or not char.isspace():
            kept.append(char)
    return "".join(kept)


_JAVA_PROPERTIES = {"javaLowerCase": "Lowercase", "javaUpperCase": "Uppercase", "javaWhitespace": "White_Space"}


def _property(name: str) -> str:
    r"""A ``\p{..}`` name as the regex module knows it: XPath's ``IsBasicLatin`` is a block."""
    name = _JAVA_PROPERTIES.get(name, name)
    if name.startswith("Is"):
        try:
            regex.compile(rf"\p{{{name}}}")
        except regex.error:
            return "In" + name[2:]
    return name


def _translate(pattern: str, *, dot_all: bool) -> tuple[str, bool]:
    r"""Java's reading of a pattern in the regex module's terms: ``.`` stops at ``\r`` too, ``[a-z-[aeiou]]``
    subtracts (the module's ``--``), and a back-reference inside a class is an error.

    Returns the pattern and whether it subtracts classes (which needs the module's version 1).
    """
    out: list[str] = []
    depth, at, subtracts = 0, 0, False
    while at < len(pattern):
        char = pattern[at]
        if char == "\\" and at + 1 < len(pattern):
            escaped = pattern[at + 1]
            if depth and escaped.isdigit():
                raise ValueError("a back-reference inside a character class")
            if escaped in "pP" and pattern[at + 2 : at + 3] == "{":
                close = pattern.find("}", at)
                if close > 0:
                    out.append(f"\\{escaped}{{{_property(pattern[at + 3 : close])}}}")
                    at = close + 1
                    continue
            out.append(pattern[at : at + 2])
            at += 2
            continue
        if char == "[":
            if depth and out and out[-1] == "-":
                out[-1] = "--"
                subtracts = True
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        elif char == "." and not depth and not dot_all:
            out.append("[^\\n\\r]")
            at += 1
            continue
        out.append(char)
        at += 1
    return "".join(out), subtracts


def _timed(run: Callable[[float], _T], pattern: str) -> _T:
    timeout = current_limits().regex_timeout
    try:
        return run(timeout)
    except TimeoutError:
        raise FeelLimitError(
            f"the regular expression '{pattern}' ran longer than its limit of {timeout} s (FEEL limit regex_timeout)"
        ) from None


def search(pattern: str, flags: str, text: str) -> bool:
    """Whether the pattern matches anywhere in the text (Java's ``Matcher.find``)."""
    compiled = _compile(pattern, flags)
    return _timed(lambda timeout: compiled.search(text, timeout=timeout), pattern) is not None


def _java_replacement(template: str) -> Callable[[Any], str]:
    """Java's replacement text: ``$1`` and ``${name}`` are groups, a backslash escapes the next character."""
    parts: list[str | tuple[str | int]] = []  # literal text, or (group,)
    literal: list[str] = []
    at = 0
    while at < len(template):
        char = template[at]
        if char == "\\" and at + 1 < len(template):
            literal.append(template[at + 1])
            at += 2
        elif char == "$":
            end = at + 1
            if template[end : end + 1] == "{":
                close = template.find("}", end)
                if close < 0:
                    raise ValueError("unclosed group name in replacement")
                group: str | int = template[end + 1 : close]
                end = close + 1
            else:
                while end < len(template) and template[end].isdigit():
                    end += 1
                if end == at + 1:
                    raise ValueError("illegal group reference in replacement")
                group = int(template[at + 1 : end])
            parts.append("".join(literal))
            literal = []
            parts.append((group,))
            at = end
        else:
            literal.append(char)
            at += 1
    parts.append("".join(literal))

    def expand(match: Any) -> str:
        return "".join(p if isinstance(p, str) else (match.group(p[0]) or "") for p in parts)

    return expand


def replace_all(pattern: str, flags: str, text: str, replacement: str) -> str:
    compiled = _compile(pattern, flags)
    expand = _java_replacement(replacement)
    return _timed(lambda timeout: compiled.sub(expand, text, timeout=timeout), pattern)


def split(pattern: str, text: str) -> list[str]:
    """Java's ``Pattern.split(text, -1)``: trailing empty strings kept, no leading one from an empty match."""
    compiled = _compile(pattern, "")

    def run(timeout: float) -> list[str]:
        parts: list[str] = []
        start = 0
        for match in compiled.finditer(text, timeout=timeout):
            if match.end() == 0:
                continue
            parts.append(text[start : match.start()])
            start = match.end()
        parts.append(text[start:])
        return parts

    return _timed(run, pattern)


def find_all(pattern: str, text: str) -> list[str]:
    compiled = _compile(pattern, "")
    return _timed(lambda timeout: [m.group(0) for m in compiled.finditer(text, timeout=timeout)], pattern)
