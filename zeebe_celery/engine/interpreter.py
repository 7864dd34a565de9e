"""The BPMN interpreter: how each element kind behaves when it is activated, completed and terminated.

An element instance is created in its flow scope at once, so a scope always knows what is still running
in it; the rest of its step runs from the agenda, which keeps long chains of elements off the call stack.
A step that fails on an expression raises an incident on the element and stops there; resolving the
incident runs the step again.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from zeebe_celery.engine import feel
from zeebe_celery.engine.behaviours import StepFailed, behaviour_for, json_value
from zeebe_celery.engine.core import RuntimeBase
from zeebe_celery.engine.model import Element, EventType, Kind, SequenceFlow
from zeebe_celery.engine.state import (
    Definition,
    ElementInstance,
    ElementState,
    Incident,
    Job,
)


class Interpreter(RuntimeBase):
    agenda: deque[Callable[[], None]]

    def init_interpreter(self) -> None:
        self.agenda = deque()

    def run_agenda(self) -> None:
        agenda = self.agenda
        while agenda:
            agenda.popleft()()

    # -- process instances ---------------------------------------------------------------------------

    def start_instance(
        self,
        definition: Definition,
        variables: dict[str, Any],
        start_at: list[str] | None = None,
        on_created: Callable[[ElementInstance], None] | None = None,
    ) -> ElementInstance:
        root = ElementInstance(
            key=self.keys.next(), element=definition.process.root, parent=None, definition=definition
        )
        root.process_instance_key = root.key
        self.instances[root.key] = root
        if on_created is not None:
            on_created(root)
        definition.running += 1
        self.touch(root)
        self.element_record("ELEMENT_ACTIVATING", root)
        self.set_local(root, variables)
        root.state = ElementState.ACTIVATED
        self.element_record("ELEMENT_ACTIVATED", root)
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
                else next((c for c in scope.children.values() if c.element is container), None)
            )
            if existing is None:
                existing = self.new_instance(container, scope)
                existing.state = ElementState.ACTIVATED
                self.element_record("ELEMENT_ACTIVATED", existing)
                self.open_boundaries(existing)
            scope = path[container.id] = existing
        path[element.id] = self.activate(element, scope, variables)
        return path

    def new_instance(self, element: Element, scope: ElementInstance) -> ElementInstance:
        instance = ElementInstance(
            key=self.keys.next(),
            element=element,
            parent=scope,
            definition=scope.definition,
            process_instance_key=scope.process_instance_key,
        )
        scope.children[instance.key] = instance
        self.instances[instance.key] = instance
        self.element_record("ELEMENT_ACTIVATING", instance)
        return instance

    def activate(
        self, element: Element, scope: ElementInstance, variables: dict[str, Any] | None = None
    ) -> ElementInstance:
        instance = self.new_instance(element, scope)
        self.agenda.append(lambda: self.enter(instance, variables))
        return instance

    def enter(self, instance: ElementInstance, variables: dict[str, Any] | None = None) -> None:
        """Input mappings, then the element's own behaviour; an incident on failure."""
        if instance.state is not ElementState.ACTIVATING or instance.key not in self.instances:
            return
        self.touch(instance)
        element = instance.element
        try:
            if element.inputs:
                scope = self.visible(instance)
                self.set_local(instance, {m.target: json_value(m.source.evaluate(scope)) for m in element.inputs})
            instance.state = ElementState.ACTIVATED
            self.element_record("ELEMENT_ACTIVATED", instance)
            self.behave(instance, variables)
        except StepFailed as exc:
            self._activation_failed(instance, exc.error_type, str(exc), variables)
        except feel.FeelError as exc:
            self._activation_failed(instance, "IO_MAPPING_ERROR", str(exc), variables)

    def _activation_failed(
        self, instance: ElementInstance, error_type: str, message: str, variables: dict[str, Any] | None
    ) -> None:
        # The waits the failed step opened (its boundary events) go: resolving runs the whole step again.
        self.close_waits(instance)
        instance.state = ElementState.ACTIVATING
        self.raise_incident(instance, error_type, message, retry="activate", variables=variables)

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
        self.touch(instance)
        element = instance.element
        instance.state = ElementState.COMPLETING
        self.element_record("ELEMENT_COMPLETING", instance)
        parent = instance.parent
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
            self.raise_incident(instance, "IO_MAPPING_ERROR", str(exc), retry="complete", variables=variables)
            return
        self.close_waits(instance)
        self.element_record("ELEMENT_COMPLETED", instance)
        if parent is None:
            self.finish_instance(instance)
            return
        del parent.children[instance.key]
        del self.instances[instance.key]
        for flow in element.outgoing if flows is None else flows:
            self.take(flow, parent)
        self.agenda.append(lambda: self.check_scope(parent))

    def take(self, flow: SequenceFlow, scope: ElementInstance) -> None:
        if self.records.enabled:
            self.records.append(
                "PROCESS_INSTANCE",
                "SEQUENCE_FLOW_TAKEN",
                self.keys.next(),
                {
                    "bpmnElementType": "SEQUENCE_FLOW",
                    "elementId": flow.id,
                    "bpmnProcessId": scope.definition.bpmn_process_id,
                    "processInstanceKey": scope.process_instance_key,
                    "flowScopeKey": scope.key,
                    "tenantId": scope.tenant_id,
                },
            )
        target = scope.definition.process.elements[flow.target]
        if target.kind is Kind.PARALLEL_GATEWAY and len(target.incoming) > 1:
            arrived = scope.joins.setdefault(target.id, Counter())
            arrived[flow.id] += 1
            if all(arrived[f.id] > 0 for f in target.incoming):
                for f in target.incoming:
                    arrived[f.id] -= 1
                scope.joins[target.id] = +arrived
                if not scope.joins[target.id]:
                    del scope.joins[target.id]
                self.activate(target, scope)
            return
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
        self.touch(instance)
        instance.state = ElementState.TERMINATING
        self.element_record("ELEMENT_TERMINATING", instance)
        for child in list(instance.children.values()):
            self.terminate(child)
        if instance.job is not None:
            self.cancel_job(instance.job)
        self.close_waits(instance)
        if instance.incident is not None:
            self.resolve_quietly(instance.incident)
        self.element_record("ELEMENT_TERMINATED", instance)
        if instance.parent is not None:
            self.instances.pop(instance.key, None)
            instance.parent.children.pop(instance.key, None)
        else:
            self.finish_instance(instance)

    def terminate_scope(self, end: ElementInstance) -> None:
        scope = end.parent
        assert scope is not None
        for child in list(scope.children.values()):
            if child is not end:
                self.terminate(child)
        scope.joins.clear()
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
        incident = Incident(
            key=self.keys.next(),
            error_type=error_type,
            error_message=message,
            instance=instance,
            job=job,
            retry=retry,
            retry_variables=variables,
        )
        instance.incident = incident
        self.incidents[incident.key] = incident
        self.touch(instance)
        self.incident_record("CREATED", incident)
        return incident

    def resolve_quietly(self, incident: Incident) -> None:
        self.touch(incident.instance)
        self.incidents.pop(incident.key, None)
        incident.instance.incident = None
        self.incident_record("RESOLVED", incident)
