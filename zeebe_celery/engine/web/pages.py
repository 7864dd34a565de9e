"""The overview pages: deployed processes with their instance counts, one process version with its diagram,
and the open incidents across instances."""

from __future__ import annotations

import datetime
from typing import Any

from zeebe_celery.engine.inspection import incident_view, process_view
from zeebe_celery.engine.web.context import WebContext
from zeebe_celery.engine.web.html import Safe, join, link, page, render, table, url
from zeebe_celery.engine.web.svg import draw

__all__ = ["incidents_page", "process_page", "processes_page", "when"]


def when(ms: Any) -> str:
    """Epoch milliseconds as UTC time of day with the date; "" for none."""
    if not isinstance(ms, int) or ms <= 0:
        return ""
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _counts(row: dict[str, Any]) -> list[Any]:
    process_id = row["bpmnProcessId"]
    return [
        link(url("/ui/instances", process=process_id, state="ACTIVE"), row["active"]),
        link(url("/ui/instances", process=process_id, state="INCIDENT"), row["incidents"]),
        link(url("/ui/instances", process=process_id, state="COMPLETED"), row["completed"]),
        link(url("/ui/instances", process=process_id, state="TERMINATED"), row["terminated"]),
    ]


def processes_page(ctx: WebContext, *, error: str = "", notice: str = "") -> Safe:
    rows = process_view(ctx.runtime, ctx.history)
    body = table(
        ["Process", "Name", "Version", "Resource", "Active", "With incidents", "Completed", "Terminated"],
        (
            [
                link(f"/ui/processes/{row['key']}", row["bpmnProcessId"]),
                row["name"],
                f"v{row['version']}" + (f" ({row['versionTag']})" if row["versionTag"] else ""),
                row["resourceName"],
                *_counts(row),
            ]
            for row in rows
        ),
        empty="No process is deployed yet.",
        css="processes",
    )
    note = Safe(
        "<p>Counts cover the running instances and the ended ones the engine's history retains "
        "(the REST API's searches read the same).</p>"
    )
    return page("Processes", Safe(body + note), here="/", error=error, notice=notice)


def process_page(ctx: WebContext, key: int) -> Safe:
    definition = ctx.definition(key)
    versions = [r for r in process_view(ctx.runtime, ctx.history) if r["bpmnProcessId"] == definition.bpmn_process_id]
    row = next((r for r in versions if r["key"] == key), None)
    diagram = ctx.diagram(definition)
    version_links = join(
        (
            render("<strong>v{v}</strong>", v=r["version"])
            if r["key"] == key
            else link(f"/ui/processes/{r['key']}", f"v{r['version']}")
            for r in versions
        ),
        " · ",
    )
    summary = table(
        ["Key", "Version", "Active", "With incidents", "Completed", "Terminated"],
        [[key, version_links, *_counts(row)]] if row is not None else [],
    )
    body = render(
        '<p>{name} · resource {resource}</p>{summary}<h2>Diagram</h2><div class="diagram">{svg}</div>'
        "<p>{instances}</p>",
        name=definition.process.name or definition.bpmn_process_id,
        resource=definition.resource_name,
        summary=summary,
        svg=draw(diagram),
        instances=link(url("/ui/instances", process=definition.bpmn_process_id), "All instances of this process"),
    )
    return page(f"{definition.bpmn_process_id} v{definition.version}", body, here="/")


def incidents_page(ctx: WebContext) -> Safe:
    incidents = sorted(incident_view(ctx.runtime), key=lambda i: i["key"])
    body = table(
        ["Incident", "Process instance", "Process", "Element", "Error type", "Error message", "Job"],
        (
            [
                i["key"],
                link(f"/ui/instances/{i['processInstanceKey']}", i["processInstanceKey"]),
                i["bpmnProcessId"],
                i["elementId"],
                i["errorType"],
                render("<pre>{m}</pre>", m=i["errorMessage"]),
                i["jobKey"] if i["jobKey"] > 0 else "",
            ]
            for i in incidents
        ),
        empty="No open incident.",
        css="incidents",
    )
    return page("Incidents", body, here="/ui/incidents")
