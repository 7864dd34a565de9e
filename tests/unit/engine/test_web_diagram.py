"""The web UI's diagrams (zeebe_celery/engine/web/: diagram, layout, svg): BPMNDI read as drawn, a process
without it laid out, marks drawn on the right shapes, and names escaped."""

from __future__ import annotations

from pathlib import Path

from tests.unit.engine.bpmn_builders import (
    boundary,
    end_event,
    event_start,
    event_sub_process,
    exclusive_gateway,
    flow,
    flows,
    process,
    service_task,
    start_event,
    sub_process,
)
from tests.unit.engine.harness import Harness
from zeebe_celery.engine.rest.history import History
from zeebe_celery.engine.web.context import WebContext
from zeebe_celery.engine.web.diagram import read_di
from zeebe_celery.engine.web.layout import auto_layout
from zeebe_celery.engine.web.svg import draw

POOL = (Path(__file__).resolve().parents[2] / "bpmn" / "web_pool.bpmn").read_bytes()


def test_a_collaboration_is_drawn_from_its_di_with_its_pool_sub_process_and_annotation() -> None:
    engine = Harness()
    [definition] = engine.deploy(POOL)
    diagram = read_di(definition)
    assert diagram is not None
    shapes = {s.id: s for s in diagram.shapes}
    assert set(shapes) == {"pool", "start", "sub", "s2", "inner", "late", "end", "note"}
    assert shapes["sub"].expanded
    assert not shapes["late"].interrupting
    assert shapes["late"].event == "timer"
    assert (shapes["inner"].bounds.x, shapes["inner"].bounds.y) == (370.0, 128.0)
    svg = draw(diagram)
    assert "Shop &lt;main&gt;" in svg  # the pool's name, escaped
    assert "Runs nightly" in svg
    assert "stroke-dasharray:5 3" in svg  # the non-interrupting boundary event
    assert svg.count('marker-end="url(#arrow)"') == 3


def test_a_process_without_di_is_laid_out_left_to_right_with_boundaries_and_event_sub_processes() -> None:
    bpmn = process(
        "p",
        start_event(),
        service_task("a", "a"),
        exclusive_gateway("gw", default="back"),
        service_task("b", "b"),
        end_event(),
        boundary("oops", "a", catch_all_errors=True),
        end_event("failed"),
        event_sub_process("cleanup", event_start("on-timer", duration="PT1M"), end_event("cleaned")),
        flows("start", "a", "gw"),
        flow("gw", "b", condition="=x > 1"),
        flow("gw", "a", flow_id="back"),
        flows("b", "end"),
        flows("oops", "failed"),
    )
    engine = Harness()
    [definition] = engine.deploy(bpmn)
    assert read_di(definition) is None
    diagram = auto_layout(definition.process)
    x = {s.id: s.bounds.x + s.bounds.width / 2 for s in diagram.shapes}
    assert x["start"] < x["a"] < x["gw"] < x["b"] < x["end"]  # the loop back does not reorder them
    host = next(s for s in diagram.shapes if s.id == "a").bounds
    oops = next(s for s in diagram.shapes if s.id == "oops").bounds
    assert oops.y + oops.height / 2 == host.y + host.height  # on its host's lower edge
    assert next(s for s in diagram.shapes if s.id == "cleanup").tag == "subProcess"
    assert {e.id for e in diagram.edges} == {"start-a", "a-gw", "gw-b", "back", "b-end", "oops-failed"}


def test_marks_on_elements_inside_a_collapsed_sub_process_go_to_the_sub_process() -> None:
    bpmn = process(
        "p",
        start_event(),
        sub_process("sub", start_event("s2"), service_task("inner", "t"), end_event("e2"), flows("s2", "inner", "e2")),
        end_event(),
        flows("start", "sub", "end"),
    )
    engine = Harness()
    [definition] = engine.deploy(bpmn)
    context = WebContext(engine.runtime, lambda: History(engine.runtime))
    diagram = context.diagram(definition)
    assert context.drawn_ancestor(definition, diagram, "inner") == "sub"
    assert context.drawn_ancestor(definition, diagram, "start-sub") == "start-sub"
    marked = draw(diagram, {"sub": {"active"}}, {"sub": 2})
    assert '<g class="el active" data-element-id="sub">' in marked
    assert ">2</text>" in marked
