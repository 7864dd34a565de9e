"""A :class:`Diagram` drawn as inline SVG, in the BPMN notation's shapes: circles for events (thin for a
start, thick for an end, double for the rest, dashed when not interrupting), rounded boxes for activities,
diamonds with their marker for gateways, arrows for sequence flows. Marks colour what an instance did:
``active`` (a token is there), ``incident``, ``taken`` (completed, or a flow taken)."""

from __future__ import annotations

from collections.abc import Mapping

from zeebe_celery.engine.web.diagram import Bounds, Diagram, Edge, Shape
from zeebe_celery.engine.web.html import Safe, join, render

__all__ = ["draw"]

_STYLE = """
.bpmn text{font:12px system-ui,sans-serif;fill:#1d2733}
.bpmn .shape{fill:#fff;stroke:#3c4650;stroke-width:1.5}
.bpmn .edge{fill:none;stroke:#3c4650;stroke-width:1.5}
.bpmn .edge.messageFlow{stroke-dasharray:6 4}.bpmn .edge.association{stroke-dasharray:2 3}
.bpmn .pool{fill:none;stroke:#3c4650;stroke-width:1.2}
.bpmn .glyph{fill:none;stroke:#3c4650;stroke-width:1.3}
.bpmn .taken .shape{stroke:#2b7a3d;fill:#f1faf3}.bpmn .edge.taken{stroke:#2b7a3d;stroke-width:2.5}
.bpmn .active .shape{stroke:#1f6fd1;stroke-width:3.5;fill:#e8f1fd}
.bpmn .incident .shape{stroke:#c92a2a;stroke-width:3.5;fill:#fdeaea}
.bpmn .count{fill:#1f6fd1}.bpmn .incident .count{fill:#c92a2a}.bpmn .count text{fill:#fff;font-weight:600}
"""
# Approximate width of one character of the 12px label font, for wrapping.
_CHAR = 6.6
_LINE = 14.0


def _wrap(text: str, width: float) -> list[str]:
    per_line = max(4, int(width / _CHAR))
    lines: list[str] = []
    for word in text.split():
        while len(word) > per_line:
            lines.append(word[:per_line])
            word = word[per_line:]
        if lines and len(lines[-1]) + 1 + len(word) <= per_line:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _text(text: str, x: float, y: float, width: float, *, anchor: str = "middle", top: bool = False) -> Safe:
    """``text`` wrapped to ``width``, centred on (x, y), or starting at y when ``top``."""
    lines = _wrap(text, width)
    if not lines:
        return Safe("")
    first = y if top else y - (len(lines) - 1) * _LINE / 2 + 4
    spans = join(
        render('<tspan x="{x}" y="{y}">{t}</tspan>', x=f"{x:.1f}", y=f"{first + i * _LINE:.1f}", t=t)
        for i, t in enumerate(lines)
    )
    return render('<text text-anchor="{a}">{spans}</text>', a=anchor, spans=spans)


def _event_glyph(kind: str, cx: float, cy: float, filled: bool) -> Safe:
    fill = "#3c4650" if filled else "none"
    if kind == "message":
        return render(
            '<rect class="glyph" x="{x}" y="{y}" width="14" height="10" style="fill:{f}"/>'
            '<polyline class="glyph" points="{p}"/>',
            x=f"{cx - 7:.1f}",
            y=f"{cy - 5:.1f}",
            f=fill,
            p=f"{cx - 7:.1f},{cy - 5:.1f} {cx:.1f},{cy + 1:.1f} {cx + 7:.1f},{cy - 5:.1f}",
        )
    if kind == "timer":
        return render(
            '<circle class="glyph" cx="{x}" cy="{y}" r="9"/><polyline class="glyph" points="{p}"/>',
            x=f"{cx:.1f}",
            y=f"{cy:.1f}",
            p=f"{cx:.1f},{cy - 6:.1f} {cx:.1f},{cy:.1f} {cx + 5:.1f},{cy:.1f}",
        )
    if kind == "terminate":
        return render('<circle cx="{x}" cy="{y}" r="9" style="fill:#3c4650"/>', x=f"{cx:.1f}", y=f"{cy:.1f}")
    points = {
        "error": [(-7, 7), (-3, -6), (2, 2), (7, -7), (3, 6), (-2, -2)],
        "signal": [(0, -8), (7, 5), (-7, 5)],
        "escalation": [(0, -8), (6, 7), (0, 2), (-6, 7)],
        "conditional": [(-6, -7), (6, -7), (6, 7), (-6, 7)],
        "link": [(-7, -3), (1, -3), (1, -7), (7, 0), (1, 7), (1, 3), (-7, 3)],
        "compensate": [(0, -6), (0, 6), (-7, 0)],
    }.get(kind)
    if points is None:
        return Safe("")
    return render(
        '<polygon class="glyph" points="{p}" style="fill:{f}"/>',
        p=" ".join(f"{cx + dx:.1f},{cy + dy:.1f}" for dx, dy in points),
        f=fill,
    )


def _cross(cx: float, cy: float, ends: tuple[tuple[int, int], ...]) -> Safe:
    """Two strokes through the centre: an X (exclusive) or a + (parallel), from the offsets of their ends."""
    a, b, c, d = (f"{cx + dx:.1f},{cy + dy:.1f}" for dx, dy in ends)
    return render('<path class="glyph" style="stroke-width:3" d="M{a} L{b} M{c} L{d}"/>', a=a, b=b, c=c, d=d)


def _gateway_marker(tag: str, cx: float, cy: float) -> Safe:
    if tag == "exclusiveGateway":
        return _cross(cx, cy, ((-8, -8), (8, 8), (8, -8), (-8, 8)))
    if tag == "parallelGateway":
        return _cross(cx, cy, ((0, -11), (0, 11), (-11, 0), (11, 0)))
    if tag == "inclusiveGateway":
        return render(
            '<circle class="glyph" style="stroke-width:2.5" cx="{x}" cy="{y}" r="10"/>', x=f"{cx:.1f}", y=f"{cy:.1f}"
        )
    if tag == "eventBasedGateway":
        return render(
            '<circle class="glyph" cx="{x}" cy="{y}" r="11"/><circle class="glyph" cx="{x}" cy="{y}" r="8"/>',
            x=f"{cx:.1f}",
            y=f"{cy:.1f}",
        )
    return Safe("")


def _outside_label(shape: Shape) -> Safe:
    if not shape.name:
        return Safe("")
    b = shape.label
    if b is not None:
        return _text(shape.name, b.x + b.width / 2, b.y + b.height / 2, max(b.width, 60))
    box = shape.bounds
    return _text(shape.name, box.x + box.width / 2, box.y + box.height + 14, 110, top=True)


def _shape(shape: Shape, marks: set[str], count: int) -> Safe:
    b = shape.bounds
    cx, cy = b.x + b.width / 2, b.y + b.height / 2
    tag = shape.tag
    dash = "" if shape.interrupting else "stroke-dasharray:5 3"
    if tag.endswith("Event"):
        r = min(b.width, b.height) / 2
        width = {"startEvent": 1.5, "endEvent": 4.0}.get(tag, 1.5)
        body = render(
            '<circle class="shape" cx="{x}" cy="{y}" r="{r}" style="stroke-width:{w};{d}"/>',
            x=f"{cx:.1f}",
            y=f"{cy:.1f}",
            r=f"{r:.1f}",
            w=width,
            d=dash,
        )
        if tag not in ("startEvent", "endEvent"):
            body = Safe(
                body
                + render(
                    '<circle class="glyph" cx="{x}" cy="{y}" r="{r}" style="{d}"/>',
                    x=f"{cx:.1f}",
                    y=f"{cy:.1f}",
                    r=f"{r - 3:.1f}",
                    d=dash,
                )
            )
        body = Safe(body + _event_glyph(shape.event, cx, cy, tag in ("endEvent", "intermediateThrowEvent")))
        body = Safe(body + _outside_label(shape))
    elif tag.endswith("Gateway"):
        points = f"{cx:.1f},{b.y:.1f} {b.x + b.width:.1f},{cy:.1f} {cx:.1f},{b.y + b.height:.1f} {b.x:.1f},{cy:.1f}"
        body = Safe(
            render('<polygon class="shape" points="{p}"/>', p=points)
            + _gateway_marker(tag, cx, cy)
            + _outside_label(shape)
        )
    elif tag in ("participant", "lane"):
        band = render(
            '<rect class="pool" x="{x}" y="{y}" width="{w}" height="{h}"/>'
            '<line class="pool" x1="{lx}" y1="{y}" x2="{lx}" y2="{y2}"/>',
            x=f"{b.x:.1f}",
            y=f"{b.y:.1f}",
            w=f"{b.width:.1f}",
            h=f"{b.height:.1f}",
            lx=f"{b.x + 30:.1f}",
            y2=f"{b.y + b.height:.1f}",
        )
        name = render(
            '<text text-anchor="middle" transform="rotate(-90 {x} {y})" x="{x}" y="{y}">{t}</text>',
            x=f"{b.x + 19:.1f}",
            y=f"{cy:.1f}",
            t=shape.name,
        )
        return Safe(band + name)
    elif tag == "textAnnotation":
        return Safe(
            render(
                '<path class="glyph" d="M{a} L{b} L{c} L{d}"/>',
                a=f"{b.x + 10:.1f},{b.y:.1f}",
                b=f"{b.x:.1f},{b.y:.1f}",
                c=f"{b.x:.1f},{b.y + b.height:.1f}",
                d=f"{b.x + 10:.1f},{b.y + b.height:.1f}",
            )
            + _text(shape.name, b.x + 5, b.y + 14, b.width - 8, anchor="start", top=True)
        )
    else:
        thick = "stroke-width:3.5" if tag == "callActivity" else ""
        body = render(
            '<rect class="shape" x="{x}" y="{y}" width="{w}" height="{h}" rx="10" style="{s}"/>',
            x=f"{b.x:.1f}",
            y=f"{b.y:.1f}",
            w=f"{b.width:.1f}",
            h=f"{b.height:.1f}",
            s=thick,
        )
        if shape.expanded:
            body = Safe(body + _text(shape.name, b.x + 8, b.y + 16, b.width - 16, anchor="start", top=True))
        else:
            body = Safe(body + _text(shape.name, cx, cy, b.width - 10))
            if tag in ("subProcess", "adHocSubProcess", "callActivity"):
                body = Safe(
                    body
                    + render(
                        '<rect class="glyph" x="{x}" y="{y}" width="12" height="12"/>'
                        '<path class="glyph" d="M{a} h8 M{c} v8"/>',
                        x=f"{cx - 6:.1f}",
                        y=f"{b.y + b.height - 15:.1f}",
                        a=f"{cx - 4:.1f},{b.y + b.height - 9:.1f}",
                        c=f"{cx:.1f},{b.y + b.height - 13:.1f}",
                    )
                )
    if count > 1 or (count and "active" in marks):
        body = Safe(
            body
            + render(
                '<g class="count"><circle cx="{x}" cy="{y}" r="9"/>'
                '<text text-anchor="middle" x="{x}" y="{ty}">{n}</text></g>',
                x=f"{b.x + b.width:.1f}",
                y=f"{b.y:.1f}",
                ty=f"{b.y + 4:.1f}",
                n=count,
            )
        )
    css = " ".join(sorted(marks))
    return render(
        '<g class="el {css}" data-element-id="{id}"><title>{title}</title>{body}</g>',
        css=css,
        id=shape.id,
        title=f"{shape.name or shape.id} ({shape.id})",
        body=body,
    )


def _edge(edge: Edge, taken: bool) -> Safe:
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in edge.points)
    arrow = ' marker-end="url(#arrow)"' if edge.tag == "sequenceFlow" else ""
    line = render(
        '<polyline class="edge {tag}{t}" data-element-id="{id}" points="{p}"',
        tag=edge.tag,
        t=" taken" if taken else "",
        id=edge.id,
        p=points,
    )
    label = Safe("")
    if edge.name:
        if edge.label is not None:
            b: Bounds = edge.label
            label = _text(edge.name, b.x + b.width / 2, b.y + b.height / 2, max(b.width, 60))
        else:
            (x1, y1), (x2, y2) = edge.points[0], edge.points[1]
            label = _text(edge.name, (x1 + x2) / 2 + 4, (y1 + y2) / 2 - 8, 90)
    return Safe(line + Safe(arrow + "/>") + label)


def draw(
    diagram: Diagram, marks: Mapping[str, set[str]] | None = None, counts: Mapping[str, int] | None = None
) -> Safe:
    """The diagram as an ``<svg>``; ``marks``: CSS classes by element id; ``counts``: tokens on an element."""
    marks = marks or {}
    counts = counts or {}
    x0, y0, x1, y1 = diagram.extent()
    pad = 20
    view = f"{x0 - pad:.0f} {y0 - pad:.0f} {x1 - x0 + 2 * pad:.0f} {y1 - y0 + 2 * pad:.0f}"
    pools = [s for s in diagram.shapes if s.tag in ("participant", "lane")]
    others = [s for s in diagram.shapes if s.tag not in ("participant", "lane")]
    # Containers first, so what they hold is drawn over them.
    others.sort(key=lambda s: not s.expanded)
    edges = join(_edge(e, "taken" in marks.get(e.id, set())) for e in diagram.edges)
    shapes = join(_shape(s, marks.get(s.id, set()), counts.get(s.id, 0)) for s in [*pools, *others])
    return render(
        '<svg class="bpmn" xmlns="http://www.w3.org/2000/svg" viewBox="{view}" width="{w}" height="{h}" role="img">'
        "<style>{style}</style>"
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="11" markerHeight="11" '
        'markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#3c4650"/></marker></defs>'
        "{shapes}{edges}</svg>",
        view=view,
        w=f"{x1 - x0 + 2 * pad:.0f}",
        h=f"{y1 - y0 + 2 * pad:.0f}",
        style=Safe(_STYLE),
        shapes=shapes,
        edges=edges,
    )
