"""The BPMN interpreter: element instances through their lifecycle (activate, complete, terminate), the
flows between them, and what every element shares: input and output mappings, boundary events, and the
incident a failed step becomes. What each element kind does is its processor's (:mod:`.processors`).

An element instance is created in its flow scope at once, so a scope always knows what is still running
in it; the rest of its step runs from the agenda, which keeps long chains of elements off the call stack.
A step that fails is rolled back to where it began and raises an incident on the element; resolving the
incident runs the step again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from zeebe_celery.engine import feel
from zeebe_celery.engine.appliers import Appliers
from zeebe_celery.engine.core import by_key
from zeebe_celery.engine.model import Element, EventType, Kind, SequenceFlow
from zeebe_celery.engine.parts import JobWork, Publication, Resources, Subscriptions, UserTaskWork
from zeebe_celery.engine.processors import StepFailed, json_value, processor_for
from zeebe_celery.engine.processors.adhoc import AdHocDecision, decide
from zeebe_celery.engine.processors.joins import inclusive_join
from zeebe_celery.engine.state import Definition, ElementInstance, ElementState, Incident, Job

__all__ = ["Interpreter"]

# Gateways that wait for tokens on their incoming flows before they activate.
_JOINING = {Kind.PARALLEL_GATEWAY, Kind.INCLUSIVE_GATEWAY}


_LISTENED = (EventType.MESSAGE, EventType.TIMER, EventType.SIGNAL, EventType.CONDITIONAL)
# Containers whose completed activities stay compensable from the scope around them once they complete.
_HANDS_ON_COMPENSATION = frozenset({Kind.SUB_PROCESS, Kind.MULTI_INSTANCE_BODY})


class Interpreter:
    """The flow of element instances over the state; the other parts are wired in by the runtime."""

    jobs: JobWork
    subscriptions: Subscriptions
    publication: Publication
    resources: Resources
    user_tasks: UserTaskWork

    def __init__(self, state: Appliers) -> None:
        self.state = state
        self.flow = self
        self.agenda: deque[Callable[[], None]] = deque()

    def later(self, step: Callable[[], None]) -> None:
        self.agenda.append(step)

    def run_agenda(self) -> None:
        agenda = self.agenda
        while agenda:
            agenda.popleft()()

    def visible(self, instance: ElementInstance) -> Mapping[str, Any]:
        return self.state.visible(instance)

    # -- process instances ---------------------------------------------------------------------------

    def start_instance(
        self,
        definition: Definition,
        variables: dict[str, Any],
        start_at: list[str] | None = None,
        on_created: Callable[[ElementInstance], None] | None = None,
    ) -> ElementInstance:
        state = self.state
        root = state.element_activating(definition.process.root, None, definition)
        if on_created is not None:
            on_created(root)
        if start_at:
            state.start_at_set(root, tuple(start_at))
        state.set_local(root, variables)
        self.enter(root)
        self.run_agenda()
        return root

    def start_called(self, definition: Definition, variables: dict[str, Any], caller: ElementInstance) -> None:
        """A call activity starts a process instance of ``definition`` at its none start event."""
        state = self.state
        root = state.element_activating(definition.process.root, None, definition, caller)
        state.set_local(root, variables)
        self.enter(root)

    def start_at_event(
        self, definition: Definition, start: Element, variables: dict[str, Any], correlation_key: str | None
    ) -> ElementInstance:
        state = self.state
        root = state.element_activating(definition.process.root, None, definition)
        if correlation_key:
            state.start_key_set(root, correlation_key)
        state.start_at_set(root, (start.id,))
        self.enter(root, variables)
        return root

    def finish_instance(self, root: ElementInstance) -> None:
        """The process instance ended: answer who waits for its result, and let a message with its
        correlation key start the next one."""
        state = self.state
        caller = root.caller
        if caller is not None and root.state is ElementState.COMPLETING:
            # The call activity completes with what the child ended with.
            variables = dict(root.variables)
            self.later(lambda: self._returned(caller, variables))
        if state.result_waiters.get(root.key):
            result = root if root.state is ElementState.COMPLETING else None
            state.tx.after.append(lambda: self._answer(root.key, result))
        if root.business_id:
            state.business_id_released(root)
        if root.start_key is not None:
            definition = root.definition
            state.start_key_released(root)
            self.subscriptions.start_buffered(definition.tenant_id, definition.bpmn_process_id, root.start_key)

    def _returned(self, caller: ElementInstance, variables: dict[str, Any]) -> None:
        if caller.state is not ElementState.ACTIVATED or caller.key not in self.state.instances:
            return
        called = caller.element.called
        assert called is not None
        # Output mappings read every variable of the child; without them, all come back unless told not to.
        self.complete(caller, variables if called.propagate_child or caller.element.outputs else None)

    def await_result(self, root: ElementInstance, waiter: Callable[[ElementInstance | None], None]) -> None:
        """Call ``waiter`` once the process instance ends (with the instance if it completed, else None)."""
        state = self.state
        tx = state.tx
        waiters = state.result_waiters.get(root.key)
        if waiters is None:
            waiters = []
            tx.put(state.result_waiters, root.key, waiters)
        tx.append(waiters, waiter)

    def _answer(self, key: int, result: ElementInstance | None) -> None:
        for waiter in self.state.result_waiters.pop(key, []):
            waiter(result)

    # -- activation ----------------------------------------------------------------------------------

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
                existing = self.state.element_activating(container, scope, scope.definition)
                self.state.element_activated(existing)
                self.open_boundaries(existing)
                self.open_event_subprocesses(existing)
            scope = path[container.id] = existing
        path[element.id] = self.activate(element, scope, variables)
        return path

    def activate(
        self, element: Element, scope: ElementInstance, variables: dict[str, Any] | None = None
    ) -> ElementInstance:
        instance = self.state.element_activating(element, scope, scope.definition)
        self.agenda.append(lambda: self.enter(instance, variables))
        return instance

    def enter(self, instance: ElementInstance, variables: dict[str, Any] | None = None) -> None:
        """Input mappings, boundary events, then the element's own behaviour; on failure none of the step
        stays, and the element waits in ACTIVATING with an incident whose resolution runs the step again."""
        state = self.state
        if instance.state is not ElementState.ACTIVATING or instance.key not in state.instances:
            return
        element = instance.element
        savepoint = state.tx.savepoint()
        try:
            if element.inputs:
                scope = state.visible(instance)
                state.set_local(instance, {m.target: json_value(m.source.evaluate(scope)) for m in element.inputs})
            if element.start_listeners:
                # Start listeners run before the element does anything of its own, one after another.
                state.listeners_begun(instance, variables)
                self.jobs.create_listener_job(instance, element.start_listeners[0], "START")
                return
            self._activated(instance, variables)
        except StepFailed as exc:
            state.tx.rollback_to(savepoint)
            self.raise_incident(instance, exc.error_type, str(exc), retry="activate", variables=variables)
        except feel.FeelError as exc:
            state.tx.rollback_to(savepoint)
            self.raise_incident(instance, "IO_MAPPING_ERROR", str(exc), retry="activate", variables=variables)

    def _activated(self, instance: ElementInstance, variables: dict[str, Any] | None) -> None:
        element = instance.element
        self.state.element_activated(instance)
        if element.boundaries:
            self.open_boundaries(instance)
        if element.event_subprocesses:
            self.open_event_subprocesses(instance)
        processor_for(element).on_activate(self, instance, variables)

    def open_event_subprocesses(self, instance: ElementInstance) -> None:
        """The scope listens for the message, timer, signal and conditional starts of its event sub-processes (error and
        escalation starts are found when something is thrown)."""
        for sub_process in instance.element.event_subprocesses:
            start = sub_process.event_start
            if start is not None and start.event_type in _LISTENED:
                self.subscriptions.open_wait(instance, start)

    def open_boundaries(self, instance: ElementInstance) -> None:
        for boundary in instance.element.boundaries:
            if boundary.event_type not in (EventType.ERROR, EventType.ESCALATION, EventType.COMPENSATION):
                self.subscriptions.open_wait(instance, boundary)

    # -- completion ----------------------------------------------------------------------------------

    def complete(
        self,
        instance: ElementInstance,
        variables: dict[str, Any] | None = None,
        *,
        flows: list[SequenceFlow] | None = None,
    ) -> None:
        """Output mappings (or ``variables`` propagated), then the outgoing flows."""
        state = self.state
        element = instance.element
        state.element_completing(instance)
        parent = instance.parent
        savepoint = state.tx.savepoint()
        try:
            processor_for(element).on_complete(self, instance)
            if element.outputs:
                if variables:
                    state.set_local(instance, variables)
                scope = state.visible(instance)
                outputs = {m.target: json_value(m.source.evaluate(scope)) for m in element.outputs}
                state.propagate(parent or instance, outputs)
            elif variables:
                state.propagate(instance, variables)
            if element.end_listeners:
                # End listeners run after the output mappings, before the element leaves.
                state.listeners_begun(instance, None)
                self.jobs.create_listener_job(instance, element.end_listeners[0], "END")
                return
            if parent is not None:
                processor_for(parent.element).on_child_completing(self, parent, instance)
        except StepFailed as exc:
            state.tx.rollback_to(savepoint)
            self.raise_incident(instance, exc.error_type, str(exc), retry="complete", variables=variables)
            return
        except feel.FeelError as exc:
            state.tx.rollback_to(savepoint)
            self.raise_incident(instance, "IO_MAPPING_ERROR", str(exc), retry="complete", variables=variables)
            return
        self._leave(instance, flows)

    def _leave(self, instance: ElementInstance, flows: list[SequenceFlow] | None) -> None:
        state = self.state
        element = instance.element
        parent = instance.parent
        self.subscriptions.close_waits(instance)
        state.element_completed(instance)
        if parent is None:
            self.finish_instance(instance)
            return
        if element.compensation_handler is not None:
            # Completed, so compensable: a compensation throw in its scope will run its handler.
            state.compensable_added(parent, instance)
        if instance.compensable and element.kind in _HANDS_ON_COMPENSATION:
            # A completed embedded sub-process (or multi-instance body) leaves what is compensable in it to
            # a throw in the scope around it, as Zeebe's subscriptions of a flow scope do.
            state.compensable_inherited(parent, instance)
        if instance.compensating:
            self.later(lambda: self._compensated(parent, instance.compensating))
        root = instance.root()
        if instance.element.id in root.terminate_after:
            # A runtime instruction of the instance's creation: it ends once this element completes.
            self.agenda.append(lambda: self._terminate_live(root))
            return
        for flow in element.outgoing if flows is None else flows:
            self.take(flow, parent)
        self.agenda.append(lambda: self.check_scope(parent))

    def _compensated(self, scope: ElementInstance, thrower_key: int) -> None:
        """A compensation handler completed: its throw event goes on once every handler it started has."""
        if any(child.compensating == thrower_key for child in scope.children.values()):
            return
        thrower = self.state.instances.get(thrower_key)
        if thrower is not None and thrower.state is ElementState.ACTIVATED:
            self.complete(thrower)

    def listener_completed(self, job: Job, variables: dict[str, Any]) -> None:
        """An execution listener's job completed: the next listener of its kind, or the element goes on
        (a start listener's variables are the element's own; an end listener's go up, as output mappings')."""
        state = self.state
        instance = job.instance
        element = instance.element
        starting = job.listener_event_type == "START"
        listeners = element.start_listeners if starting else element.end_listeners
        resume = instance.listener_variables
        savepoint = state.tx.savepoint()
        try:
            if variables:
                if starting:
                    state.set_local(instance, variables)
                else:
                    state.propagate(instance.parent or instance, variables)
            following = instance.listener_index + 1
            if following < len(listeners):
                state.listener_advanced(instance, following)
                self.jobs.create_listener_job(instance, listeners[following], job.listener_event_type)
                return
            state.listeners_ended(instance)
            if starting:
                self._activated(instance, resume)
                return
            parent = instance.parent
            if parent is not None:
                processor_for(parent.element).on_child_completing(self, parent, instance)
        except (StepFailed, feel.FeelError) as exc:
            state.tx.rollback_to(savepoint)
            error_type = exc.error_type if isinstance(exc, StepFailed) else "IO_MAPPING_ERROR"
            # Resolving runs every listener of that kind again, as the Camunda docs say.
            retry = "activate" if starting else "complete"
            self.raise_incident(instance, error_type, str(exc), retry=retry, variables=resume if starting else None)
            return
        self._leave(instance, None)

    def ad_hoc_decided(self, job: Job, variables: dict[str, Any], decision: AdHocDecision | None) -> None:
        """An ad-hoc sub-process's job worker answered: its variables are the sub-process's own."""
        instance = job.instance
        if variables:
            self.state.set_local(instance, variables)
        decide(self, instance, decision or AdHocDecision())

    def take(self, flow: SequenceFlow, scope: ElementInstance, variables: dict[str, Any] | None = None) -> None:
        target = scope.definition.process.elements[flow.target]
        joining = target.kind in _JOINING and len(target.incoming) > 1
        self.state.sequence_flow_taken(flow, scope, joining)
        if not joining:
            self.activate(target, scope, variables)
            return
        arrived = scope.joins[target.id]
        if all(arrived[f.id] > 0 for f in target.incoming):
            self.state.joins_consumed(scope, target)
            self.activate(target, scope)
        elif target.kind is Kind.INCLUSIVE_GATEWAY:
            self.later(lambda: inclusive_join(self, scope, target))

    def check_scope(self, scope: ElementInstance) -> None:
        """A sub-process or process with nothing left to do completes; an inclusive join that waits in it
        for tokens that can no longer come goes on."""
        for gateway_id in sorted(scope.joins):
            gateway = scope.definition.process.elements[gateway_id]
            if gateway.kind is Kind.INCLUSIVE_GATEWAY:
                inclusive_join(self, scope, gateway)
        if (
            scope.state is ElementState.ACTIVATED
            and scope.key in self.state.instances
            and processor_for(scope.element).is_done(scope)
        ):
            self.complete(scope)

    # -- termination ---------------------------------------------------------------------------------

    def terminate(self, instance: ElementInstance) -> None:
        """End the element and everything in it, with its waits and incident; no flow is taken."""
        state = self.state
        state.element_terminating(instance)
        processor_for(instance.element).on_terminate(self, instance)
        if instance.job is not None:  # an execution listener's job
            self.jobs.cancel_job(instance.job)
        self.subscriptions.close_waits(instance)
        if instance.incident is not None:
            state.incident_resolved(instance.incident)
        state.element_terminated(instance)
        if instance.parent is None:
            self.finish_instance(instance)

    def _terminate_live(self, root: ElementInstance) -> None:
        if root.key in self.state.instances and root.state is ElementState.ACTIVATED:
            self.terminate(root)

    def terminate_scope(self, end: ElementInstance) -> None:
        """A terminate end event: everything else in its scope ends, and the scope completes."""
        scope = end.parent
        assert scope is not None
        for child in by_key(scope.children):
            if child is not end:
                self.terminate(child)
        self.state.joins_cleared(scope)
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
        return self.state.incident_created(instance, error_type, message, retry=retry, variables=variables, job=job)
