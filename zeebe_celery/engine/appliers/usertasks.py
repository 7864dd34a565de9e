"""Appliers of USER_TASK records: a native user task created, an operation on it begun, corrected by a
listener, finished, denied, and the task completed or cancelled."""

from __future__ import annotations

import dataclasses
from typing import Any

from zeebe_celery.engine.core import RuntimeBase
from zeebe_celery.engine.exported import user_task_value
from zeebe_celery.engine.state import ElementInstance, Transition, UserTask

__all__ = ["UserTaskAppliers"]


class UserTaskAppliers(RuntimeBase):
    def user_task_record(self, intent: str, task: UserTask, **fields: Any) -> None:
        if self.records.enabled:
            self.write("USER_TASK", intent, task.key, user_task_value(task, **fields))

    def user_task_created(
        self, instance: ElementInstance, external_form_reference: str, initial_assignee: str, form_key: int = -1
    ) -> UserTask:
        """The task exists (before its CREATING record, which :meth:`user_task_began` writes)."""
        tx = self.tx
        task = UserTask(
            key=self.keys.next(),
            instance=instance,
            values={},
            external_form_reference=external_form_reference,
            form_key=form_key,
            creation_timestamp=self.now(),
            initial_assignee=initial_assignee,
        )
        tx.put(self.user_tasks, task.key, task)
        tx.set(instance, "user_task", task)
        tx.roots.add(instance.process_instance_key)
        return task

    def user_task_began(self, task: UserTask, transition: Transition) -> None:
        """An operation starts: the task is in its ``intent`` state until its listeners are done."""
        tx = self.tx
        tx.set(task, "state", transition.intent)
        tx.set(task, "transition", transition)
        if transition.intent == "CREATING":
            tx.set(task, "values", transition.values)
        tx.roots.add(task.instance.process_instance_key)
        self.user_task_record(
            transition.intent,
            task,
            values=transition.values,
            changed=transition.changed,
            action=transition.action,
            variables=transition.variables,
        )

    def user_task_corrected(self, task: UserTask, transition: Transition, corrected: tuple[str, ...]) -> None:
        tx = self.tx
        tx.set(task, "transition", transition)
        tx.roots.add(task.instance.process_instance_key)
        self.user_task_record("CORRECTED", task, values=transition.values, changed=corrected, action=transition.action)

    def user_task_listener_done(self, task: UserTask) -> None:
        transition = task.transition
        assert transition is not None
        self.tx.set(task, "transition", dataclasses.replace(transition, listeners_done=transition.listeners_done + 1))
        self.tx.roots.add(task.instance.process_instance_key)

    def user_task_finished(self, task: UserTask, intent: str) -> None:
        """CREATED, ASSIGNED or UPDATED: the operation's values are the task's, and it waits again."""
        tx = self.tx
        transition = task.transition
        assert transition is not None
        changed = tuple(name for name in transition.values if transition.values[name] != task.values.get(name))
        if "variables" in transition.changed:
            changed += ("variables",)
        tx.set(task, "values", transition.values)
        tx.set(task, "state", "CREATED")
        tx.set(task, "transition", None)
        tx.roots.add(task.instance.process_instance_key)
        self.user_task_record(intent, task, changed=changed if intent != "CREATED" else (), action=transition.action)

    def user_task_initial_assignee_taken(self, task: UserTask) -> None:
        self.tx.set(task, "initial_assignee", "")

    def user_task_denied(self, task: UserTask, intent: str, reason: str) -> None:
        """COMPLETION_DENIED, ASSIGNMENT_DENIED or UPDATE_DENIED: the task is as it was before the operation."""
        tx = self.tx
        transition = task.transition
        assert transition is not None
        tx.set(task, "state", "CREATED")
        tx.set(task, "transition", None)
        tx.roots.add(task.instance.process_instance_key)
        self.user_task_record(intent, task, action=transition.action, denied_reason=reason)

    def user_task_ended(self, task: UserTask, intent: str) -> None:
        """COMPLETED or CANCELED: the task is gone."""
        tx = self.tx
        transition = task.transition
        values = transition.values if transition is not None else task.values
        self.user_task_record(
            intent,
            task,
            values=values,
            action=transition.action if transition is not None else "",
            variables=transition.variables if transition is not None else {},
        )
        tx.set(task, "state", intent)
        tx.pop(self.user_tasks, task.key)
        if task.instance.user_task is task:
            tx.set(task.instance, "user_task", None)
        tx.roots.add(task.instance.process_instance_key)
