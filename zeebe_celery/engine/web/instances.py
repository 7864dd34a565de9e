"""The instance pages: the list (filtered by process, state and a variable's value) and one instance whole:
its diagram with the tokens and the path taken, incidents, element instances, jobs, waits, user tasks and
variables by scope, with the forms of the actions on it. While it runs, the page refreshes the part that
changed (htmx polls ``/live``, which answers 204 while nothing did)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from zeebe_celery.engine.inspection import INSTANCE_STATES, instance_search, process_instance_view, process_view
from zeebe_celery.engine.rest.problems import Problem
from zeebe_celery.engine.web.context import NotFoundPage, WebContext
from zeebe_celery.engine.web.html import Safe, join, link, page, render, table
from zeebe_celery.engine.web.pages import when
from zeebe_celery.engine.web.svg import draw
from zeebe_celery.engine.web.values import json_text, parse_filter_value

__all__ = ["instance_fragment", "instance_page", "instances_page"]

_POLL = "every 1s"


def _badge(state: str) -> Safe:
    return render('<span class="badge {s}">{s}</span>', s=state)


def _row_state(row: Mapping[str, Any]) -> str:
    return "INCIDENT" if row["state"] == "ACTIVE" and row.get("hasIncident") else str(row["state"])


def _select(name: str, options: list[tuple[str, str]], chosen: str) -> Safe:
    return render(
        '<select name="{n}">{o}</select>',
        n=name,
        o=join(
            render('<option value="{v}"{s}>{t}</option>', v=v, t=t, s=Safe(" selected") if v == chosen else Safe(""))
            for v, t in options
        ),
    )


def instances_page(ctx: WebContext, query: Mapping[str, str]) -> tuple[int, Safe]:
    unknown = sorted(set(query) - {"process", "state", "var", "value"})
    error = f"unknown filter {', '.join(unknown)}; the filters are process, state, var and value" if unknown else ""
    process_id, state = query.get("process", ""), query.get("state", "")
    name, value_text = query.get("var", ""), query.get("value", "")
    variable = None
    if not error and (name or value_text):
        if not name:
            error = "a variable filter needs the variable's name (var) as well as its value"
        else:
            try:
                variable = (name, parse_filter_value(value_text))
            except ValueError as exc:
                error = str(exc)
    found: dict[str, Any] = {"items": [], "page": {"totalItems": 0}}
    if not error:
        try:
            found = instance_search(ctx.runtime, ctx.history, process_id=process_id, state=state, variable=variable)
        except Problem as exc:
            error = exc.detail
    processes = sorted({row["bpmnProcessId"] for row in process_view(ctx.runtime, ctx.history)})
    form = render(
        '<form class="box filters" method="get" action="/ui/instances">'
        "<label>Process {p}</label><label>State {s}</label>"
        '<label>Variable <input name="var" value="{n}" placeholder="name"> = '
        '<input name="value" value="{v}" placeholder="JSON value, or text"></label>'
        '<button type="submit">Filter</button></form>',
        p=_select("process", [("", "any"), *((p, p) for p in processes)], process_id),
        s=_select("state", [("", "any"), *((s, s.title()) for s in INSTANCE_STATES)], state),
        n=name,
        v=value_text,
    )
    rows = table(
        ["Process instance", "Process", "Version", "State", "Started", "Ended"],
        (
            [
                link(f"/ui/instances/{row['processInstanceKey']}", row["processInstanceKey"]),
                row["processDefinitionId"],
                row["processDefinitionVersion"],
                _badge(_row_state(row)),
                (row["startDate"] or "").replace("T", " "),
                (row["endDate"] or "").replace("T", " "),
            ]
            for row in found["items"]
        ),
        empty="No instance matches.",
        css="instances",
    )
    total = render("<p>{n} found (the newest 200 shown).</p>", n=found["page"]["totalItems"])
    return (400 if error else 200), page("Instances", Safe(form + total + rows), here="/ui/instances", error=error)


def _view(ctx: WebContext, key: int) -> dict[str, Any]:
    view = process_instance_view(ctx.runtime, ctx.history, key)
    if view is None:
        raise NotFoundPage(f"no process instance has the key {key} (or it ended long ago)")
    return view


def _marks(ctx: WebContext, view: dict[str, Any]) -> tuple[dict[str, set[str]], dict[str, int]]:
    definition = ctx.definition(view["definitionKey"])
    diagram = ctx.diagram(definition)
    marks: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    for element_id in view["path"]:
        drawn = ctx.drawn_ancestor(definition, diagram, element_id)
        if drawn is not None:
            marks.setdefault(drawn, set()).add("taken")
    for element in view["elements"]:
        if element["parentKey"] is None:
            continue
        drawn = ctx.drawn_ancestor(definition, diagram, element["elementId"])
        if drawn is not None:
            marks.setdefault(drawn, set()).add("incident" if element["incident"] else "active")
            counts[drawn] = counts.get(drawn, 0) + 1
    return marks, counts


def _state(view: dict[str, Any]) -> str:
    if view["row"] is not None:
        return _row_state(view["row"])
    return "INCIDENT" if any(i["state"] == "ACTIVE" for i in view["incidents"]) else "ACTIVE"


def _incidents(key: int, view: dict[str, Any]) -> Safe:
    def action(incident: dict[str, Any]) -> Safe:
        if incident["state"] != "ACTIVE":
            return Safe("resolved")
        retries = (
            Safe('<label>retries <input type="number" name="retries" value="1" min="1" style="width:4em"></label> ')
            if incident["jobKey"]
            else Safe("")
        )
        return render(
            '<form class="inline retry" method="post" action="/ui/instances/{k}/retry">'
            '<input type="hidden" name="incident" value="{i}">{r}<button type="submit">{b}</button></form>',
            k=key,
            i=incident["incidentKey"],
            r=retries,
            b="Retry" if incident["jobKey"] else "Resolve",
        )

    return table(
        ["Incident", "Element", "Error type", "Error message", "Job", "State", ""],
        (
            [
                i["incidentKey"],
                i["elementId"],
                i["errorType"],
                render("<pre>{m}</pre>", m=i["errorMessage"]),
                i["jobKey"] or "",
                i["state"],
                action(i),
            ]
            for i in view["incidents"]
        ),
        empty="No incident.",
        css="incidents",
    )


def _variables(key: int, view: dict[str, Any]) -> Safe:
    def editor(v: dict[str, Any]) -> Safe:
        if not view["live"]:
            return render("<pre>{v}</pre>", v=json_text(v["value"]))
        return render(
            '<form class="inline variable" method="post" action="/ui/instances/{k}/variables">'
            '<input type="hidden" name="scope" value="{s}"><input type="hidden" name="name" value="{n}">'
            '<input name="value" size="50" value="{v}" aria-label="value of {n}"> <button type="submit">Save</button>'
            "</form>",
            k=key,
            s=v["scopeKey"],
            n=v["name"],
            v=json_text(v["value"]),
        )

    rows = table(
        ["Scope", "Name", "Value (JSON)"],
        ([f"{v['scopeElementId']} {v['scopeKey']}".strip(), v["name"], editor(v)] for v in view["variables"]),
        empty="No variable.",
        css="variables",
    )
    if not view["live"]:
        return rows
    scopes = [(str(e["key"]), f"{e['elementId']} ({e['key']})") for e in view["elements"]]
    add = render(
        '<form class="box" method="post" action="/ui/instances/{k}/variables"><strong>Set a variable</strong>'
        "<label>Scope {s}</label>"
        '<label>Name <input name="name" required></label>'
        '<label>Value (JSON) <input name="value" size="50" required></label>'
        '<button type="submit">Set</button></form>',
        k=key,
        s=_select("scope", scopes, str(key)),
    )
    return Safe(rows + add)


def _actions(ctx: WebContext, key: int, view: dict[str, Any]) -> Safe:
    if not view["live"]:
        return Safe("")
    definition = ctx.definition(view["definitionKey"])
    active = [(str(e["key"]), f"{e['elementId']} ({e['key']})") for e in view["elements"] if e["parentKey"]]
    targets = sorted(
        (e.id, f"{e.name} ({e.id})" if e.name else e.id)
        for e in definition.process.elements.values()
        if e.kind.value not in ("PROCESS", "SEQUENCE_FLOW")
    )
    return render(
        "<h2>Actions</h2>"
        '<form class="box modify" method="post" action="/ui/instances/{k}/modify"><strong>Move a token</strong>'
        "<label>From {source}</label><label>To {target}</label>"
        '<button type="submit">Move</button></form>'
        '<form class="box cancel" method="post" action="/ui/instances/{k}/cancel">'
        '<button type="submit">Cancel this instance</button></form>',
        k=key,
        source=_select("source", active, ""),
        target=_select("target", targets, ""),
    )


def _waits(view: dict[str, Any]) -> Safe:
    return table(
        ["Key", "Kind", "Element", "Name", "Correlation key", "Due"],
        ([w["key"], w["kind"], w["element"], w["name"], w["correlation_key"], when(w["due"])] for w in view["waits"]),
        empty="No timer or subscription.",
        css="waits",
    )


def _content(ctx: WebContext, key: int, view: dict[str, Any]) -> Safe:
    definition = ctx.definition(view["definitionKey"])
    marks, counts = _marks(ctx, view)
    row = view["row"] or {}
    state = _state(view)
    summary = render(
        '<p>Process {p} · state <span class="instance-state">{b}</span> · started {s}{e}</p>',
        p=link(f"/ui/processes/{definition.key}", f"{definition.bpmn_process_id} v{definition.version}"),
        b=_badge(state),
        s=when(row.get("startDate")),
        e=render(" · ended {e}", e=when(row.get("endDate"))) if row.get("endDate") else Safe(""),
    )
    elements = table(
        ["Element instance", "Element", "Kind", "State"],
        ([e["key"], e["elementId"], e["kind"], e["state"]] for e in view["elements"]),
        empty="None: the instance has ended.",
        css="elements",
    )
    jobs = table(
        ["Job", "Type", "Element", "State", "Retries", "Worker", "Error message"],
        (
            [j["key"], j["type"], j["elementId"], j["state"], j["retries"], j["worker"], j["errorMessage"]]
            for j in view["jobs"]
        ),
        empty="No job.",
        css="jobs",
    )
    tasks = table(
        ["User task", "Element", "Assignee", "State"],
        (
            [link(f"/ui/tasks/{t['key']}", t["key"]), t["elementId"], t["assignee"], t["state"]]
            for t in view["userTasks"]
        ),
        empty="No user task.",
    )
    return render(
        '{summary}<div class="diagram">{svg}</div><h2>Incidents</h2>{incidents}'
        '<div class="cols"><div><h2>Element instances</h2>{elements}</div><div><h2>Jobs</h2>{jobs}</div></div>'
        '<div class="cols"><div><h2>Timers and subscriptions</h2>{waits}</div>'
        "<div><h2>User tasks</h2>{tasks}</div></div>"
        "<h2>Variables</h2>{variables}{actions}",
        summary=summary,
        svg=draw(ctx.diagram(definition), marks, counts),
        incidents=_incidents(key, view),
        elements=elements,
        jobs=jobs,
        waits=_waits(view),
        tasks=tasks,
        variables=_variables(key, view),
        actions=_actions(ctx, key, view),
    )


def _stamp(view: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(view, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _live(ctx: WebContext, key: int, view: dict[str, Any]) -> Safe:
    stamp = _stamp(view)
    poll = (
        render(
            ' hx-get="/ui/instances/{k}/live?since={s}" hx-trigger="{t}" hx-swap="outerHTML"', k=key, s=stamp, t=_POLL
        )
        if view["live"]
        else Safe("")
    )
    return render(
        '<div id="live" data-stamp="{s}"{poll}>{content}</div>', s=stamp, poll=poll, content=_content(ctx, key, view)
    )


def instance_page(ctx: WebContext, key: int, *, error: str = "", notice: str = "") -> Safe:
    view = _view(ctx, key)
    return page(f"Process instance {key}", _live(ctx, key, view), here="/ui/instances", error=error, notice=notice)


def instance_fragment(ctx: WebContext, key: int, since: str) -> Safe | None:
    """The live part of the instance page; None while it is unchanged since the ``since`` stamp."""
    view = _view(ctx, key)
    if since and since == _stamp(view):
        return None
    return _live(ctx, key, view)
