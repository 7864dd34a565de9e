"""The engine's runtime: the commands of the gateway protocol over the interpreter, jobs and waits.

It knows nothing of gRPC. Every command runs under one lock, as on a single Zeebe partition, and its
changes are committed (to the store, when there is one) before it returns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from zeebe_celery.engine.core import Clock, command
from zeebe_celery.engine.deployments import Deployment, Deployments
from zeebe_celery.engine.errors import FailedPrecondition, InvalidArgument, NotFound
from zeebe_celery.engine.jobs import Jobs
from zeebe_celery.engine.model import Element
from zeebe_celery.engine.state import DEFAULT_TENANT, Definition, ElementInstance, ElementState, JobState
from zeebe_celery.engine.waits import Waits

__all__ = ["Deployment", "Runtime"]

logger = logging.getLogger(__name__)
# A due item whose processing failed is tried again this much later.
_RETRY_DUE_MS = 5_000


@dataclass
class ActivateInstruction:
    element_id: str
    ancestor_key: int = -1
    variables: Sequence[tuple[str, dict[str, Any]]] = ()  # (scope element id, variables)


class Runtime(Deployments, Jobs, Waits):
    """All engine state and the commands on it."""

    def __init__(self, *, clock: Clock, records_limit: int = 100_000) -> None:
        super().__init__(clock=clock, records_limit=records_limit)
        self.init_interpreter()
        self.init_jobs()
        self._due_handlers: dict[str, Callable[[int, int], None]] = {
            "job_timeout": self.job_timed_out,
            "job_backoff": self.job_backoff_over,
            "timer": self.timer_due,
            "message_ttl": self.message_ttl_over,
        }

    # -- due items -----------------------------------------------------------------------------------

    def fire_due(self, now: int) -> None:
        """Each due item is a command of its own: one that fails is rolled back, and tried again later
        (Zeebe's due-date checkers find such a timer again), without holding up the others."""
        for kind, key, due in self.pop_due(now):
            try:
                self._fire(kind, key, due)
            except Exception:
                logger.exception("Firing %s of %s failed; trying again in %d ms", kind, key, _RETRY_DUE_MS)
                self.schedule(now + _RETRY_DUE_MS, f"retry:{kind}:{due}", key)

    @command
    def _fire(self, kind: str, key: int, due: int) -> None:
        if kind.startswith("retry:"):
            _, kind, original = kind.split(":")
            due = int(original)
        self._due_handlers[kind](key, due)

    # -- process instances ---------------------------------------------------------------------------

    def find_definition(
        self, *, key: int = 0, process_id: str = "", version: int = -1, tenant_id: str = ""
    ) -> Definition:
        tenant = tenant_id or DEFAULT_TENANT
        if key > 0:
            definition = self.definitions.get(key)
            if definition is None or (tenant_id and definition.tenant_id != tenant):
                raise NotFound(f"Expected to find process definition with key '{key}', but none found")
            return definition
        live = self.live_versions(tenant, process_id)
        if version > 0:
            live = [v for v in live if v.version == version]
            if not live:
                raise NotFound(
                    f"Expected to find process definition with process ID '{process_id}' and version '{version}', "
                    "but none found"
                )
        if not live:
            raise NotFound(f"Expected to find process definition with process ID '{process_id}', but none found")
        return live[-1]

    def latest_definition(self, tenant_id: str, start: Element) -> Definition | None:
        root = start
        while root.parent is not None:
            root = root.parent
        live = self.live_versions(tenant_id, root.id)
        return live[-1] if live and live[-1].process.root is root else None

    @command
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
        return self.start_instance(definition, variables, list(start_at), on_created)

    def start_at_event(
        self, definition: Definition, start: Element, variables: dict[str, Any], correlation_key: str | None
    ) -> None:
        root = self.element_activating(definition.process.root, None, definition)
        if correlation_key:
            self.start_key_set(root, correlation_key)
        self.element_activated(root)
        self.activate(start, root, variables)

    def finish_instance(self, root: ElementInstance) -> None:
        """The process instance ended (its element record removed it): answer who waits for its result,
        and let a message with its correlation key start the next one."""
        waiters = self.result_waiters.get(root.key)
        if waiters:
            result = root if root.state is ElementState.COMPLETING else None
            self.tx.after.append(lambda: self._answer(root.key, result))
        if root.start_key is not None:
            definition = root.definition
            self.start_key_released(root)
            self.start_buffered(definition.tenant_id, definition.bpmn_process_id, root.start_key)

    def await_result(self, root: ElementInstance, waiter: Callable[[ElementInstance | None], None]) -> None:
        """Call ``waiter`` once the process instance ends (with the instance if it completed, else None)."""
        tx = self.tx
        waiters = self.result_waiters.get(root.key)
        if waiters is None:
            waiters = []
            tx.put(self.result_waiters, root.key, waiters)
        tx.append(waiters, waiter)

    def _answer(self, key: int, result: ElementInstance | None) -> None:
        for waiter in self.result_waiters.pop(key, []):
            waiter(result)

    def root_instance(self, key: int, action: str) -> ElementInstance:
        instance = self.instances.get(key)
        if instance is None or instance.parent is not None:
            raise NotFound(f"Expected to {action} a process instance with key '{key}', but no such process was found")
        return instance

    @command
    def cancel_instance(self, key: int) -> None:
        root = self.root_instance(key, "cancel")
        self.terminate(root)

    @command
    def set_variables(self, element_instance_key: int, variables: dict[str, Any], *, local: bool) -> int:
        instance = self.instances.get(element_instance_key)
        if instance is None:
            raise NotFound(
                f"Expected to update variables for element with key '{element_instance_key}', but no such element "
                "was found"
            )
        if local:
            self.set_local(instance, variables)
        else:
            self.propagate(instance, variables)
        return self.keys.next()

    @command
    def resolve_incident(self, key: int) -> None:
        incident = self.incidents.get(key)
        if incident is None:
            raise NotFound(f"Expected to resolve incident with key '{key}', but no such incident was found")
        self.resolve_quietly(incident)
        job = incident.job
        if job is not None and job.state in (JobState.FAILED, JobState.ERROR_THROWN) and job.retries <= 0:
            # Resolving without new retries would leave the job unseen; Zeebe raises it again.
            self.raise_incident(incident.instance, incident.error_type, incident.error_message, retry="job", job=job)
        elif job is not None and job.state in (JobState.FAILED, JobState.ERROR_THROWN):
            self.make_activatable(job)
        else:
            self.retry_after_incident(incident)

    @command
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
            target = self.instances.get(element_key)
            if target is None or target.process_instance_key != root.key or target is root:
                raise InvalidArgument(
                    f"Expected to modify instance of process '{root.definition.bpmn_process_id}' but it contains one "
                    f"or more terminate instructions with an element instance that could not be found: "
                    f"'{element_key}'"
                )
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
            path = self.activate_within(root, elements[instruction.element_id], ancestor=ancestor)
            for scope_id, variables in instruction.variables:
                # The scope is the element activated or one of its flow scopes; none given is the instance's.
                self.set_local(path.get(scope_id or root.element.id, root), variables)
        scopes: list[ElementInstance] = []
        for element_key in terminate:
            target = self.instances.get(element_key)
            if target is not None:
                if target.parent is not None:
                    scopes.append(target.parent)
                self.terminate(target)
        # As Zeebe does, a flow scope left with nothing active is terminated, up to the process instance.
        for scope in scopes:
            empty: ElementInstance | None = scope
            while empty is not None and empty.key in self.instances and not empty.children and not empty.joins:
                parent = empty.parent
                self.terminate(empty)
                empty = parent

    def _ancestor(self, root: ElementInstance, instruction: ActivateInstruction) -> ElementInstance | None:
        """The flow scope instance an activate instruction names, checked to hold the element."""
        if instruction.ancestor_key <= 0 or instruction.ancestor_key == root.key:
            return None
        ancestor = self.instances.get(instruction.ancestor_key)
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

    @command
    def migrate_instance(self, key: int, *, target_key: int, mappings: Sequence[tuple[str, str]]) -> None:
        root = self.root_instance(key, "migrate")
        target = self.definitions.get(target_key)
        if target is None:
            raise NotFound(
                f"Expected to migrate process instance to process definition with key '{target_key}', but no process "
                "definition found with that key"
            )
        mapping = dict(mappings)
        tree = [i for i in self.instances.values() if i.process_instance_key == root.key and i is not root]
        for instance in tree:
            target_id = mapping.get(instance.element.id)
            element = target.process.elements.get(target_id or "")
            if element is None or element.kind is not instance.element.kind:
                raise InvalidArgument(
                    f"Expected to migrate process instance '{key}' but active element with id '{instance.element.id}' "
                    "is not mapped to an element of the same type in the target process definition"
                )
        self.definition_running(root.definition, -1)
        self.definition_running(target, +1)
        for instance in [root, *tree]:
            source = instance.element
            self.instance_moved(
                instance,
                target,
                target.process.root if instance is root else target.process.elements[mapping[instance.element.id]],
            )
            for wait_key in list(instance.waits):
                wait = self.waits[wait_key]
                # The element's own wait follows the mapping; a boundary's wait keeps being a boundary, and
                # one the target version lacks stops waiting (it would lead nowhere in the new version).
                if wait.element is source:
                    self.wait_moved(wait, instance.element)
                    continue
                boundary = target.process.elements.get(mapping.get(wait.element.id, wait.element.id))
                if boundary is None or boundary.attached_to != instance.element.id:
                    self.close_wait(wait)
                else:
                    self.wait_moved(wait, boundary)

    # -- inspection ----------------------------------------------------------------------------------

    def variables_of(self, key: int) -> dict[str, Any]:
        instance = self.instances.get(key)
        if instance is None:
            raise NotFound(f"no element instance with key '{key}'")
        return self.merged_variables(instance)
