"""What every parse rule shares: the resource being parsed, its root-level definitions (messages, errors,
signals, escalations), the problems found so far, and FEEL expressions read from attributes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from zeebe_celery.engine import feel
from zeebe_celery.engine.model import Expr

__all__ = ["BPMN", "ZEEBE", "BpmnError", "Document", "local"]

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
ZEEBE = "{http://camunda.org/schema/zeebe/1.0}"


class BpmnError(ValueError):
    """The resource is not BPMN the engine can run; the message says where and why."""


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class Document:
    """One resource being parsed; :meth:`fail` collects problems, so one deployment names them all."""

    def __init__(self, root: ET.Element, resource_name: str) -> None:
        self.root = root
        self.resource = resource_name
        self.messages = {m.get("id", ""): m for m in root.iter(f"{BPMN}message")}
        self.errors = {e.get("id", ""): e for e in root.iter(f"{BPMN}error")}
        self.signals = {s.get("id", ""): s for s in root.iter(f"{BPMN}signal")}
        self.escalations = {s.get("id", ""): s for s in root.iter(f"{BPMN}escalation")}
        self.problems: list[str] = []

    def fail(self, node: ET.Element, message: str) -> None:
        self.problems.append(f"- Element: {node.get('id', '?')} ({local(node.tag)})\n    - ERROR: {message}")

    def fail_id(self, element_id: str, message: str) -> None:
        self.problems.append(f"- Element: {element_id}\n    - ERROR: {message}")

    def expr(self, node: ET.Element, text: str, *, expression: bool = False) -> Expr:
        """``expression``: the text is always FEEL (conditions, scripts), with or without the leading ``=``."""
        source = text.strip()
        if expression and not source.startswith("="):
            source = "=" + source
        try:
            return Expr.parse(source)
        except feel.FeelError as exc:
            self.fail(node, f"failed to parse expression '{source}': {exc}")
            return Expr(source)
