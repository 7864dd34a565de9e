"""A native user task as the store keeps it in its process instance's tree, and back."""

from __future__ import annotations

import dataclasses
from typing import Any

from zeebe_celery.engine.state import ElementInstance, Transition, UserTask

__all__ = ["user_task_from_row", "user_task_row"]


def user_task_row(task: UserTask) -> dict[str, Any]:
    transition = task.transition
    return {
        "key": task.key,
        "values": task.values,
        "external_form_reference": task.external_form_reference,
        "form_key": task.form_key,
        "creation_timestamp": task.creation_timestamp,
        "state": task.state,
        "initial_assignee": task.initial_assignee,
        "transition": None if transition is None else dataclasses.asdict(transition),
    }


def user_task_from_row(instance: ElementInstance, data: dict[str, Any]) -> UserTask:
    transition = data["transition"]
    if transition is not None:
        transition = Transition(**{**transition, "changed": tuple(transition["changed"])})
    return UserTask(
        key=data["key"],
        instance=instance,
        values=data["values"],
        external_form_reference=data["external_form_reference"],
        form_key=data.get("form_key", -1),
        creation_timestamp=data["creation_timestamp"],
        state=data["state"],
        transition=transition,
        initial_assignee=data["initial_assignee"],
    )
