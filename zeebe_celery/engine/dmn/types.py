"""DMN types (``typeRef``): FEEL's built-in types and the model's item definitions, and the conversions a
value goes through when bound to a typed name (DMN 1.5, 10.3.2.9.4).

A singleton list given where a non-list is declared is its one item; a non-list given where a collection is
declared is a list of it. A value that then does not conform fails, as Camunda's DMN engine fails a decision
whose result is not of its declared type. ``null`` conforms to every type; a type this module does not know
accepts every value.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zeebe_celery.engine.feel import FeelError, compile_unary_tests
from zeebe_celery.engine.feel.values import kind_of

from .errors import DmnExpressionError

__all__ = ["ItemType", "Types", "read_types"]

_BUILT_IN = {
    "number": "number",
    "string": "string",
    "boolean": "boolean",
    "date": "date",
    "time": "time",
    "date and time": "date and time",
    "datetime": "date and time",
    "days and time duration": "days and time duration",
    "daytimeduration": "days and time duration",
    "years and months duration": "years and months duration",
    "yearmonthduration": "years and months duration",
    "context": "context",
    "list": "list",
    "function": "function",
    "range": "range",
}
_ANY = frozenset({"any", ""})


@dataclass(frozen=True)
class ItemType:
    """An item definition: a base type, or components (a structure); a collection of either; allowed values."""

    name: str
    base: str = ""  # a typeRef, or "" for a structure or an unknown type
    collection: bool = False
    components: dict[str, ItemType] | None = None
    allowed: Any = None  # compiled unary tests, or None
    function: bool = False
    output: str = ""  # a function's declared result type (functionItem outputTypeRef)


@dataclass
class Types:
    """The item definitions of one model, by name; ``convert`` binds a value to a declared type."""

    items: dict[str, ItemType] = field(default_factory=dict)

    def convert(self, value: Any, type_ref: str | None, what: str) -> Any:
        """``value`` as ``type_ref`` declares it; raises DmnExpressionError naming ``what`` if it does not conform."""
        if not type_ref or value is None:
            return value
        converted, ok = self._convert(value, type_ref, 0)
        if not ok:
            raise DmnExpressionError(f"{what} is declared '{type_ref}', and its value {value!r} is not one")
        return converted

    def convert_result(self, value: Any, type_ref: str | None, what: str) -> Any:
        """A function's result, converted to the result type its declared function type gives."""
        item = self.items.get((type_ref or "").removeprefix("feel:"))
        if item is None or not item.function or not item.output:
            return value
        return self.convert(value, item.output, what)

    def _convert(self, value: Any, type_ref: str, depth: int) -> tuple[Any, bool]:
        if value is None or depth > 32:
            return value, True
        name = type_ref.removeprefix("feel:").strip()
        item = self.items.get(name)
        if item is None:
            return self._built_in(value, name, depth)
        return self._typed(value, item, depth)

    def _typed(self, value: Any, item: ItemType, depth: int) -> tuple[Any, bool]:
        if item.collection:
            results = [self._one(one, item, depth) for one in (value if isinstance(value, list) else [value])]
            converted: Any = [result for result, _ in results]
            ok = all(fits for _, fits in results)
        else:
            if isinstance(value, list) and len(value) == 1:
                value = value[0]
            converted, ok = self._one(value, item, depth)
        return converted, ok and self._allowed(item, converted)

    def _one(self, value: Any, item: ItemType, depth: int) -> tuple[Any, bool]:
        """One value (an item of a collection, or the value itself) of an item definition."""
        if value is None:
            return value, True
        if item.function:
            return value, kind_of(value) == "function"
        if item.components is not None:
            if not isinstance(value, Mapping):
                return value, False
            converted = dict(value)
            for key, component in item.components.items():
                if key not in value:
                    return value, False
                converted[key], ok = self._typed(value[key], component, depth + 1)
                if not ok:
                    return value, False
            return converted, True
        if not item.base:
            return value, True
        return self._convert(value, item.base, depth + 1)

    def _built_in(self, value: Any, name: str, depth: int) -> tuple[Any, bool]:
        lowered = name.lower()
        if lowered in _ANY:
            return value, True
        if lowered.startswith("list<") and lowered.endswith(">"):
            items = value if isinstance(value, list) else [value]
            results = [self._convert(one, name[5:-1], depth + 1) for one in items]
            return [r for r, _ in results], all(ok for _, ok in results)
        kind = _BUILT_IN.get(lowered)
        if kind is None:
            return value, True  # a type we do not know (an import's, a generic one) accepts the value
        if kind != "list" and isinstance(value, list) and len(value) == 1:
            value = value[0]
        if kind == "list" and not isinstance(value, list):
            value = [value]
        actual = kind_of(value)
        return value, actual == kind or (kind == "date and time" and actual == "date")

    def _allowed(self, item: ItemType, value: Any) -> bool:
        if item.allowed is None or value is None:
            return True
        values = value if item.collection and isinstance(value, list) else [value]
        try:
            return all(item.allowed.matches(one, {}) for one in values)
        except FeelError:
            return False


def read_types(root: ET.Element, namespace: str) -> Types:
    """The item definitions of a model (its ``itemDefinition`` elements, with their components)."""
    ns = f"{{{namespace}}}"
    types = Types()
    for element in root.findall(f"{ns}itemDefinition"):
        item = _item_type(element, ns)
        types.items[item.name] = item
    return types


def _item_type(element: ET.Element, ns: str) -> ItemType:
    type_ref = (element.findtext(f"{ns}typeRef") or element.get("typeRef") or "").strip()
    components = element.findall(f"{ns}itemComponent")
    allowed_text = (element.findtext(f"{ns}allowedValues/{ns}text") or "").strip()
    function = element.find(f"{ns}functionItem")
    allowed = None
    if allowed_text:
        try:
            allowed = compile_unary_tests(allowed_text)
        except FeelError:
            allowed = None
    return ItemType(
        name=element.get("name") or "",
        base=type_ref,
        collection=element.get("isCollection") == "true",
        components={c.get("name") or "": _item_type(c, ns) for c in components} if components else None,
        allowed=allowed,
        function=function is not None,
        output=(function.get("outputTypeRef") or "") if function is not None else "",
    )
