"""A deployed process's diagram as plain geometry: shapes and edges read from the BPMN's own diagram
interchange (BPMNDI), or laid out automatically (:mod:`layout`) when the resource has none.

Each shape and edge keeps the BPMN tag of the element it draws (``serviceTask``, ``exclusiveGateway``,
``sequenceFlow``...), its name and, for events, the event definition, so one renderer draws both kinds.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from zeebe_celery.engine.bpmn.document import BPMN, local
from zeebe_celery.engine.state import Definition

__all__ = ["Bounds", "Diagram", "Edge", "Shape", "read_di"]

BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
DC = "{http://www.omg.org/spec/DD/20100524/DC}"
DI = "{http://www.omg.org/spec/DD/20100524/DI}"


@dataclass(frozen=True, slots=True)
class Bounds:
    x: float
    y: float
    width: float
    height: float


@dataclass(slots=True)
class Shape:
    id: str
    tag: str
    bounds: Bounds
    name: str = ""
    label: Bounds | None = None
    # Events: the event definition's tag without "EventDefinition" ("message", "timer", ...), "" for none.
    event: str = ""
    interrupting: bool = True
    expanded: bool = False


@dataclass(slots=True)
class Edge:
    id: str
    tag: str
    points: list[tuple[float, float]]
    name: str = ""
    label: Bounds | None = None


@dataclass(slots=True)
class Diagram:
    shapes: list[Shape] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def ids(self) -> frozenset[str]:
        """The ids of the elements drawn."""
        return frozenset(s.id for s in self.shapes) | frozenset(e.id for e in self.edges)

    def extent(self) -> tuple[float, float, float, float]:
        """(min x, min y, max x, max y) of everything drawn."""
        xs: list[float] = []
        ys: list[float] = []
        for shape in self.shapes:
            for b in (shape.bounds, shape.label):
                if b is not None:
                    xs += [b.x, b.x + b.width]
                    ys += [b.y, b.y + b.height]
        for edge in self.edges:
            xs += [x for x, _ in edge.points]
            ys += [y for _, y in edge.points]
        if not xs:
            return (0.0, 0.0, 100.0, 100.0)
        return (min(xs), min(ys), max(xs), max(ys))


def _bounds(node: ET.Element | None) -> Bounds | None:
    if node is None:
        return None
    try:
        return Bounds(*(float(node.get(name, "")) for name in ("x", "y", "width", "height")))
    except ValueError:
        return None


def _label(node: ET.Element) -> Bounds | None:
    label = node.find(f"{BPMNDI}BPMNLabel")
    return _bounds(label.find(f"{DC}Bounds")) if label is not None else None


def _event_kind(node: ET.Element) -> str:
    for child in node:
        tag = local(child.tag)
        if tag.endswith("EventDefinition"):
            return tag.removesuffix("EventDefinition")
    return ""


def _plane(root: ET.Element, process_id: str) -> ET.Element | None:
    """The plane that draws the process: its own, or its collaboration's; else the first one."""
    planes = list(root.iter(f"{BPMNDI}BPMNPlane"))
    participants = {
        p.get("id", "")
        for collaboration in root.iter(f"{BPMN}collaboration")
        for p in collaboration.iter(f"{BPMN}participant")
        if p.get("processRef") == process_id
    }
    collaborations = {
        c.get("id", "")
        for c in root.iter(f"{BPMN}collaboration")
        if any(p.get("id") in participants for p in c.iter(f"{BPMN}participant"))
    }
    for plane in planes:
        if plane.get("bpmnElement") == process_id or plane.get("bpmnElement") in collaborations:
            return plane
    return planes[0] if planes else None


def read_di(definition: Definition) -> Diagram | None:
    """The diagram the resource's BPMNDI draws for this process; None when it has none."""
    # The resource was parsed (and accepted) when it was deployed.
    root = ET.fromstring(definition.resource)  # noqa: S314 -- a resource the engine already accepted
    plane = _plane(root, definition.bpmn_process_id)
    if plane is None:
        return None
    nodes = {node.get("id", ""): node for node in root.iter() if node.get("id")}
    diagram = Diagram()
    for shape in plane.iter(f"{BPMNDI}BPMNShape"):
        element = nodes.get(shape.get("bpmnElement", ""))
        bounds = _bounds(shape.find(f"{DC}Bounds"))
        if element is None or bounds is None:
            continue
        diagram.shapes.append(
            Shape(
                id=element.get("id", ""),
                tag=local(element.tag),
                bounds=bounds,
                name=element.get("name", "") or element.findtext(f"{BPMN}text", "") or "",
                label=_label(shape),
                event=_event_kind(element),
                interrupting=element.get("cancelActivity", "true") != "false"
                and element.get("isInterrupting", "true") != "false",
                expanded=shape.get("isExpanded") == "true",
            )
        )
    for edge in plane.iter(f"{BPMNDI}BPMNEdge"):
        element = nodes.get(edge.get("bpmnElement", ""))
        points: list[tuple[float, float]] = []
        for point in edge.iter(f"{DI}waypoint"):
            try:
                points.append((float(point.get("x", "")), float(point.get("y", ""))))
            except ValueError:
                continue
        if element is None or len(points) < 2:
            continue
        diagram.edges.append(
            Edge(
                id=element.get("id", ""),
                tag=local(element.tag),
                points=points,
                name=element.get("name", ""),
                label=_label(edge),
            )
        )
    return diagram if diagram.shapes else None
