"""Appliers of element instance, sequence flow, variable and incident records."""

from __future__ import annotations

from collections import Counter
from typing import Any

from zeebe_celery.engine.core import RuntimeBase
from zeebe_celery.engine.exported import element_value, sequence_flow_value, variable_value
from zeebe_celery.engine.model import Element, Kind, SequenceFlow
from zeebe_celery.engine.state import (
    Definition,
    ElementInstance,
    ElementState,
    Incident,
    Job,
)
from zeebe_celery.engine.transaction import ATTR, DEL, PUT

__all__ = ["ElementAppliers"]


class ElementAppliers(RuntimeBase):
    # -- element instances -----------------------------------------------------------------------------

    def element_activating(
        self,
        element: Element,
        scope: ElementInstance | None,
        definition: Definition,
        caller: ElementInstance | None = None,
    ) -> ElementInstance:
        """A new element instance in ``scope`` (None: a process instance of ``definition``, started by the
        call activity ``caller`` if given)."""
        tx = self.tx
        undo = tx.undo  # journalled inline (a new key's entries are added, so undone by deleting them)
        key = self.keys.next()
        instance = ElementInstance(key=key, element=element, parent=scope, definition=definition)
        if scope is None:
            instance.process_instance_key = key
            tx.set(definition, "running", definition.running + 1)
            if caller is not None:
                instance.caller = caller
                tx.set(caller, "called", instance)
                tx.roots.add(caller.process_instance_key)
        else:
            instance.process_instance_key = scope.process_instance_key
            undo.append((DEL, scope.children, key, None))
            scope.children[key] = instance
        undo.append((DEL, self.instances, key, None))
        self.instances[key] = instance
        tx.roots.add(instance.process_instance_key)
        if self.records.enabled:
            tx.records.append(
                ("PROCESS_INSTANCE", "ELEMENT_ACTIVATING", key, (element_value, instance, element, definition))
            )
        return instance

    def element_activated(self, instance: ElementInstance) -> None:
        self._element_state(instance, ElementState.ACTIVATED, "ELEMENT_ACTIVATED")

    def element_completing(self, instance: ElementInstance) -> None:
        self._element_state(instance, ElementState.COMPLETING, "ELEMENT_COMPLETING")

    def element_terminating(self, instance: ElementInstance) -> None:
        self._element_state(instance, ElementState.TERMINATING, "ELEMENT_TERMINATING")

    def element_completed(self, instance: ElementInstance) -> None:
        self.element_record("ELEMENT_COMPLETED", instance)
        self._element_gone(instance)

    def element_terminated(self, instance: ElementInstance) -> None:
        self.element_record("ELEMENT_TERMINATED", instance)
        self._element_gone(instance)

    def element_reset(self, instance: ElementInstance, state: ElementState) -> None:
        """Put an element back in ``state`` without a record (an incident keeps it there)."""
        self.tx.set(instance, "state", state)

    def _element_state(self, instance: ElementInstance, state: ElementState, intent: str) -> None:
        tx = self.tx
        tx.undo.append((ATTR, instance, "state", instance.state))  # tx.set, inline: the hottest applier
        instance.state = state
        tx.roots.add(instance.process_instance_key)
        if self.records.enabled:
            tx.records.append(
                (
                    "PROCESS_INSTANCE",
                    intent,
                    instance.key,
                    (element_value, instance, instance.element, instance.definition),
                )
            )

    def _element_gone(self, instance: ElementInstance) -> None:
        tx = self.tx
        key = instance.key
        tx.roots.add(instance.process_instance_key)
        # tx.pop, inline: the instance is in both maps while it lives.
        undo = tx.undo
        if self.instances.pop(key, None) is not None:
            undo.append((PUT, self.instances, key, instance))
        parent = instance.parent
        if parent is not None:
            if parent.children.pop(key, None) is not None:
                undo.append((PUT, parent.children, key, instance))
        else:
            definition = instance.definition
            tx.set(definition, "running", definition.running - 1)

    def sequence_flow_taken(self, flow: SequenceFlow, scope: ElementInstance, joining: bool) -> None:
        """``joining``: the flow leads into a parallel gateway that waits for all its incoming flows."""
        if self.records.enabled:
            self.write(
                "PROCESS_INSTANCE",
                "SEQUENCE_FLOW_TAKEN",
                self.keys.next(),
                (sequence_flow_value, flow, scope, scope.definition),
            )
        if joining:
            tx = self.tx
            arrived = Counter(scope.joins.get(flow.target, ()))
            arrived[flow.id] += 1
            tx.put(scope.joins, flow.target, arrived)
            tx.roots.add(scope.process_instance_key)

    def joins_consumed(self, scope: ElementInstance, gateway: Element, *, only: set[str] | None = None) -> None:
        """One token of each incoming flow of ``gateway`` (or of the flows in ``only``) is used up by its
        activation."""
        tx = self.tx
        arrived = Counter(scope.joins.get(gateway.id, ()))
        for flow in gateway.incoming:
            if only is None or flow.id in only:
                arrived[flow.id] -= 1
        left = +arrived
        if left:
            tx.put(scope.joins, gateway.id, left)
        else:
            tx.pop(scope.joins, gateway.id)

    def joins_cleared(self, scope: ElementInstance) -> None:
        self.tx.set(scope, "joins", {})

    def instance_moved(self, instance: ElementInstance, definition: Definition, element: Element) -> None:
        """Migration: the instance now runs ``element`` of ``definition``."""
        tx = self.tx
        tx.set(instance, "definition", definition)
        tx.set(instance, "element", element)
        tx.roots.add(instance.process_instance_key)

    def definition_running(self, definition: Definition, delta: int) -> None:
        self.tx.set(definition, "running", definition.running + delta)

    def fulfilled(self, instance: ElementInstance) -> None:
        """An ad-hoc sub-process's completion condition is fulfilled."""
        self.tx.set(instance, "fulfilled", True)
        self.tx.roots.add(instance.process_instance_key)

    def compensable_added(self, scope: ElementInstance, completed: ElementInstance) -> None:
        """An activity with a compensation handler completed in ``scope``."""
        tx = self.tx
        tx.append(scope.compensable, completed.element.id)
        tx.roots.add(scope.process_instance_key)
        self._compensation_record("CREATED", scope, completed.element.id)

    def compensable_inherited(self, scope: ElementInstance, completed: ElementInstance) -> None:
        """A sub-process (or multi-instance body) completed in ``scope`` with compensable activities in it:
        a throw in ``scope`` runs their handlers too."""
        tx = self.tx
        for element_id in completed.compensable:
            tx.append(scope.compensable, element_id)
        tx.roots.add(scope.process_instance_key)
        self._compensation_record("CREATED", scope, completed.element.id)

    def compensation_triggered(
        self, scope: ElementInstance, element_id: str, handler: ElementInstance, thrower: int
    ) -> None:
        """The handler of ``element_id`` runs for the throw event ``thrower``."""
        tx = self.tx
        tx.remove(scope.compensable, element_id)
        tx.set(handler, "compensating", thrower)
        tx.roots.add(scope.process_instance_key)
        self._compensation_record("TRIGGERED", scope, element_id)

    def _compensation_record(self, intent: str, scope: ElementInstance, element_id: str) -> None:
        if self.records.enabled:
            self.write(
                "COMPENSATION_SUBSCRIPTION",
                intent,
                scope.key,
                {
                    "compensableActivityId": element_id,
                    "compensableActivityScopeKey": scope.key,
                    "processInstanceKey": scope.process_instance_key,
                    "bpmnProcessId": scope.definition.bpmn_process_id,
                    "tenantId": scope.tenant_id,
                },
            )

    def start_at_set(self, root: ElementInstance, element_ids: tuple[str, ...]) -> None:
        self.tx.set(root, "start_at", element_ids)

    def listeners_begun(self, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        """The element's first listener of a kind runs; ``variables``: what its activation resumes with."""
        tx = self.tx
        tx.set(instance, "listener_index", 0)
        tx.set(instance, "listener_variables", variables)
        tx.roots.add(instance.process_instance_key)

    def listener_advanced(self, instance: ElementInstance, index: int) -> None:
        self.tx.set(instance, "listener_index", index)
        self.tx.roots.add(instance.process_instance_key)

    def listeners_ended(self, instance: ElementInstance) -> None:
        self.listeners_begun(instance, None)

    def start_key_set(self, root: ElementInstance, correlation_key: str) -> None:
        tx = self.tx
        tx.set(root, "start_key", correlation_key)
        definition = root.definition
        tx.add(self.keyed_starts, (definition.tenant_id, definition.bpmn_process_id, correlation_key))

    def start_key_released(self, root: ElementInstance) -> None:
        definition = root.definition
        self.tx.discard(self.keyed_starts, (definition.tenant_id, definition.bpmn_process_id, root.start_key))

    # -- variables -------------------------------------------------------------------------------------

    def set_local(self, instance: ElementInstance, variables: dict[str, Any]) -> None:
        for name, value in variables.items():
            self.variable_set(instance, instance, name, value)

    def propagate(self, start: ElementInstance, variables: dict[str, Any]) -> None:
        """Set each variable on the nearest scope from ``start`` up that has it, else on the root (or on the
        activation scope of an ad-hoc sub-process, where propagation stops, as the Camunda docs say)."""
        for name, value in variables.items():
            target = None
            for scope in start.scopes():
                if name in scope.variables or scope.element.kind is Kind.AD_HOC_SUB_PROCESS_INNER_INSTANCE:
                    target = scope
                    break
            if target is None:
                target = start.root()
            self.variable_set(start, target, name, value)

    def variable_set(self, origin: ElementInstance, scope: ElementInstance, name: str, value: Any) -> None:
        tx = self.tx
        created = name not in scope.variables
        tx.put(scope.variables, name, value)
        tx.roots.add(origin.process_instance_key)
        if self.conditional_waits:
            self.variable_changes.append((scope, name, "create" if created else "update", self.keys.last))
        if self.records.enabled:
            intent = "CREATED" if created else "UPDATED"
            # Deferred (see records.py): a variable's value is never changed in place (a change is a new
            # value), so the record can be made when read.
            self.write("VARIABLE", intent, scope.key, (variable_value, origin, scope, name, value))

    # -- incidents -------------------------------------------------------------------------------------

    def incident_created(
        self,
        instance: ElementInstance,
        error_type: str,
        message: str,
        *,
        retry: str,
        variables: dict[str, Any] | None = None,
        job: Job | None = None,
    ) -> Incident:
        tx = self.tx
        incident = Incident(
            key=self.keys.next(),
            error_type=error_type,
            error_message=message,
            instance=instance,
            job=job,
            retry=retry,
            retry_variables=variables,
        )
        tx.set(instance, "incident", incident)
        tx.put(self.incidents, incident.key, incident)
        tx.roots.add(instance.process_instance_key)
        self.incident_record("CREATED", incident)
        return incident

    def incident_resolved(self, incident: Incident) -> None:
        tx = self.tx
        tx.pop(self.incidents, incident.key)
        if incident.instance.incident is incident:
            tx.set(incident.instance, "incident", None)
        tx.roots.add(incident.instance.process_instance_key)
        self.incident_record("RESOLVED", incident)
