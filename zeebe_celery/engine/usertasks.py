"""Native user tasks as Zeebe runs them: created by their element, assigned, updated and completed through
the API, and cancelled with their element; each operation runs the task listeners of its event type, in
the model's order, as TASK_LISTENER jobs, and a listener may correct the task or deny the operation.

The API's commands (``complete``, ``assign``, ``update``) take a ``waiter``: called once the operation is
done (with None) or denied by a listener (with the rejection), after the command that decided it commits,
as Zeebe answers a user task command only when its listeners are through.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from zeebe_celery.engine.appliers import Appliers
from zeebe_celery.engine.errors import EngineError, FailedPrecondition, NotFound
from zeebe_celery.engine.parts import Flow, JobWork
from zeebe_celery.engine.state import (
    USER_TASK_ATTRIBUTES,
    ElementInstance,
    Job,
    JobResult,
    Transition,
    UserTask,
)

__all__ = ["UserTaskBehavior", "Waiter"]

Waiter = Callable[[EngineError | None], None]
_FINISHED = {"creating": "CREATED", "assigning": "ASSIGNED", "updating": "UPDATED"}
_DENIED = {"assigning": "ASSIGNMENT_DENIED", "updating": "UPDATE_DENIED", "completing": "COMPLETION_DENIED"}
_DENIAL = {
    "assigning": "Assignment of the User Task with key '{key}' was denied by Task Listener. Reason to deny: '{reason}'",
    "updating": "Update of the User Task with key '{key}' was denied by Task Listener. Reason to deny: '{reason}'",
    "completing": (
        "Completion of the User Task with key '{key}' was denied by Task Listener. Reason to deny: '{reason}'"
    ),
}
_VARIABLES_DENIAL = (
    "Variable update for user task instance with key '{key}' was denied by Task Listener. Reason to deny: '{reason}'"
)
_PREFIX = "io.camunda.zeebe:"


class UserTaskBehavior:
    """User tasks over the state; the interpreter and jobs are wired in by the runtime."""

    flow: Flow
    jobs: JobWork

    def __init__(self, state: Appliers) -> None:
        self.state = state

    # -- the element's lifecycle -----------------------------------------------------------------------

    def create(
        self,
        instance: ElementInstance,
        values: dict[str, Any],
        *,
        external_form_reference: str,
        assignee: str,
        form_key: int = -1,
    ) -> UserTask:
        """The element is activated: the task is created (then assigned, if the model names an assignee)."""
        task = self.state.user_task_created(instance, external_form_reference, assignee, form_key)
        self._begin(task, "creating", "CREATING", action="", values=values, changed=())
        return task

    def cancel(self, task: UserTask) -> None:
        """The element is terminated: the task is cancelled, with the listener job it waited for."""
        job = task.instance.job
        if job is not None:
            self.jobs.cancel_job(job)
        self.state.user_task_began(
            task, Transition(event_type="canceling", intent="CANCELING", action="", values=task.values)
        )
        self.state.user_task_ended(task, "CANCELED")
        self._answer(
            task, NotFound(f"Expected to finish the operation on user task with key '{task.key}', but it was canceled")
        )

    # -- the API's commands ------------------------------------------------------------------------------

    def task(self, key: int, action: str) -> UserTask:
        task = self.state.user_tasks.get(key)
        if task is None:
            raise NotFound(f"Expected to {action} user task with key '{key}', but no such user task was found")
        return task

    def _require_created(self, task: UserTask, action: str) -> None:
        if task.state != "CREATED":
            raise FailedPrecondition(
                f"Expected to {action} user task with key '{task.key}', but it is in state '{task.state}'"
            )

    def complete(self, key: int, variables: dict[str, Any], *, action: str = "", waiter: Waiter | None = None) -> None:
        task = self.task(key, "complete")
        self._require_created(task, "complete")
        self._begin(
            task,
            "completing",
            "COMPLETING",
            action=action or "complete",
            values=task.values,
            changed=(),
            variables=variables,
            waiter=waiter,
        )

    def assign(
        self,
        key: int,
        assignee: str,
        *,
        action: str = "",
        allow_override: bool = True,
        waiter: Waiter | None = None,
    ) -> None:
        verb = "assign" if allow_override else "claim"
        task = self.task(key, verb)
        self._require_created(task, verb)
        current = task.values.get("assignee", "")
        if not allow_override and current and current != assignee:
            raise FailedPrecondition(f"Expected to claim user task with key '{key}', but it has already been assigned")
        default = "assign" if assignee else "unassign"
        self._begin(
            task,
            "assigning",
            "ASSIGNING",
            action=action or (default if allow_override else "claim"),
            values={**task.values, "assignee": assignee},
            changed=("assignee",),
            waiter=waiter,
        )

    def update_variables(
        self, task: UserTask, variables: dict[str, Any], *, local: bool, waiter: Waiter | None = None
    ) -> None:
        """SetVariables on the task's own scope (8.8): an update of the task, run through its updating
        listeners, that sets the variables once they are through."""
        if task.state != "CREATED":
            raise FailedPrecondition(
                f"Expected to trigger update transition for user task with key '{task.key}', but it is in state "
                f"'{task.state}'"
            )
        self._begin(
            task,
            "updating",
            "UPDATING",
            action="",
            values=task.values,
            changed=("variables",),
            variables=variables,
            variables_local=local,
            waiter=waiter,
        )

    def update(self, key: int, changes: dict[str, Any], *, action: str = "", waiter: Waiter | None = None) -> None:
        task = self.task(key, "update")
        self._require_created(task, "update")
        unknown = sorted(set(changes) - set(USER_TASK_ATTRIBUTES) - {"assignee"})
        if unknown or "assignee" in changes:
            raise FailedPrecondition(
                f"Expected to update user task with key '{key}', but the attributes {unknown or ['assignee']} "
                "cannot be updated (assign the task to change its assignee)"
            )
        self._begin(
            task,
            "updating",
            "UPDATING",
            action=action or "update",
            values={**task.values, **changes},
            changed=tuple(changes),
            waiter=waiter,
        )

    # -- listeners -------------------------------------------------------------------------------------

    def listener_completed(self, job: Job, result: JobResult) -> None:
        """A task listener's job is completed: the operation is denied, or goes on (corrected) to the next
        listener, or is finished when this was the last one."""
        task = job.instance.user_task
        if task is None or task.transition is None:
            return
        transition = task.transition
        if result.denied:
            self.state.user_task_denied(task, _DENIED[transition.event_type], result.denied_reason)
            reason = _DENIAL[transition.event_type].format(key=task.key, reason=result.denied_reason)
            if "variables" in transition.changed:
                reason = _VARIABLES_DENIAL.format(key=task.instance.key, reason=result.denied_reason)
            self._answer(
                task,
                FailedPrecondition(f"Command '{_command(transition)}' rejected with code 'INVALID_STATE': {reason}"),
            )
            return
        if result.corrections:
            values = {**transition.values, **result.corrections}
            corrected = tuple(name for name in result.corrections if transition.values.get(name) != values[name])
            if corrected:
                changed = tuple(dict.fromkeys((*transition.changed, *corrected)))
                self.state.user_task_corrected(task, _with(transition, values=values, changed=changed), corrected)
        self.state.user_task_listener_done(task)
        self._next(task)

    def _begin(
        self,
        task: UserTask,
        event_type: str,
        intent: str,
        *,
        action: str,
        values: dict[str, Any],
        changed: tuple[str, ...],
        variables: dict[str, Any] | None = None,
        variables_local: bool = True,
        waiter: Waiter | None = None,
    ) -> None:
        transition = Transition(
            event_type=event_type,
            intent=intent,
            action=action,
            values=values,
            changed=changed,
            variables=variables or {},
            variables_local=variables_local,
        )
        self.state.user_task_began(task, transition)
        if waiter is not None:
            self.state.tx.put(self.state.user_task_waiters, task.key, waiter)
        self._next(task)

    def _next(self, task: UserTask) -> None:
        transition = task.transition
        assert transition is not None
        definition = task.instance.element.user_task
        assert definition is not None
        listeners = definition.listeners_of(transition.event_type)
        if transition.listeners_done < len(listeners):
            listener = listeners[transition.listeners_done]
            self.jobs.create_task_listener_job(
                task.instance, listener, transition.event_type, _headers(task, transition)
            )
        else:
            self._finish(task)

    def next_listener(self, task: UserTask) -> None:
        """Resolving an incident on a listener's job definition tries that listener again."""
        self._next(task)

    def _finish(self, task: UserTask) -> None:
        transition = task.transition
        assert transition is not None
        event_type = transition.event_type
        if event_type == "completing":
            self.state.user_task_ended(task, "COMPLETED")
            self._answer(task, None)
            self.flow.complete(task.instance, transition.variables)
            return
        if "variables" in transition.changed:
            if transition.variables_local:
                self.state.set_local(task.instance, transition.variables)
            else:
                self.state.propagate(task.instance, transition.variables)
        self.state.user_task_finished(task, _FINISHED[event_type])
        self._answer(task, None)
        if event_type == "creating" and task.initial_assignee:
            assignee = task.initial_assignee
            self.state.user_task_initial_assignee_taken(task)
            self._begin(
                task,
                "assigning",
                "ASSIGNING",
                action="",
                values={**task.values, "assignee": assignee},
                changed=("assignee",),
            )

    def _answer(self, task: UserTask, outcome: EngineError | None) -> None:
        state = self.state
        waiter = state.user_task_waiters.get(task.key)
        if waiter is not None:
            state.tx.pop(state.user_task_waiters, task.key)
            state.tx.after.append(lambda: waiter(outcome))


def _with(transition: Transition, **changes: Any) -> Transition:
    return dataclasses.replace(transition, **changes)


def _command(transition: Transition) -> str:
    return {"assigning": "ASSIGN", "updating": "UPDATE", "completing": "COMPLETE"}[transition.event_type]


def _headers(task: UserTask, transition: Transition) -> dict[str, str]:
    """The headers of a listener's job: the task as the operation leaves it, as Zeebe writes them."""
    values = transition.values
    headers: dict[str, str] = {}
    if values.get("assignee"):
        headers[f"{_PREFIX}assignee"] = values["assignee"]
    for name, header in (("candidateGroupsList", "candidateGroups"), ("candidateUsersList", "candidateUsers")):
        if values.get(name):
            headers[_PREFIX + header] = json.dumps(values[name])
    for name in ("dueDate", "followUpDate"):
        if values.get(name):
            headers[_PREFIX + name] = values[name]
    if task.form_key > 0:
        headers[f"{_PREFIX}formKey"] = str(task.form_key)
    if transition.action:
        headers[f"{_PREFIX}action"] = transition.action
    changed = sorted(name for name in values if values[name] != task.values.get(name)) or sorted(transition.changed)
    if changed:
        headers[f"{_PREFIX}changedAttributes"] = json.dumps(changed)
    if values.get("priority", 0) > 0:
        headers[f"{_PREFIX}priority"] = str(values["priority"])
    headers[f"{_PREFIX}userTaskKey"] = str(task.key)
    return headers
