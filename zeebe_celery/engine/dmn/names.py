"""Names with spaces or dashes in FEEL text, quoted in backticks before the text is compiled.

DMN names (input data, decisions, knowledge models, context entries, parameters, item definitions) may hold
spaces and dashes, which FEEL can only read as one name when quoted. Camunda's DMN engine offers to quote the
model's own names (``escapeNamesWithSpaces`` and ``escapeNamesWithDashes``, off in Zeebe, on in the DMN TCK's
runner); this is that option: an occurrence of such a name standing on its own (after the start, a space,
``(``, ``,`` or ``.``; before the end, a space, ``(``, ``)``, ``,`` or ``.``) is quoted, outside string literals.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

__all__ = ["NameQuoter", "model_names"]

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`')
_NAMED = (
    "variable",
    "formalParameter",
    "itemDefinition",
    "itemComponent",
    "inputData",
    "decision",
    "businessKnowledgeModel",
    "decisionService",
    "contextEntry",
)


def model_names(root: ET.Element) -> list[str]:
    """The names of the model's information items and item definitions (not relation columns)."""
    names = set()
    for element in root.iter():
        local = element.tag.rpartition("}")[2]
        name = element.get("name")
        if name and local in _NAMED:
            names.add(name)
    return sorted(names)


class NameQuoter:
    """Quotes the given names (those with a space or a dash) in FEEL text, the longest first."""

    def __init__(self, names: Iterable[str]) -> None:
        quoted = sorted({n for n in names if (" " in n or "-" in n) and "`" not in n}, key=len, reverse=True)
        self._pattern = (
            re.compile(r"(?:(?<=[(,.\s])|^)(" + "|".join(re.escape(n) for n in quoted) + r")(?=[(),.\s]|$)")
            if quoted
            else None
        )

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None:
            return text
        parts: list[str] = []
        position = 0
        for literal in _STRINGS.finditer(text):
            parts.append(pattern.sub(r"`\1`", text[position : literal.start()]))
            parts.append(literal.group())
            position = literal.end()
        parts.append(pattern.sub(r"`\1`", text[position:]))
        return "".join(parts)
