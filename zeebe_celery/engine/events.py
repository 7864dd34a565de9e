"""Events thrown into an instance: a wait's event (message, timer, signal) arriving, a BPMN error thrown and
caught, and an incident being resolved."""

from __future__ import annotations

from typing import Any

from zeebe_celery.engine.model import EventType
from zeebe_celery.engine.parts import Flow, JobWork, Subscriptions
from zeebe_celery.engine.processors import StepFailed
from zeebe_celery.engine.state import ElementInstance, Incident, JobState, Wait

__all__ = ["EventPublication"]


class EventPublication:
    flow: Flow
    jobs: JobWork
    subscriptions: Subscriptions

    def trigger(self, wait: Wait, variables: dict[str, Any]) -> None:
        """A wait's event happened: the catch event completes, or the boundary event fires."""
        instance, element = wait.instance, wait.element
        if element is instance.element:
            self.subscriptions.close_waits(instance)
            self.flow.complete(instance, variables)
        else:
            scope = instance.parent
            assert scope is not None
            if element.interrupting:
                self.flow.terminate(instance)
            self.flow.activate(element, scope, variables)
        self.flow.run_agenda()

    def throw_error(self, origin: ElementInstance, code: str, message: str, variables: dict[str, Any]) -> bool:
        """Catch the error at the nearest matching boundary event; else an incident. True when caught."""
        # Up the scopes, and from a called process's root on to the call activity that started it.
        host: ElementInstance | None = origin
        while host is not None:
            scope = host.parent
            if scope is None:
                host = host.caller
                continue
            boundaries = [b for b in host.element.boundaries if b.event_type is EventType.ERROR]
            catch = next((b for b in boundaries if b.error_code == code), None) or next(
                (b for b in boundaries if b.error_code is None), None
            )
            if catch is not None:
                self.flow.terminate(host)
                self.flow.activate(catch, scope, variables)
                return True
            host = scope
        text = f"Expected to throw an error event with the code '{code}'"
        if message:
            text += f" with message '{message}'"
        text += ", but it was not caught. No error events are available in the scope."
        if origin.job is None:
            # An error end event: its step fails, and throws again when the incident is resolved.
            raise StepFailed("UNHANDLED_ERROR_EVENT", text)
        self.flow.raise_incident(origin, "UNHANDLED_ERROR_EVENT", text, retry="none", job=origin.job)
        return False

    def retry_after_incident(self, incident: Incident) -> None:
        instance = incident.instance
        if incident.retry == "activate":
            self.flow.later(lambda: self.flow.enter(instance, incident.retry_variables))
        elif incident.retry == "complete":
            self.flow.later(lambda: self.flow.complete(instance, incident.retry_variables))
        elif incident.job is not None and incident.job.state is JobState.FAILED and incident.job.retries > 0:
            self.jobs.make_activatable(incident.job)
        self.flow.run_agenda()
