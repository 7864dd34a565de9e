"""Tasks: those a job worker does, scripts, business rules, and the ones that just pass through."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine import dmn
from zeebe_celery.engine.processors.base import Context, Processor, StepFailed, evaluate, feel_type, json_value
from zeebe_celery.engine.state import ElementInstance

__all__ = ["BusinessRuleTask", "JobWorkerTask", "ScriptTask"]


class JobWorkerTask(Processor):
    """Service, send and user tasks (and script and rule tasks with a job definition): a job."""

    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        job_type, retries = _job_definition(ctx, instance)
        ctx.jobs.create_job(instance, job_type, retries, _linked_form(ctx, instance))

    def on_terminate(self, ctx: Context, instance: ElementInstance) -> None:
        if instance.job is not None:
            ctx.jobs.cancel_job(instance.job)


class ScriptTask(Processor):
    """A FEEL expression whose result goes to the result variable."""

    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        element = instance.element
        assert element.script is not None
        assert element.result_variable is not None
        script = element.script
        value = evaluate(ctx, instance, lambda scope: json_value(script.evaluate(scope)), "EXTRACT_VALUE_ERROR")
        ctx.flow.complete(instance, {element.result_variable: value})


class BusinessRuleTask(Processor):
    """A deployed decision, evaluated with the variables the task sees."""

    def on_activate(self, ctx: Context, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        element = instance.element
        assert element.decision_id is not None
        assert element.result_variable is not None
        decision_id = evaluate(ctx, instance, element.decision_id, "EXTRACT_VALUE_ERROR")
        try:
            output = ctx.resources.evaluate_called_decision(str(decision_id), instance.tenant_id, ctx.visible(instance))
        except LookupError as exc:
            raise StepFailed("CALLED_DECISION_ERROR", str(exc)) from exc
        except dmn.DmnError as exc:
            raise StepFailed("DECISION_EVALUATION_ERROR", str(exc)) from exc
        value = evaluate(ctx, instance, lambda _: json_value(output), "DECISION_EVALUATION_ERROR")
        ctx.flow.complete(instance, {element.result_variable: value})


def _linked_form(ctx: Context, instance: ElementInstance) -> dict[str, str] | None:
    """A job-based user task linked to a deployed form (formId): its headers with that form's latest key."""
    form = instance.element.form_id
    if form is None:
        return None
    identifier = evaluate(ctx, instance, form, "EXTRACT_VALUE_ERROR")
    try:
        key = ctx.resources.form_key(str(identifier), instance.tenant_id)
    except LookupError as exc:
        raise StepFailed("FORM_NOT_FOUND", str(exc)) from exc
    return {**instance.element.headers, "io.camunda.zeebe:formKey": str(key)}


def _job_definition(ctx: Context, instance: ElementInstance) -> tuple[str, int]:
    task = instance.element.task
    assert task is not None
    job_type = evaluate(ctx, instance, task.type, "EXTRACT_VALUE_ERROR")
    if not isinstance(job_type, str) or not job_type:
        raise StepFailed(
            "EXTRACT_VALUE_ERROR",
            f"Expected result of the expression '{task.type.source}' to be 'STRING', but was '{feel_type(job_type)}'.",
        )
    retries = evaluate(ctx, instance, task.retries, "EXTRACT_VALUE_ERROR")
    try:
        return job_type, int(retries)
    except (TypeError, ValueError):
        raise StepFailed(
            "EXTRACT_VALUE_ERROR",
            f"Expected result of the expression '{task.retries.source}' to be 'NUMBER', but was "
            f"'{feel_type(retries)}'.",
        ) from None
