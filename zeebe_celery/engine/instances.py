"""Commands on process instances: create, cancel, set variables, resolve an incident, modify and migrate."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from zeebe_celery.engine.appliers import Appliers
from zeebe_celery.engine.errors import FailedPrecondition, InvalidArgument, NotFound
from zeebe_celery.engine.interpreter import Interpreter
from zeebe_celery.engine.model import Element, Kind
from zeebe_celery.engine.parts import JobWork, Publication, Subscriptions
from zeebe_celery.engine.state import Definition, ElementInstance, JobState

__all__ = ["ActivateInstruction", "InstanceCommands"]


@dataclass
class ActivateInstruction:
    element_id: str
    ancestor_key: int = -1
    variables: Sequence[tuple[str, dict[str, Any]]] = ()  # (scope element id, variables)


class InstanceCommands:
    """Process instance commands over the state, through the interpreter and the other parts."""

    jobs: JobWork
    subscriptions: Subscriptions
    publication: Publication

    def __init__(self, state: Appliers, flow: Interpreter) -> None:
        self.state = state
        self.flow = flow

    def create_instance(
        self,
        definition: Definition,
        variables: dict[str, Any],
        *,
        start_at: Sequence[str] = (),
        on_created: Callable[[ElementInstance], None] | None = None,
    ) -> ElementInstance:
        for element_id in start_at:
            if element_id not in definition.process.elements:
                raise InvalidArgument(
                    f"Expected to create instance of process with start instructions but no element found with "
                    f"id '{element_id}'."
                )
        if not start_at and definition.process.root.none_start is None:
            raise FailedPrecondition(
                "Expected to create instance of process with none start event, but there is no such event"
            )
        return self.flow.start_instance(definition, variables, list(start_at), on_created)

    def root_instance(self, key: int, action: str) -> ElementInstance:
        instance = self.state.instances.get(key)
        if instance is None or instance.parent is not None:
            raise NotFound(f"Expected to {action} a process instance with key '{key}', but no such process was found")
        return instance

    def cancel_instance(self, key: int) -> None:
        root = self.root_instance(key, "cancel")
        if root.caller is not None:
            raise FailedPrecondition(
                f"Expected to cancel a process instance with key '{key}', but it is created by a parent process "
                f"instance. Cancel the root process instance '{_top(root).process_instance_key}' instead."
            )
        self.flow.terminate(root)

    def set_variables(self, element_instance_key: int, variables: dict[str, Any], *, local: bool) -> int:
        instance = self.state.instances.get(element_instance_key)
        if instance is None:
            raise NotFound(
                f"Expected to update variables for element with key '{element_instance_key}', but no such element "
                "was found"
            )
        if local:
            self.state.set_local(instance, variables)
        else:
            self.state.propagate(instance, variables)
        return self.state.keys.next()

    def resolve_incident(self, key: int) -> None:
        incident = self.state.incidents.get(key)
        if incident is None:
            raise NotFound(f"Expected to resolve incident with key '{key}', but no such incident was found")
        self.state.incident_resolved(incident)
        job = incident.job
        if job is not None and job.state in (JobState.FAILED, JobState.ERROR_THROWN) and job.retries <= 0:
            # Resolving without new retries would leave the job unseen; Zeebe raises it again.
            self.flow.raise_incident(
                incident.instance, incident.error_type, incident.error_message, retry="job", job=job
            )
        elif job is not None and job.state in (JobState.FAILED, JobState.ERROR_THROWN):
            self.jobs.make_activatable(job)
        else:
            self.publication.retry_after_incident(incident)

    def modify_instance(self, key: int, *, activate: Sequence[ActivateInstruction], terminate: Sequence[int]) -> None:
        root = self.root_instance(key, "modify")
        elements = root.definition.process.elements
        for instruction in activate:
            if instruction.element_id not in elements:
                raise InvalidArgument(
                    f"Expected to modify instance of process '{root.definition.bpmn_process_id}' but it contains one "
                    f"or more activate instructions with an element that could not be found: "
                    f"'{instruction.element_id}'"
                )
        for element_key in terminate:
            target = self.state.instances.get(element_key)
            if target is None or target.process_instance_key != root.key or target is root:
                raise InvalidArgument(
                    f"Expected to modify instance of process '{root.definition.bpmn_process_id}' but it contains one "
                    f"or more terminate instructions with an element instance that could not be found: "
                    f"'{element_key}'"
                )
        for instruction in activate:
            container = elements[instruction.element_id].parent
            while container is not None:
                if container.kind is Kind.MULTI_INSTANCE_BODY:
                    raise InvalidArgument(
                        f"Expected to modify instance of process '{root.definition.bpmn_process_id}' but it "
                        f"contains one or more activate instructions for an element inside a multi-instance "
                        f"body: '{instruction.element_id}'"
                    )
                container = container.parent
        # Everything is checked before anything changes: a refused modification leaves the instance as it was.
        ancestors = [self._ancestor(root, instruction) for instruction in activate]
        for instruction in activate:
            element: Element | None = elements[instruction.element_id]
            allowed = {"", root.element.id}
            while element is not None:
                allowed.add(element.id)
                element = element.parent
            for scope_id, _ in instruction.variables:
                if scope_id not in allowed:
                    raise InvalidArgument(
                        f"Expected to modify instance of process '{root.definition.bpmn_process_id}' but it contains "
                        f"one or more variable instructions with a scope element id that could not be found: "
                        f"'{scope_id}'"
                    )
        for instruction, ancestor in zip(activate, ancestors, strict=True):
            path = self.flow.activate_within(root, elements[instruction.element_id], ancestor=ancestor)
            for scope_id, variables in instruction.variables:
                # The scope is the element activated or one of its flow scopes; none given is the instance's.
                self.state.set_local(path.get(scope_id or root.element.id, root), variables)
        scopes: list[ElementInstance] = []
        for element_key in terminate:
            target = self.state.instances.get(element_key)
            if target is not None:
                if target.parent is not None:
                    scopes.append(target.parent)
                self.flow.terminate(target)
        # As Zeebe does, a flow scope left with nothing active is terminated, up to the process instance.
        for scope in scopes:
            empty: ElementInstance | None = scope
            while empty is not None and empty.key in self.state.instances and not empty.children and not empty.joins:
                parent = empty.parent
                self.flow.terminate(empty)
                empty = parent

    def _ancestor(self, root: ElementInstance, instruction: ActivateInstruction) -> ElementInstance | None:
        """The flow scope instance an activate instruction names, checked to hold the element."""
        if instruction.ancestor_key <= 0 or instruction.ancestor_key == root.key:
            return None
        ancestor = self.state.instances.get(instruction.ancestor_key)
        element = root.definition.process.elements[instruction.element_id]
        containers = []
        parent = element.parent
        while parent is not None:
            containers.append(parent)
            parent = parent.parent
        if ancestor is None or ancestor.process_instance_key != root.key or ancestor.element not in containers:
            raise InvalidArgument(
                f"Expected to modify instance of process '{root.definition.bpmn_process_id}' but it contains one or "
                f"more activate instructions with an ancestor scope key that does not exist, or is not in a "
                f"state to contain the element to activate: '{instruction.ancestor_key}'"
            )
        return ancestor

    def migrate_instance(self, key: int, *, target_key: int, mappings: Sequence[tuple[str, str]]) -> None:
        root = self.root_instance(key, "migrate")
        target = self.state.definitions.get(target_key)
        if target is None:
            raise NotFound(
                f"Expected to migrate process instance to process definition with key '{target_key}', but no process "
                "definition found with that key"
            )
        mapping = dict(mappings)
        tree = [i for i in self.state.instances.values() if i.process_instance_key == root.key and i is not root]
        for instance in tree:
            target_id = mapping.get(instance.element.id)
            element = target.process.elements.get(target_id or "")
            if element is None or element.kind is not instance.element.kind:
                raise InvalidArgument(
                    f"Expected to migrate process instance '{key}' but active element with id '{instance.element.id}' "
                    "is not mapped to an element of the same type in the target process definition"
                )
        self.state.definition_running(root.definition, -1)
        self.state.definition_running(target, +1)
        for instance in [root, *tree]:
            source = instance.element
            self.state.instance_moved(
                instance,
                target,
                target.process.root if instance is root else target.process.elements[mapping[instance.element.id]],
            )
            for wait_key in list(instance.waits):
                wait = self.state.waits[wait_key]
                # The element's own wait follows the mapping; a boundary's wait keeps being a boundary, and
                # one the target version lacks stops waiting (it would lead nowhere in the new version).
                if wait.element is source:
                    self.state.wait_moved(wait, instance.element)
                    continue
                boundary = target.process.elements.get(mapping.get(wait.element.id, wait.element.id))
                if boundary is None or boundary.attached_to != instance.element.id:
                    self.subscriptions.close_wait(wait)
                else:
                    self.state.wait_moved(wait, boundary)

    def variables_of(self, key: int) -> dict[str, Any]:
        instance = self.state.instances.get(key)
        if instance is None:
            raise NotFound(f"no element instance with key '{key}'")
        return self.state.merged_variables(instance)


def _top(root: ElementInstance) -> ElementInstance:
    """The root process instance of a call hierarchy."""
    while root.caller is not None:
        root = root.caller.root()
    return root
