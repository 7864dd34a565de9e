"""What every page and action shares: the runtime, the history the REST API searches (made on first use),
the diagrams drawn so far, and the answer type."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from zeebe_celery.engine.inspection import definition_of
from zeebe_celery.engine.model import Element
from zeebe_celery.engine.rest.history import History
from zeebe_celery.engine.runtime import Runtime
from zeebe_celery.engine.state import Definition
from zeebe_celery.engine.web.diagram import Diagram, read_di
from zeebe_celery.engine.web.html import Safe
from zeebe_celery.engine.web.layout import auto_layout

__all__ = ["NotFoundPage", "Page", "Response", "WebContext"]


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def html(cls, markup: Safe, status: int = 200) -> Response:
        return cls(status, markup.encode("utf-8"))

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(303, b"", headers={"Location": location})


class Page(Exception):
    """A request answered with a page of its own: the error message shown and its status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class NotFoundPage(Page):
    def __init__(self, message: str) -> None:
        super().__init__(404, message)


class WebContext:
    """The engine as the web UI sees it."""

    def __init__(self, runtime: Runtime, history: Callable[[], History]) -> None:
        self.runtime = runtime
        self._history = history
        self._diagrams: dict[int, Diagram] = {}
        self._lock = threading.Lock()

    @property
    def history(self) -> History:
        return self._history()

    def definition(self, key: int) -> Definition:
        definition = definition_of(self.runtime, key)
        if definition is None:
            raise NotFoundPage(f"no deployed process has the key {key}")
        return definition

    def diagram(self, definition: Definition) -> Diagram:
        """The process's diagram: from its BPMNDI, else laid out; drawn once per deployed version."""
        with self._lock:
            found = self._diagrams.get(definition.key)
        if found is None:
            found = read_di(definition) or auto_layout(definition.process)
            with self._lock:
                self._diagrams[definition.key] = found
        return found

    def drawn_ancestor(self, definition: Definition, diagram: Diagram, element_id: str) -> str | None:
        """``element_id``, or the nearest container of it that the diagram draws (a collapsed sub-process)."""
        drawn = diagram.ids()
        element: Element | None = definition.process.elements.get(element_id)
        if element_id in drawn:
            return element_id
        while element is not None:
            if element.id in drawn:
                return element.id
            element = element.parent
        return None
