"""The rules a CompleteJob's result must keep, as Zeebe's job completion checks them: a task listener's job
completes without variables, only assigning, updating and completing listeners may deny, a denial carries
no corrections, and a creating listener may not correct an assignee that the model set. As in Zeebe, a
user task result is read only on a task listener's job and ignored on any other."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine.errors import InvalidArgument
from zeebe_celery.engine.state import Job, JobKind, JobResult

__all__ = ["DENYING_EVENT_TYPES", "check_result"]

DENYING_EVENT_TYPES = ("ASSIGNING", "COMPLETING", "UPDATING")


def check_result(job: Job, variables: dict[str, Any], result: JobResult | None) -> None:
    """Raises InvalidArgument with Zeebe's reason when the completion breaks a rule."""
    ident = f"(job key '{job.key}', type '{job.type}', processInstanceKey '{job.instance.process_instance_key}')"
    if job.kind != JobKind.TASK_LISTENER:
        return
    if variables:
        raise InvalidArgument(
            f"Task Listener job completion with variables payload provided is not yet supported {ident}. "
            "Support will be enabled with the resolution of issue #23702."
        )
    if result is None:
        return
    event_type = job.listener_event_type
    if result.denied and event_type not in DENYING_EVENT_TYPES:
        raise InvalidArgument(
            f"Denying result is not supported for '{event_type}' task listener jobs {ident}. Only the following "
            f"listener event types support denying: [{', '.join(DENYING_EVENT_TYPES)}]."
        )
    if result.denied and result.corrections:
        raise InvalidArgument(
            f"Expected to complete task listener job with corrections, but the job result is denied {ident}. The "
            "corrections would be reverted by the denial. Either complete the job with corrections without "
            "setting denied, or complete the job with a denied result but no corrections."
        )
    task = job.instance.user_task
    if event_type == "CREATING" and "assignee" in result.corrections and task is not None and task.initial_assignee:
        raise InvalidArgument(
            f"Expected to complete task listener job, but correcting the assignee on 'CREATING' event is not "
            f"supported when the user task has an assignee defined in the model {ident}. Use the 'CREATING' event "
            "to set an assignee only if it was not defined. Use the 'ASSIGNING' event to correct an assignee that "
            "is already defined."
        )
