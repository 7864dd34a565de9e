"""What the runtime's parts ask of each other. The parts (the interpreter, jobs, event subscriptions, event
publication, deployments) are objects over the one state, wired together by the :class:`Runtime` façade;
each knows the others only through these protocols, so no part imports another."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from zeebe_celery.engine.model import Element, Listener, SequenceFlow, TaskListener
from zeebe_celery.engine.state import Definition, ElementInstance, Incident, Job, JobResult, UserTask, Wait

__all__ = ["Conditions", "Flow", "JobWork", "Publication", "Resources", "Subscriptions", "UserTaskWork"]


class Flow(Protocol):
    """The interpreter: element instances through their lifecycle."""

    def activate(
        self, element: Element, scope: ElementInstance, variables: dict[str, Any] | None = None
    ) -> ElementInstance: ...

    def complete(
        self,
        instance: ElementInstance,
        variables: dict[str, Any] | None = None,
        *,
        flows: list[SequenceFlow] | None = None,
    ) -> None: ...

    def terminate(self, instance: ElementInstance) -> None: ...

    def take(self, flow: SequenceFlow, scope: ElementInstance, variables: dict[str, Any] | None = None) -> None: ...

    def terminate_scope(self, end: ElementInstance) -> None: ...

    def enter(self, instance: ElementInstance, variables: dict[str, Any] | None = None) -> None: ...

    def later(self, step: Callable[[], None]) -> None: ...

    def activate_within(
        self,
        root: ElementInstance,
        element: Element,
        variables: dict[str, Any] | None = None,
        *,
        ancestor: ElementInstance | None = None,
    ) -> dict[str, ElementInstance]: ...

    def listener_completed(self, job: Job, variables: dict[str, Any]) -> None: ...

    def check_scope(self, scope: ElementInstance) -> None: ...

    def ad_hoc_decided(self, job: Job, variables: dict[str, Any], decision: Any) -> None: ...

    def raise_incident(
        self,
        instance: ElementInstance,
        error_type: str,
        message: str,
        *,
        retry: str,
        variables: dict[str, Any] | None = None,
        job: Job | None = None,
    ) -> Incident: ...

    def run_agenda(self) -> None: ...

    def start_called(self, definition: Definition, variables: dict[str, Any], caller: ElementInstance) -> None: ...

    def start_at_event(
        self, definition: Definition, start: Element, variables: dict[str, Any], correlation_key: str | None
    ) -> ElementInstance: ...


class JobWork(Protocol):
    """Jobs of the elements a job worker does."""

    def create_job(
        self, instance: ElementInstance, job_type: str, retries: int, headers: dict[str, str] | None = None
    ) -> Job: ...

    def create_listener_job(self, instance: ElementInstance, listener: Listener, event_type: str) -> Job: ...

    def create_ad_hoc_job(self, instance: ElementInstance) -> Job: ...

    def cancel_job(self, job: Job) -> None: ...

    def make_activatable(self, job: Job, intent: str | None = None) -> None: ...

    def create_task_listener_job(
        self, instance: ElementInstance, listener: TaskListener, event_type: str, headers: dict[str, str]
    ) -> Job | None: ...


class Conditions(Protocol):
    """Conditional subscriptions: evaluated as they open and as the variables they see change."""

    def open(self, wait: Wait) -> None: ...


class UserTaskWork(Protocol):
    """Native user tasks: created and cancelled with their element, their listeners tried again."""

    def create(
        self,
        instance: ElementInstance,
        values: dict[str, Any],
        *,
        external_form_reference: str,
        assignee: str,
        form_key: int = -1,
    ) -> UserTask: ...

    def cancel(self, task: UserTask) -> None: ...

    def next_listener(self, task: UserTask) -> None: ...

    def listener_completed(self, job: Job, result: JobResult) -> None: ...

    def update_variables(
        self,
        task: UserTask,
        variables: dict[str, Any],
        *,
        local: bool,
        waiter: Callable[[Any], None] | None = None,
    ) -> None: ...


class Subscriptions(Protocol):
    """What element instances wait for: messages, timers and signals."""

    def open_wait(self, instance: ElementInstance, element: Element) -> None: ...

    def close_waits(self, instance: ElementInstance) -> None: ...

    def close_wait(self, wait: Wait) -> None: ...

    def start_buffered(self, tenant_id: str, process_id: str, correlation_key: str) -> None: ...

    def broadcast_signal(self, name: str, *, variables: dict[str, Any], tenant_id: str) -> int: ...


class Publication(Protocol):
    """Events thrown into an instance: a wait's event, a BPMN error, an incident's resolution."""

    def trigger(self, wait: Wait, variables: dict[str, Any]) -> None: ...

    def throw_error(self, origin: ElementInstance, code: str, message: str, variables: dict[str, Any]) -> bool: ...

    def throw_escalation(self, origin: ElementInstance, code: str) -> None: ...

    def throw_compensation(self, thrower: ElementInstance) -> bool: ...

    def still_active(self, instance: ElementInstance) -> bool: ...

    def retry_after_incident(self, incident: Incident) -> None: ...


class Resources(Protocol):
    """Deployed processes and decisions, for call activities, business rule tasks and message starts."""

    def evaluate_called_decision(self, decision_id: str, tenant_id: str, variables: Any) -> Any: ...

    def called_process(self, process_id: str, caller: ElementInstance) -> Definition: ...

    def latest_definition(self, tenant_id: str, start: Element) -> Definition | None: ...

    def signal_starts(self, tenant_id: str, name: str) -> list[tuple[Definition, Element]]: ...

    def form_key(self, identifier: str, tenant_id: str) -> int: ...
