"""Native user tasks (``zeebe:userTask``): the task is created with its assignment, schedule, priority and
form link evaluated, waits for people, and is cancelled with its element. Not a job: the API completes it."""

from __future__ import annotations

import datetime
from typing import Any

from zeebe_celery.engine.feel.temporal import format_datetime, parse_datetime
from zeebe_celery.engine.model import Expr
from zeebe_celery.engine.processors.base import Context, Processor, StepFailed, evaluate, feel_type
from zeebe_celery.engine.state import ElementInstance

__all__ = ["NativeUserTask", "zoned_date_time"]

DEFAULT_PRIORITY = 50


class NativeUserTask(Processor):
    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        definition = instance.element.user_task
        assert definition is not None
        values: dict[str, Any] = {
            "assignee": "",
            "candidateGroupsList": _list(ctx, instance, definition.candidate_groups),
            "candidateUsersList": _list(ctx, instance, definition.candidate_users),
            "dueDate": _date(ctx, instance, definition.due_date),
            "followUpDate": _date(ctx, instance, definition.follow_up_date),
            "priority": _priority(ctx, instance, definition.priority),
        }
        ctx.user_tasks.create(
            instance,
            values,
            external_form_reference=_string(ctx, instance, definition.external_reference),
            assignee=_string(ctx, instance, definition.assignee),
            form_key=_form_key(ctx, instance, definition.form_id),
        )

    def on_terminate(self, ctx: Context, instance: ElementInstance) -> None:
        if instance.user_task is not None:
            ctx.user_tasks.cancel(instance.user_task)


def _form_key(ctx: Context, instance: ElementInstance, form_id: Expr | None) -> int:
    """The key of the latest deployed form the task links, or -1; FORM_NOT_FOUND until there is one."""
    if form_id is None:
        return -1
    identifier = _string(ctx, instance, form_id)
    try:
        return ctx.resources.form_key(identifier, instance.tenant_id)
    except LookupError as exc:
        raise StepFailed("FORM_NOT_FOUND", str(exc)) from exc


def _value(ctx: Context, instance: ElementInstance, expr: Expr) -> Any:
    return evaluate(ctx, instance, expr, "EXTRACT_VALUE_ERROR")


def _string(ctx: Context, instance: ElementInstance, expr: Expr | None) -> str:
    if expr is None:
        return ""
    value = _value(ctx, instance, expr)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise StepFailed(
            "EXTRACT_VALUE_ERROR",
            f"Expected result of the expression '{expr.source}' to be 'STRING', but was '{feel_type(value)}'.",
        )
    return value


def _list(ctx: Context, instance: ElementInstance, expr: Expr | None) -> list[str]:
    if expr is None:
        return []
    if expr.is_static:
        return [item.strip() for item in expr.source.split(",") if item.strip()]
    value = _value(ctx, instance, expr)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise StepFailed(
            "EXTRACT_VALUE_ERROR",
            f"Expected result of the expression '{expr.source}' to be 'ARRAY' of 'STRING', but was "
            f"'{feel_type(value)}'.",
        )
    return value


def _date(ctx: Context, instance: ElementInstance, expr: Expr | None) -> str:
    if expr is None:
        return ""
    value = _value(ctx, instance, expr)
    if value is None:
        return ""
    parsed = value if isinstance(value, datetime.datetime) else None
    if isinstance(value, str):
        parsed = parse_datetime(value)
    if parsed is None or parsed.tzinfo is None:
        raise StepFailed(
            "EXTRACT_VALUE_ERROR",
            f"Expected result of the expression '{expr.source}' to be one of '[DATE_TIME, STRING]' with a zone "
            f"or offset, but was '{value if isinstance(value, str) else feel_type(value)}'.",
        )
    return zoned_date_time(parsed)


def _priority(ctx: Context, instance: ElementInstance, expr: Expr | None) -> int:
    if expr is None:
        return DEFAULT_PRIORITY
    value = _value(ctx, instance, expr)
    if expr.is_static and isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100 or value != int(value):
        raise StepFailed(
            "EXTRACT_VALUE_ERROR",
            f"Expected result of the expression '{expr.source}' to be a number between 0 and 100, but was '{value}'.",
        )
    return int(value)


def zoned_date_time(value: datetime.datetime) -> str:
    """A date-time with its zone, as Zeebe writes a user task's due and follow-up dates (ISO 8601)."""
    return format_datetime(value)
