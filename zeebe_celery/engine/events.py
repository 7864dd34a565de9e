"""Events thrown into an instance: a wait's event (message, timer, signal) arriving, a BPMN error or an
escalation thrown and caught (by a boundary event or an event sub-process), and an incident being resolved.

A thrown error or escalation is caught by the nearest catch event from where it was thrown: at each level,
the boundary events of the element, then the event sub-processes of its flow scope; from a called
process's root on to the call activity that started it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zeebe_celery.engine.appliers import Appliers
from zeebe_celery.engine.core import by_key
from zeebe_celery.engine.model import Element, EventType, Kind
from zeebe_celery.engine.parts import Flow, JobWork, Subscriptions, UserTaskWork
from zeebe_celery.engine.processors import StepFailed
from zeebe_celery.engine.state import ElementInstance, ElementState, Incident, JobState, Wait

__all__ = ["EventPublication"]


@dataclass(frozen=True, slots=True)
class _Catch:
    """Where a thrown event is caught: ``element`` (a boundary event of ``host``, or an event sub-process
    of the flow scope ``host``)."""

    element: Element
    host: ElementInstance

    @property
    def by_event_sub_process(self) -> bool:
        return self.element.kind is Kind.EVENT_SUB_PROCESS

    @property
    def interrupting(self) -> bool:
        start = self.element.event_start
        return (start if start is not None else self.element).interrupting


class EventPublication:
    flow: Flow
    jobs: JobWork
    subscriptions: Subscriptions
    user_tasks: UserTaskWork

    def __init__(self, state: Appliers) -> None:
        self.state = state

    def trigger(self, wait: Wait, variables: dict[str, Any]) -> None:
        """A wait's event happened: the catch event completes, the boundary event fires, or the event
        sub-process starts."""
        instance, element = wait.instance, wait.element
        if element is instance.element:
            self.subscriptions.close_waits(instance)
            self.flow.complete(instance, variables)
        elif instance.element.kind is Kind.EVENT_BASED_GATEWAY:
            # The first event after the gateway: the others' waits close, and the flow to it is taken.
            scope = instance.parent
            assert scope is not None
            self.subscriptions.close_waits(instance)
            self.flow.complete(instance, flows=[])
            taken = next(f for f in instance.element.outgoing if f.target == element.id)
            self.flow.take(taken, scope, variables)
        elif element.parent is not None and element.parent.kind is Kind.EVENT_SUB_PROCESS:
            self._catch(_Catch(element.parent, instance), variables)
        else:
            self._catch(_Catch(element, instance), variables)
        self.flow.run_agenda()

    def throw_error(self, origin: ElementInstance, code: str, message: str, variables: dict[str, Any]) -> bool:
        """Catch the error at the nearest matching catch event; else an incident. True when caught."""
        catch = self._find(origin, EventType.ERROR, code)
        if catch is not None:
            self._catch(catch, variables)
            return True
        text = f"Expected to throw an error event with the code '{code}'"
        if message:
            text += f" with message '{message}'"
        text += ", but it was not caught. No error events are available in the scope."
        if origin.job is None:
            # An error end event: its step fails, and throws again when the incident is resolved.
            raise StepFailed("UNHANDLED_ERROR_EVENT", text)
        self.flow.raise_incident(origin, "UNHANDLED_ERROR_EVENT", text, retry="none", job=origin.job)
        return False

    def throw_escalation(self, origin: ElementInstance, code: str) -> None:
        """Catch the escalation at the nearest matching catch event; uncaught, it changes nothing (as Zeebe
        has it, the throwing event carries on)."""
        catch = self._find(origin, EventType.ESCALATION, code)
        if self.state.records.enabled:
            self.state.write(
                "ESCALATION",
                "ESCALATED" if catch is not None else "NOT_ESCALATED",
                self.state.keys.next(),
                {
                    "escalationCode": code,
                    "throwElementId": origin.element.id,
                    "catchElementId": catch.element.id if catch is not None else "",
                    "processInstanceKey": origin.process_instance_key,
                    "tenantId": origin.tenant_id,
                },
            )
        if catch is not None:
            self._catch(catch, {})

    def throw_compensation(self, thrower: ElementInstance) -> bool:
        """Run the handlers of the completed activities of the throw event's scope (the one around it, from
        an event sub-process), also those inside the sub-processes that completed in it, or of its activityRef
        only. The handlers run in that scope, as Zeebe activates them. True when the throw waits for handlers."""
        scope = thrower.parent
        assert scope is not None
        if scope.element.kind is Kind.EVENT_SUB_PROCESS and scope.parent is not None:
            scope = scope.parent
        ref = thrower.element.compensate_activity
        started = False
        for element_id in list(scope.compensable):
            if ref is not None and element_id != ref:
                continue
            # Its own activity, or one inside a sub-process that completed in it (ids are unique in a process).
            activity = scope.definition.process.elements[element_id]
            assert activity.compensation_handler is not None
            handler = self.flow.activate(activity.compensation_handler, scope)
            self.state.compensation_triggered(scope, element_id, handler, thrower.key)
            started = True
        return started

    def retry_after_incident(self, incident: Incident) -> None:
        instance = incident.instance
        if incident.retry == "activate":
            self.flow.later(lambda: self.flow.enter(instance, incident.retry_variables))
        elif incident.retry == "complete":
            self.flow.later(lambda: self.flow.complete(instance, incident.retry_variables))
        elif incident.retry == "listener" and instance.user_task is not None:
            self.user_tasks.next_listener(instance.user_task)
        elif incident.job is not None and incident.job.state is JobState.FAILED and incident.job.retries > 0:
            self.jobs.make_activatable(incident.job)
        self.flow.run_agenda()

    # -- finding and taking a catch event ------------------------------------------------------------------

    def _find(self, origin: ElementInstance, event_type: EventType, code: str) -> _Catch | None:
        node: ElementInstance | None = origin
        while node is not None:
            scope = node.parent
            if scope is None:
                node = node.caller
                continue
            boundary = _matching(node.element.boundaries, event_type, code)
            if boundary is not None:
                return _Catch(boundary, node)
            # An event sub-process does not catch what is thrown inside itself.
            starts = [e.event_start for e in scope.element.event_subprocesses if e is not node.element]
            start = _matching([s for s in starts if s is not None], event_type, code)
            if start is not None:
                assert start.parent is not None
                return _Catch(start.parent, scope)
            node = scope
        return None

    def _catch(self, catch: _Catch, variables: dict[str, Any]) -> None:
        flow, host = self.flow, catch.host
        if catch.by_event_sub_process:
            if catch.interrupting:
                # Everything else in the scope ends, and its other event sub-processes stop listening.
                for child in by_key(host.children):
                    flow.terminate(child)
                self.state.joins_cleared(host)
                for key in list(host.waits):
                    wait = self.state.waits.get(key)
                    if wait is not None and _starts_event_sub_process(wait.element):
                        self.subscriptions.close_wait(wait)
            flow.activate(catch.element, host, variables)
            return
        scope = host.parent
        assert scope is not None
        if catch.interrupting:
            flow.terminate(host)
        flow.activate(catch.element, scope, variables)

    def still_active(self, instance: ElementInstance) -> bool:
        """The instance was not ended by what it threw (an interrupting catch around it)."""
        return instance.key in self.state.instances and instance.state is ElementState.ACTIVATED


def _matching(candidates: list[Element], event_type: EventType, code: str) -> Element | None:
    """The catch event for ``code``: one with that code first, else one that catches every code."""
    typed = [c for c in candidates if c.event_type is event_type]
    codes = [c.error_code if event_type is EventType.ERROR else c.escalation_code for c in typed]
    exact = next((c for c, catches in zip(typed, codes, strict=True) if catches == code), None)
    return exact or next((c for c, catches in zip(typed, codes, strict=True) if catches is None), None)


def _starts_event_sub_process(element: Element) -> bool:
    return element.parent is not None and element.parent.kind is Kind.EVENT_SUB_PROCESS
