"""A simple automatic layout for a process deployed without diagram interchange: the process's top-level
elements in columns by their longest distance from a start (loops ignored), left to right; boundary events
on their host's lower edge; event sub-processes in a row below. Sub-processes are drawn collapsed."""

from __future__ import annotations

from zeebe_celery.engine.model import Element, EventType, Kind, Process
from zeebe_celery.engine.web.diagram import Bounds, Diagram, Edge, Shape

__all__ = ["auto_layout", "tag_of"]

_COLUMN = 160.0
_ROW = 130.0
_MARGIN = 40.0
_SIZES = {"event": (36.0, 36.0), "gateway": (50.0, 50.0), "activity": (100.0, 80.0)}


def tag_of(element: Element) -> str:
    """The BPMN tag that declares an element of this kind (``SERVICE_TASK`` -> ``serviceTask``)."""
    if element.kind is Kind.MULTI_INSTANCE_BODY and element.inner is not None:
        element = element.inner
    if element.kind is Kind.EVENT_SUB_PROCESS:
        return "subProcess"
    head, *rest = element.kind.value.lower().split("_")
    return head + "".join(word.title() for word in rest)


def _size(tag: str) -> tuple[float, float]:
    if tag.endswith("Event"):
        return _SIZES["event"]
    if tag.endswith("Gateway"):
        return _SIZES["gateway"]
    return _SIZES["activity"]


def _event(element: Element) -> str:
    kind = element.event_type
    return "" if kind is EventType.NONE else kind.value.lower()


def _ranks(nodes: list[Element]) -> dict[str, int]:
    """Each node's column: its longest path from a node nothing flows into, over forward flows only."""
    ids = {n.id for n in nodes}
    by_id = {n.id: n for n in nodes}
    rank: dict[str, int] = {}
    on_stack: set[str] = set()

    def visit(node: Element, depth: int) -> None:
        if rank.get(node.id, -1) >= depth or node.id in on_stack:
            return
        rank[node.id] = depth
        on_stack.add(node.id)
        followers = [flow.target for flow in node.outgoing]
        followers += [flow.target for b in node.boundaries for flow in b.outgoing]
        for target in followers:
            if target in ids:
                visit(by_id[target], depth + 1)
        on_stack.discard(node.id)

    for node in nodes:
        if not node.incoming:
            visit(node, 0)
    for node in nodes:  # what only a loop reaches
        if node.id not in rank:
            visit(node, 0)
    return rank


def _center(bounds: Bounds) -> tuple[float, float]:
    return (bounds.x + bounds.width / 2, bounds.y + bounds.height / 2)


def _shape(element: Element, x: float, y: float) -> Shape:
    tag = tag_of(element)
    width, height = _size(tag)
    outside = tag.endswith(("Event", "Gateway"))
    return Shape(
        id=element.id,
        tag=tag,
        bounds=Bounds(x - width / 2, y - height / 2, width, height),
        name=element.name,
        label=Bounds(x - 55, y + height / 2 + 4, 110, 28) if outside and element.name else None,
        event=_event(element),
        interrupting=element.interrupting,
    )


def auto_layout(process: Process) -> Diagram:
    root = process.root
    flow_nodes = [e for e in root.children.values() if e.kind not in (Kind.BOUNDARY_EVENT, Kind.EVENT_SUB_PROCESS)]
    ranks = _ranks(flow_nodes)
    rows: dict[int, int] = {}
    placed: dict[str, Shape] = {}
    for node in flow_nodes:
        column = ranks[node.id]
        row = rows.get(column, 0)
        rows[column] = row + 1
        x = _MARGIN + 60 + column * _COLUMN
        y = _MARGIN + 50 + row * _ROW
        placed[node.id] = _shape(node, x, y)
    for node in flow_nodes:
        host = placed[node.id].bounds
        for index, boundary in enumerate(node.boundaries):
            x = host.x + host.width * (index + 1) / (len(node.boundaries) + 1)
            placed[boundary.id] = _shape(boundary, x, host.y + host.height)
    bottom = max((s.bounds.y + s.bounds.height for s in placed.values()), default=_MARGIN)
    for index, sub in enumerate(e for e in root.children.values() if e.kind is Kind.EVENT_SUB_PROCESS):
        shape = _shape(sub, _MARGIN + 60 + index * _COLUMN, bottom + _ROW * 0.7)
        placed[sub.id] = shape
    diagram = Diagram(shapes=list(placed.values()))
    for node in [*flow_nodes, *(b for n in flow_nodes for b in n.boundaries)]:
        for flow in node.outgoing:
            source, target = placed.get(flow.source), placed.get(flow.target)
            if source is None or target is None:
                continue
            diagram.edges.append(Edge(flow.id, "sequenceFlow", _route(source, target)))
    return diagram


def _route(source: Shape, target: Shape) -> list[tuple[float, float]]:
    """Right side to left side with one bend column; a boundary event leaves from below."""
    s, t = source.bounds, target.bounds
    (sx, sy), (tx, ty) = _center(s), _center(t)
    if source.tag == "boundaryEvent":
        start = (sx, s.y + s.height)
        return [start, (sx, ty), (t.x, ty)] if t.x > sx else [start, (sx, t.y + t.height + 20), (tx, t.y + t.height)]
    start = (s.x + s.width, sy)
    if t.x <= start[0]:  # a loop back: around below
        low = max(s.y + s.height, t.y + t.height) + 25
        return [(sx, s.y + s.height), (sx, low), (tx, low), (tx, t.y + t.height)]
    if abs(ty - sy) < 1:
        return [start, (t.x, ty)]
    if source.tag.endswith("Gateway"):  # a gateway's branches leave from its top or bottom corner
        return [(sx, sy + (s.height / 2 if ty > sy else -s.height / 2)), (sx, ty), (t.x, ty)]
    middle = (start[0] + t.x) / 2
    return [start, (middle, sy), (middle, ty), (t.x, ty)]
