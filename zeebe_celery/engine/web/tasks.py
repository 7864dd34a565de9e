"""The user task pages: the open native user tasks, and one task with its assign and claim forms and its
completion form (the linked Camunda form as inputs, or JSON for a task without one)."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine.inspection import user_task_detail, user_tasks_view
from zeebe_celery.engine.web.context import NotFoundPage, WebContext
from zeebe_celery.engine.web.forms import fields_of, render_fields
from zeebe_celery.engine.web.html import Safe, link, page, render, table
from zeebe_celery.engine.web.pages import when

__all__ = ["task_detail", "task_page", "tasks_page"]


def tasks_page(ctx: WebContext, *, error: str = "", notice: str = "") -> Safe:
    tasks = user_tasks_view(ctx.runtime)
    body = table(
        ["User task", "Name", "Process instance", "Process", "Assignee", "Candidate groups", "State", "Created"],
        (
            [
                link(f"/ui/tasks/{t['key']}", t["key"]),
                t["name"] or t["elementId"],
                link(f"/ui/instances/{t['processInstanceKey']}", t["processInstanceKey"]),
                t["bpmnProcessId"],
                t["assignee"],
                ", ".join(t["candidateGroups"]),
                t["state"],
                when(t["creationTimestamp"]),
            ]
            for t in tasks
        ),
        empty="No open user task.",
        css="tasks",
    )
    return page("User tasks", body, here="/ui/tasks", error=error, notice=notice)


def task_detail(ctx: WebContext, key: int) -> dict[str, Any]:
    task = user_task_detail(ctx.runtime, key)
    if task is None:
        raise NotFoundPage(f"no open user task has the key {key} (completed or cancelled ones are not shown)")
    return task


def _completion(task: dict[str, Any]) -> Safe:
    key = task["key"]
    if task["form"] is not None:
        fields, texts, unsupported = fields_of(task["form"])
        note = (
            render('<p class="empty">Not shown here: {u}.</p>', u=", ".join(sorted(set(unsupported))))
            if unsupported
            else Safe("")
        )
        return render(
            '<form class="box complete" method="post" action="/ui/tasks/{k}/complete">'
            '<input type="hidden" name="mode" value="form"><strong>Complete with the form</strong>{fields}{note}'
            '<button type="submit">Complete</button></form>',
            k=key,
            fields=render_fields(fields, texts, task["variables"]),
            note=note,
        )
    return render(
        '<form class="box complete" method="post" action="/ui/tasks/{k}/complete">'
        '<input type="hidden" name="mode" value="json"><strong>Complete</strong>'
        '<label>Variables (a JSON object) <textarea name="variables" rows="4">{{}}</textarea></label>'
        '<button type="submit">Complete</button></form>',
        k=key,
    )


def task_page(ctx: WebContext, key: int, *, error: str = "", notice: str = "") -> Safe:
    task = task_detail(ctx, key)
    summary = table(
        ["Name", "Process instance", "Assignee", "Candidate groups", "Candidate users", "Due", "Priority", "State"],
        [
            [
                task["name"] or task["elementId"],
                link(f"/ui/instances/{task['processInstanceKey']}", task["processInstanceKey"]),
                task["assignee"] or "unassigned",
                ", ".join(task["candidateGroups"]),
                ", ".join(task["candidateUsers"]),
                task["dueDate"],
                task["priority"],
                task["state"],
            ]
        ],
    )
    assign = render(
        '<form class="box assign" method="post" action="/ui/tasks/{k}/assign"><strong>Assign</strong>'
        '<label>Assignee <input name="assignee" value="{a}" required></label>'
        '<button type="submit" name="how" value="assign">Assign</button> '
        '<button type="submit" name="how" value="claim">Claim (only if unassigned or mine)</button></form>',
        k=key,
        a=task["assignee"],
    )
    body = render("{s}{a}{c}", s=summary, a=assign, c=_completion(task))
    return page(f"User task {task['name'] or task['elementId']}", body, here="/ui/tasks", error=error, notice=notice)
