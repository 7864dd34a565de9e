"""Reading DMN XML: element lookups in the document's namespace, and FEEL compiled with the element in errors.

Strict (the default, and how Zeebe builds its DMN engine): anything that cannot be read refuses the model,
naming the element. Lazy (how the DMN TCK runs Camunda's engine): an expression that cannot be read becomes
:class:`~.boxed.Unreadable`, failing only what evaluates it. ``quote`` rewrites FEEL text before it is
compiled (names.NameQuoter, or leaves it as it is).
"""

from __future__ import annotations

# expat (>= 2.4) caps entity expansion, and ElementTree fetches no external entity.
import xml.etree.ElementTree as ET
from collections.abc import Callable

from zeebe_celery.engine.feel import FeelError, compile_expression, compile_unary_tests

from .boxed import Unreadable
from .errors import DmnParseError
from .model import Evaluable, Matcher
from .types import Types

__all__ = ["Reader", "local_name"]


def local_name(element: ET.Element) -> str:
    return element.tag.rpartition("}")[2]


class Reader:
    def __init__(
        self, namespace: str, resource_name: str, *, lazy: bool, quote: Callable[[str], str], types: Types
    ) -> None:
        self.ns, self.resource, self.lazy, self.quote, self.types = namespace, resource_name, lazy, quote, types

    def all(self, element: ET.Element, name: str) -> list[ET.Element]:
        return element.findall(f"{{{self.ns}}}{name}")

    def one(self, element: ET.Element, name: str) -> ET.Element | None:
        return element.find(f"{{{self.ns}}}{name}")

    def text(self, element: ET.Element | None) -> str:
        if element is None:
            return ""
        node = self.one(element, "text")
        return (node.text or "").strip() if node is not None else ""

    def fail(self, element_id: str, problem: str) -> DmnParseError:
        return DmnParseError(f"'{self.resource}': element '{element_id}': {problem}")

    def problem(self, element_id: str, problem: str, source: str = "") -> Unreadable:
        """What cannot be read: refuses the model when strict, else fails only what evaluates it."""
        if not self.lazy:
            raise self.fail(element_id, problem)
        return Unreadable(f"element '{element_id}': {problem}", source)

    def expression(self, text: str, element_id: str) -> Evaluable:
        try:
            return compile_expression(self.quote(text))
        except FeelError as error:
            return self.problem(element_id, str(error), text)

    def unary_tests(self, text: str, element_id: str) -> Matcher:
        try:
            return compile_unary_tests(self.quote(text))
        except FeelError as error:
            return self.problem(element_id, str(error), text)
