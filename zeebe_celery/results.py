"""What a handler may return besides variables: a task listener's denial or corrections, and an ad-hoc
sub-process job's answer. Each becomes the ``JobResult`` of CompleteJob (Camunda 8.8 and newer).

``Deny`` and ``Corrections`` answer task-listener jobs (kind TASK_LISTENER); ``AdHocResult`` answers
ad-hoc sub-process jobs (kind AD_HOC_SUB_PROCESS). Values are checked when they are made: a priority
outside 0-100 or an element without an id raises ValueError there, in the handler, not at the gateway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zeebe_celery.job import Job, JobKind

__all__ = ["ActivateElement", "AdHocResult", "Corrections", "Deny", "JobResult", "misfit"]


class Deny(BaseModel):
    """Deny the user-task operation the listener fired for (an assignment, update or completion), with a
    reason; the task stays as it was."""

    model_config = ConfigDict(frozen=True)

    reason: str = ""


def _date_text(value: str | date | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


class Corrections(BaseModel):
    """Correct the user task while approving the operation: only the properties given change.

    ``""`` clears the assignee or a date, an empty list clears the candidates; None leaves a property as
    it is. Dates are ISO 8601 text or datetimes; ``priority`` is 0 to 100.
    """

    model_config = ConfigDict(frozen=True)

    assignee: str | None = None
    due_date: str | None = None
    follow_up_date: str | None = None
    candidate_users: tuple[str, ...] | None = None
    candidate_groups: tuple[str, ...] | None = None
    priority: int | None = Field(default=None, ge=0, le=100)

    @field_validator("due_date", "follow_up_date", mode="before")
    @classmethod
    def _iso(cls, value: Any) -> Any:
        return _date_text(value) if isinstance(value, datetime | date) else value

    @field_validator("candidate_users", "candidate_groups", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError("give a list of names, not one string")
        return value


class ActivateElement(BaseModel):
    """An element of the ad-hoc sub-process to activate, with variables created in its scope."""

    model_config = ConfigDict(frozen=True)

    element_id: str = Field(min_length=1)
    variables: Mapping[str, Any] = Field(default_factory=dict)


class AdHocResult(BaseModel):
    """An ad-hoc sub-process job's answer: the elements to activate next, whether the sub-process's
    completion condition is now fulfilled, and whether to cancel the instances still running when it
    completes. ``variables`` are set like any job's output variables."""

    model_config = ConfigDict(frozen=True)

    activate: tuple[ActivateElement, ...] = ()
    completion_condition_fulfilled: bool = False
    cancel_remaining_instances: bool = False
    variables: Mapping[str, Any] | None = None

    @field_validator("activate", mode="before")
    @classmethod
    def _elements(cls, value: Any) -> Any:
        # A bare id is an element without variables.
        if isinstance(value, str):
            raise ValueError("give a list of elements, not one string")
        if isinstance(value, Sequence):
            return tuple(ActivateElement(element_id=v) if isinstance(v, str) else v for v in value)
        return value


JobResult = Deny | Corrections | AdHocResult
"""The typed results a handler may return, and :meth:`ZeebeClient.complete_job` may send."""


def misfit(job: Job, result: JobResult) -> str | None:
    """Why ``result`` cannot answer ``job`` (a denial for a service task's job, say); None when it can."""
    wanted = JobKind.AD_HOC_SUB_PROCESS if isinstance(result, AdHocResult) else JobKind.TASK_LISTENER
    if job.kind is wanted:
        return None
    return (
        f"{type(result).__name__} answers a {wanted.value} job, but job {job.key} ({job.type}) is a "
        f"{job.kind.value} job"
    )
