"""The BPMN interpreter: how each element kind behaves when it is activated, completed and terminated.

An element instance is created in its flow scope at once, so a scope always knows what is still running
in it; the rest of its step runs from the agenda, which keeps long chains of elements off the call stack.
A step that fails on an expression raises an incident on the element and stops there; resolving the
incident runs the step again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from zeebe_celery.engine import feel
from zeebe_celery.engine.appliers import Appliers
from zeebe_celery.engine.behaviours import StepFailed, behaviour_for, json_value
from zeebe_celery.engine.core import by_key
from zeebe_celery.engine.model import Element, EventType, Kind, SequenceFlow
from zeebe_celery.engine.state import (
    Definition,
    ElementInstance,
    ElementState,
    Incident,
    Job,
)
from zeebe_celery.engine.transaction import Transaction


class Interpreter(Appliers):
    agenda: deque[Callable[[], None]]

    def init_interpreter(self) -> None:
        self.agenda = deque()

    def run_agenda(self) -> None:
        agenda = self.agenda
        while agenda:
            agenda.popleft()()

    def settle(self) -> None:
        self.run_agenda()

    def rollback(self, tx: Transaction) -> None:
        self.agenda.clear()
        super().rollback(tx)

    # -- process instances ---------------------------------------------------------------------------

    def start_instance(
        self,
        definition: Definition,
        variables: dict[str, Any],
        start_at: list[str] | None = None,
        on_created: Callable[[ElementInstance], None] | None = None,
    ) -> ElementInstance:
        root = self.element_activating(definition.process.root, None, definition)
        if on_created is not None:
            on_created(root)
        self.set_local(root, variables)
        self.element_activated(root)
        if start_at:
            for element_id in start_at:
                self.activate_within(root, definition.process.elements[element_id])
        else:
            start = definition.process.root.none_start
            assert start is not None  # the parser refuses a process without a way to start it
            self.activate(start, root)
        self.run_agenda()
        return root

    def activate_within(
        self,
        root: ElementInstance,
        element: Element,
        variables: dict[str, Any] | None = None,
        *,
        ancestor: ElementInstance | None = None,
    ) -> dict[str, ElementInstance]:
        """Activate ``element`` wherever it is nested, creating the sub-process scopes on the way (inside
        ``ancestor`` when given). Returns the instance of each element id on the way, the element's own last."""
        chain: list[Element] = []
        parent = element.parent
        while (
            parent is not None
            and parent.kind is not Kind.PROCESS
            and (ancestor is None or parent is not ancestor.element)
        ):
            chain.append(parent)
            parent = parent.parent
        scope = ancestor or root
        path = {root.element.id: root, scope.element.id: scope}
        for container in reversed(chain):
            existing = (
                None
                if ancestor is not None
                else next((c for c in by_key(scope.children) if c.element is container), None)
            )
            if existing is None:
                existing = self.element_activating(container, scope, scope.definition)
                self.element_activated(existing)
                self.open_boundaries(existing)
            scope = path[container.id] = existing
        path[element.id] = self.activate(element, scope, variables)
        return path

    def activate(
        self, element: Element, scope: ElementInstance, variables: dict[str, Any] | None = None
    ) -> ElementInstance:
        instance = self.element_activating(element, scope, scope.definition)
        self.agenda.append(lambda: self.enter(instance, variables))
        return instance

    def enter(self, instance: ElementInstance, variables: dict[str, Any] | None = None) -> None:
        """Input mappings, then the element's own behaviour; on failure none of the step stays, and the
        element waits in ACTIVATING with an incident whose resolution runs the step again."""
        if instance.state is not ElementState.ACTIVATING or instance.key not in self.instances:
            return
        element = instance.element
        savepoint = self.tx.savepoint()
        try:
            if element.inputs:
                scope = self.visible(instance)
                self.set_local(instance, {m.target: json_value(m.source.evaluate(scope)) for m in element.inputs})
            self.element_activated(instance)
            self.behave(instance, variables)
        except StepFailed as exc:
            self.tx.rollback_to(savepoint)
            self.raise_incident(instance, exc.error_type, str(exc), retry="activate", variables=variables)
        except feel.FeelError as exc:
            self.tx.rollback_to(savepoint)
            self.raise_incident(instance, "IO_MAPPING_ERROR", str(exc), retry="activate", variables=variables)

    def behave(self, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        """What the element does once it is activated: its kind's behaviour."""
        behaviour_for(instance.element)(self, instance, variables)

    def open_boundaries(self, instance: ElementInstance) -> None:
        for boundary in instance.element.boundaries:
            if boundary.event_type is not EventType.ERROR:
                self.open_wait(instance, boundary)

    # -- completion ----------------------------------------------------------------------------------

    def complete(
        self,
        instance: ElementInstance,
        variables: dict[str, Any] | None = None,
        *,
        flows: list[SequenceFlow] | None = None,
    ) -> None:
        """Output mappings (or ``variables`` propagated), then the outgoing flows."""
        element = instance.element
        self.element_completing(instance)
        parent = instance.parent
        savepoint = self.tx.savepoint()
        try:
            if element.outputs:
                if variables:
                    self.set_local(instance, variables)
                scope = self.visible(instance)
                outputs = {m.target: json_value(m.source.evaluate(scope)) for m in element.outputs}
                self.propagate(parent or instance, outputs)
            elif variables:
                self.propagate(instance, variables)
        except feel.FeelError as exc:
            self.tx.rollback_to(savepoint)
            self.raise_incident(instance, "IO_MAPPING_ERROR", str(exc), retry="complete", variables=variables)
            return
        self.close_waits(instance)
        self.element_completed(instance)
        if parent is None:
            self.finish_instance(instance)
            return
        for flow in element.outgoing if flows is None else flows:
            self.take(flow, parent)
        self.agenda.append(lambda: self.check_scope(parent))

    def take(self, flow: SequenceFlow, scope: ElementInstance) -> None:
        target = scope.definition.process.elements[flow.target]
        joining = target.kind is Kind.PARALLEL_GATEWAY and len(target.incoming) > 1
        self.sequence_flow_taken(flow, scope, joining)
        if not joining:
            self.activate(target, scope)
            return
        arrived = scope.joins[target.id]
        if all(arrived[f.id] > 0 for f in target.incoming):
            self.joins_consumed(scope, target)
            self.activate(target, scope)

    def check_scope(self, scope: ElementInstance) -> None:
        """A sub-process or process with nothing left to do completes."""
        if (
            scope.state is ElementState.ACTIVATED
            and not scope.children
            and not scope.joins
            and (scope.key in self.instances)
        ):
            self.complete(scope)

    # -- termination ---------------------------------------------------------------------------------

    def terminate(self, instance: ElementInstance) -> None:
        """End the element and everything in it, with its job, waits and incidents; no flow is taken."""
        self.element_terminating(instance)
        for child in by_key(instance.children):
            self.terminate(child)
        if instance.job is not None:
            self.cancel_job(instance.job)
        self.close_waits(instance)
        if instance.incident is not None:
            self.resolve_quietly(instance.incident)
        self.element_terminated(instance)
        if instance.parent is None:
            self.finish_instance(instance)

    def terminate_scope(self, end: ElementInstance) -> None:
        scope = end.parent
        assert scope is not None
        for child in by_key(scope.children):
            if child is not end:
                self.terminate(child)
        self.joins_cleared(scope)
        self.complete(end)

    # -- incidents -------------------------------------------------------------------------------------

    def raise_incident(
        self,
        instance: ElementInstance,
        error_type: str,
        message: str,
        *,
        retry: str,
        variables: dict[str, Any] | None = None,
        job: Job | None = None,
    ) -> Incident:
        return self.incident_created(instance, error_type, message, retry=retry, variables=variables, job=job)

    def resolve_quietly(self, incident: Incident) -> None:
        self.incident_resolved(incident)
