"""Commands on process instances: create, cancel, set variables, resolve an incident, modify and migrate."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from zeebe_celery.engine.appliers import Appliers
from zeebe_celery.engine.core import by_key
from zeebe_celery.engine.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from zeebe_celery.engine.interpreter import Interpreter
from zeebe_celery.engine.model import Element, Kind
from zeebe_celery.engine.parts import JobWork, Publication, Subscriptions, UserTaskWork
from zeebe_celery.engine.processors.events import follows_event_gateway
from zeebe_celery.engine.state import Definition, ElementInstance, JobState

__all__ = ["MAX_TAGS", "ActivateInstruction", "InstanceCommands", "MoveInstruction", "check_tags"]

MAX_TAGS = 10
_TAG = re.compile(r"[A-Za-z][A-Za-z0-9_\-:.]{0,99}")


@dataclass
class ActivateInstruction:
    element_id: str
    ancestor_key: int = -1
    variables: Sequence[tuple[str, dict[str, Any]]] = ()  # (scope element id, variables)


@dataclass
class MoveInstruction:
    """8.9's move: terminate the source (one element instance, or every active instance of an element) and
    activate the target once per terminated instance, in ``ancestor_key``'s scope (-1: the existing flow
    scope), or in the source's hierarchy (``infer_ancestor``), or in the source's parent (``source_parent``)."""

    target_element_id: str
    source_key: int = 0
    source_element_id: str = ""
    ancestor_key: int = -1
    infer_ancestor: bool = False
    source_parent: bool = False
    variables: Sequence[tuple[str, dict[str, Any]]] = ()


class InstanceCommands:
    """Process instance commands over the state, through the interpreter and the other parts."""

    jobs: JobWork
    subscriptions: Subscriptions
    publication: Publication
    user_tasks: UserTaskWork

    def __init__(self, state: Appliers, flow: Interpreter) -> None:
        self.state = state
        self.flow = flow
        # Zeebe 8.9's Business ID Uniqueness Control: one active root instance per business id and process.
        self.unique_business_ids = True

    def create_instance(
        self,
        definition: Definition,
        variables: dict[str, Any],
        *,
        start_at: Sequence[str] = (),
        on_created: Callable[[ElementInstance], None] | None = None,
        tags: Sequence[str] = (),
        business_id: str = "",
        terminate_after: Sequence[str] = (),
    ) -> ElementInstance:
        labels = check_tags(tags)
        for element_id in terminate_after:
            if element_id not in definition.process.elements:
                raise InvalidArgument(
                    "Expected to create instance of process with runtime instructions but no element found with "
                    f"id '{element_id}'."
                )
        name = (definition.tenant_id, definition.bpmn_process_id, business_id)
        if business_id and self.unique_business_ids and name in self.state.business_ids:
            raise AlreadyExists(
                f"Expected to create instance of process with business id '{business_id}', but an active root "
                f"process instance with this business id already exists for process "
                f"'{definition.bpmn_process_id}' (process instance key '{self.state.business_ids[name]}')"
            )
        if labels or business_id or terminate_after:
            given = on_created

            def on_created(root: ElementInstance) -> None:
                self.state.instance_labelled(root, labels, business_id, tuple(terminate_after))
                if given is not None:
                    given(root)

        for element_id in start_at:
            if element_id not in definition.process.elements:
                raise InvalidArgument(
                    f"Expected to create instance of process with start instructions but no element found with "
                    f"id '{element_id}'."
                )
            if follows_event_gateway(definition.process.elements[element_id]):
                raise InvalidArgument(
                    f"Expected to create instance of process with start instructions but the element with id "
                    f"'{element_id}' belongs to an event-based gateway. The creation of elements belonging to an "
                    "event-based gateway is not supported."
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

    def set_variables(
        self,
        element_instance_key: int,
        variables: dict[str, Any],
        *,
        local: bool,
        waiter: Callable[[Any], None] | None = None,
    ) -> int:
        instance = self.state.instances.get(element_instance_key)
        if instance is None:
            raise NotFound(
                f"Expected to update variables for element with key '{element_instance_key}', but no such element "
                "was found"
            )
        if instance.user_task is not None:
            # The scope of a native user task: an update of the task, through its updating listeners (8.8).
            self.user_tasks.update_variables(instance.user_task, variables, local=local, waiter=waiter)
            return self.state.keys.next()
        if waiter is not None:
            self.state.tx.after.append(lambda: waiter(None))
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

    def modify_instance(
        self,
        key: int,
        *,
        activate: Sequence[ActivateInstruction],
        terminate: Sequence[int],
        terminate_elements: Sequence[str] = (),
        move: Sequence[MoveInstruction] = (),
    ) -> None:
        root = self.root_instance(key, "modify")
        elements = root.definition.process.elements
        process_id = root.definition.bpmn_process_id
        for element_id in [*terminate_elements, *(m.source_element_id for m in move if not m.source_key)]:
            if element_id not in elements:
                raise InvalidArgument(
                    f"Expected to modify instance of process '{process_id}' but it contains one or more terminate "
                    f"instructions with an element id that could not be found: '{element_id}'"
                )
        activate = list(activate)
        terminate = list(terminate)
        for element_id in terminate_elements:
            terminate += [i.key for i in self._active_of(root, element_id)]
        for moved in move:
            activate_moved, terminated = self._moved(root, moved)
            activate += activate_moved
            terminate += terminated
        terminate = list(dict.fromkeys(terminate))
        for instruction in activate:
            if instruction.element_id not in elements:
                raise InvalidArgument(
                    f"Expected to modify instance of process '{root.definition.bpmn_process_id}' but it contains one "
                    f"or more activate instructions with an element that could not be found: "
                    f"'{instruction.element_id}'"
                )
        after_gateway = [i.element_id for i in activate if follows_event_gateway(elements[i.element_id])]
        if after_gateway:
            listed = "', '".join(after_gateway)
            raise InvalidArgument(
                f"Expected to modify instance of process '{root.definition.bpmn_process_id}' but it contains one or "
                f"more activate instructions for elements that are unsupported: '{listed}'. "
                "The activation of events belonging to an event-based gateway is not supported."
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

    def _active_of(self, root: ElementInstance, element_id: str) -> list[ElementInstance]:
        return [
            i
            for i in by_key(self.state.instances)
            if i.process_instance_key == root.key and i.element.id == element_id and i is not root
        ]

    def _moved(self, root: ElementInstance, move: MoveInstruction) -> tuple[list[ActivateInstruction], list[int]]:
        """A move as the activations and terminations it stands for."""
        if move.source_key:
            source = self.state.instances.get(move.source_key)
            if source is None or source.process_instance_key != root.key or source is root:
                raise InvalidArgument(
                    f"Expected to modify instance of process '{root.definition.bpmn_process_id}' but it contains one "
                    f"or more move instructions with a source element instance that could not be found: "
                    f"'{move.source_key}'"
                )
            sources = [source]
        else:
            sources = self._active_of(root, move.source_element_id)
        target = root.definition.process.elements.get(move.target_element_id)
        if target is None:
            raise InvalidArgument(
                f"Expected to modify instance of process '{root.definition.bpmn_process_id}' but it contains one or "
                f"more move instructions with a target element that could not be found: '{move.target_element_id}'"
            )
        activations = []
        for source in sources:
            ancestor = move.ancestor_key
            if move.source_parent and source.parent is not None:
                ancestor = source.parent.key
            elif move.infer_ancestor:
                containers = set()
                parent = target.parent
                while parent is not None:
                    containers.add(parent.id)
                    parent = parent.parent
                ancestor = next((s.key for s in source.scopes() if s.element.id in containers), -1)
            activations.append(ActivateInstruction(move.target_element_id, ancestor, move.variables))
        return activations, [source.key for source in sources]

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


def check_tags(tags: Sequence[str]) -> tuple[str, ...]:
    """The distinct tags, in order, checked as Zeebe checks them; raises InvalidArgument."""
    if not tags:
        return ()
    distinct = tuple(dict.fromkeys(tags))
    if len(distinct) > MAX_TAGS:
        raise InvalidArgument(
            f"Expected to create instance of process with tags, but the number of tags exceeds the limit of {MAX_TAGS}."
        )
    invalid = [tag for tag in distinct if not _TAG.fullmatch(tag)]
    if invalid:
        raise InvalidArgument(
            "Expected to create instance of process with tags, but the tags '{}' are invalid. Tag must start with a "
            "letter (a-z, A-Z), followed by alphanumerics, underscores, minuses, colons, or periods. It must not be "
            "blank and must be 100 characters or less.".format("', '".join(invalid))
        )
    return distinct


def _top(root: ElementInstance) -> ElementInstance:
    """The root process instance of a call hierarchy."""
    while root.caller is not None:
        root = root.caller.root()
    return root
