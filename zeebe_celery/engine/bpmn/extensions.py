"""Parse rules of the ``zeebe:`` extension elements every element may carry: input and output mappings, and
the refusal of any extension the engine does not run (Zeebe would run it, so ignoring it would run the
model wrongly)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from zeebe_celery.engine import feel
from zeebe_celery.engine.bpmn.document import ZEEBE, Document, local
from zeebe_celery.engine.model import Expr, Mapping_

__all__ = ["check_extensions", "io_mappings"]

# The zeebe: extension elements the engine runs (or that carry no behaviour: properties and version tags
# are metadata for tools).
_RUN = {
    "taskDefinition",
    "taskHeaders",
    "ioMapping",
    "script",
    "calledDecision",
    "assignmentDefinition",
    "formDefinition",
    "taskSchedule",
    "subscription",
    "properties",
    "versionTag",
    "calledElement",
    "userTask",
    "priorityDefinition",
    "taskListeners",
    "conditionalFilter",
    "executionListeners",
    "userTaskForm",
    "adHoc",
}


def io_mappings(
    doc: Document, node: ET.Element, ext: list[ET.Element]
) -> tuple[tuple[Mapping_, ...], tuple[Mapping_, ...]]:
    inputs: list[Mapping_] = []
    outputs: list[Mapping_] = []
    for io in (e for e in ext if e.tag == f"{ZEEBE}ioMapping"):
        for entry in io:
            target, source = entry.get("target", ""), entry.get("source", "")
            if not target:
                doc.fail(node, "an io mapping needs a target")
                continue
            expr = doc.expr(node, source) if source else Expr("=null", feel.compile_expression("null"))
            (inputs if entry.tag == f"{ZEEBE}input" else outputs).append(Mapping_(expr, target))
    return tuple(inputs), tuple(outputs)


def check_extensions(doc: Document, node: ET.Element, ext: list[ET.Element]) -> None:
    """Refuse each zeebe: extension element the engine does not run, by name."""
    for extension in ext:
        if extension.tag.startswith(ZEEBE) and local(extension.tag) not in _RUN:
            doc.fail(node, f"the extension element <zeebe:{local(extension.tag)}> is not supported by this engine")
