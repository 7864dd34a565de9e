"""Event appliers: the only code that changes the engine's state.

Each method here is one record Zeebe would export (an element activating, a job failing, a timer
triggered...): it writes that record and applies it to the state through the command's transaction, which
journals every change, so a command that raises is rolled back whole. Processing (the interpreter, jobs,
waits, deployments) decides what happens and calls these; it never assigns to the state itself.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from zeebe_celery.engine.core import DeployedDecision, DeployedDrg, RuntimeBase
from zeebe_celery.engine.model import Element, SequenceFlow
from zeebe_celery.engine.state import (
    Definition,
    ElementInstance,
    ElementState,
    Incident,
    Job,
    JobState,
    Message,
    Wait,
    WaitKind,
)

__all__ = ["Appliers"]

_WAIT_RECORDS = {
    WaitKind.MESSAGE: ("PROCESS_MESSAGE_SUBSCRIPTION", "DELETED"),
    WaitKind.SIGNAL: ("SIGNAL_SUBSCRIPTION", "DELETED"),
    WaitKind.TIMER: ("TIMER", "CANCELED"),
}


class Appliers(RuntimeBase):
    # -- element instances -----------------------------------------------------------------------------

    def element_activating(
        self, element: Element, scope: ElementInstance | None, definition: Definition
    ) -> ElementInstance:
        """A new element instance in ``scope`` (None: a process instance of ``definition``)."""
        tx = self.txn
        instance = ElementInstance(key=self.keys.next(), element=element, parent=scope, definition=definition)
        if scope is None:
            instance.process_instance_key = instance.key
            tx.set(definition, "running", definition.running + 1)
        else:
            instance.process_instance_key = scope.process_instance_key
            tx.put(scope.children, instance.key, instance)
        tx.put(self.instances, instance.key, instance)
        tx.roots.add(instance.process_instance_key)
        self.element_record("ELEMENT_ACTIVATING", instance)
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
        self.txn.set(instance, "state", state)

    def _element_state(self, instance: ElementInstance, state: ElementState, intent: str) -> None:
        tx = self.txn
        tx.set(instance, "state", state)
        tx.roots.add(instance.process_instance_key)
        self.element_record(intent, instance)

    def _element_gone(self, instance: ElementInstance) -> None:
        tx = self.txn
        tx.roots.add(instance.process_instance_key)
        tx.pop(self.instances, instance.key)
        parent = instance.parent
        if parent is not None:
            tx.pop(parent.children, instance.key)
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
                {
                    "bpmnElementType": "SEQUENCE_FLOW",
                    "elementId": flow.id,
                    "bpmnProcessId": scope.definition.bpmn_process_id,
                    "processInstanceKey": scope.process_instance_key,
                    "flowScopeKey": scope.key,
                    "tenantId": scope.tenant_id,
                },
            )
        if joining:
            tx = self.txn
            arrived = Counter(scope.joins.get(flow.target, ()))
            arrived[flow.id] += 1
            tx.put(scope.joins, flow.target, arrived)
            tx.roots.add(scope.process_instance_key)

    def joins_consumed(self, scope: ElementInstance, gateway: Element) -> None:
        """One token of each incoming flow of ``gateway`` is used up by its activation."""
        tx = self.txn
        arrived = Counter(scope.joins.get(gateway.id, ()))
        for flow in gateway.incoming:
            arrived[flow.id] -= 1
        left = +arrived
        if left:
            tx.put(scope.joins, gateway.id, left)
        else:
            tx.pop(scope.joins, gateway.id)

    def joins_cleared(self, scope: ElementInstance) -> None:
        self.txn.set(scope, "joins", {})

    def instance_moved(self, instance: ElementInstance, definition: Definition, element: Element) -> None:
        """Migration: the instance now runs ``element`` of ``definition``."""
        tx = self.txn
        tx.set(instance, "definition", definition)
        tx.set(instance, "element", element)
        tx.roots.add(instance.process_instance_key)

    def definition_running(self, definition: Definition, delta: int) -> None:
        self.txn.set(definition, "running", definition.running + delta)

    def start_key_set(self, root: ElementInstance, correlation_key: str) -> None:
        tx = self.txn
        tx.set(root, "start_key", correlation_key)
        definition = root.definition
        tx.add(self.keyed_starts, (definition.tenant_id, definition.bpmn_process_id, correlation_key))

    def start_key_released(self, root: ElementInstance) -> None:
        definition = root.definition
        self.txn.discard(self.keyed_starts, (definition.tenant_id, definition.bpmn_process_id, root.start_key))

    # -- variables -------------------------------------------------------------------------------------

    def set_local(self, instance: ElementInstance, variables: dict[str, Any]) -> None:
        for name, value in variables.items():
            self.variable_set(instance, instance, name, value)

    def propagate(self, start: ElementInstance, variables: dict[str, Any]) -> None:
        """Set each variable on the nearest scope from ``start`` up that has it, else on the root."""
        for name, value in variables.items():
            target = next((s for s in start.scopes() if name in s.variables), None)
            if target is None:
                target = start.root()
            self.variable_set(start, target, name, value)

    def variable_set(self, origin: ElementInstance, scope: ElementInstance, name: str, value: Any) -> None:
        tx = self.txn
        created = name not in scope.variables
        tx.put(scope.variables, name, value)
        tx.roots.add(origin.process_instance_key)
        if self.records.enabled:
            self.variable_record(origin, scope, name, value, "CREATED" if created else "UPDATED")

    # -- jobs ------------------------------------------------------------------------------------------

    def job_created(self, instance: ElementInstance, job_type: str, retries: int, headers: str) -> Job:
        tx = self.txn
        job = Job(key=self.keys.next(), type=job_type, instance=instance, retries=retries, custom_headers=headers)
        tx.set(instance, "job", job)
        tx.put(self.jobs, job.key, job)
        tx.roots.add(instance.process_instance_key)
        self.job_record("CREATED", job)
        return job

    def job_activatable(self, job: Job, intent: str | None = None) -> None:
        """The job can be handed out again (``intent``: the record that says why, if any)."""
        tx = self.txn
        tx.set(job, "state", JobState.ACTIVATABLE)
        tx.set(job, "deadline", -1)
        tx.set(job, "worker", "")
        tx.roots.add(job.instance.process_instance_key)
        if intent is not None:
            self.job_record(intent, job)

    def job_pooled(self, job: Job) -> None:
        """The activatable job waits for a poller."""
        tx = self.txn
        pool = self.activatable.get(job.type)
        if pool is None:
            pool = {}
            tx.put(self.activatable, job.type, pool)
        tx.put(pool, job.key, job)

    def job_unpooled(self, job: Job) -> None:
        pool = self.activatable.get(job.type)
        if pool is not None and job.key in pool:
            self.txn.pop(pool, job.key)

    def job_activated(self, job: Job, worker: str, deadline: int) -> None:
        tx = self.txn
        self.job_unpooled(job)
        tx.set(job, "state", JobState.ACTIVATED)
        tx.set(job, "worker", worker)
        tx.set(job, "deadline", deadline)
        tx.roots.add(job.instance.process_instance_key)
        self.schedule(deadline, "job_timeout", job.key)

    def job_failed(self, job: Job, *, retries: int, error_message: str, backoff: int) -> None:
        tx = self.txn
        tx.set(job, "retries", retries)
        tx.set(job, "error_message", error_message)
        tx.set(job, "retry_backoff", max(backoff, 0))
        tx.roots.add(job.instance.process_instance_key)
        self.job_record("FAILED", job)
        tx.set(job, "deadline", -1)
        if retries > 0 and backoff > 0:
            tx.set(job, "state", JobState.BACKOFF)
            tx.set(job, "backoff_until", self.now() + backoff)
            self.schedule(job.backoff_until, "job_backoff", job.key)
        elif retries <= 0:
            tx.set(job, "state", JobState.FAILED)

    def job_error_thrown(self, job: Job, code: str, message: str) -> None:
        tx = self.txn
        tx.set(job, "error_code", code)
        tx.set(job, "error_message", message)
        self.job_unpooled(job)
        self.job_record("ERROR_THROWN", job)
        tx.set(job, "state", JobState.ERROR_THROWN)
        tx.roots.add(job.instance.process_instance_key)

    def job_retries_updated(self, job: Job, retries: int) -> None:
        tx = self.txn
        tx.set(job, "retries", retries)
        tx.roots.add(job.instance.process_instance_key)
        self.job_record("RETRIES_UPDATED", job)

    def job_timeout_updated(self, job: Job, deadline: int) -> None:
        tx = self.txn
        tx.set(job, "deadline", deadline)
        self.schedule(deadline, "job_timeout", job.key)
        tx.roots.add(job.instance.process_instance_key)
        self.job_record("TIMEOUT_UPDATED", job)

    def job_ended(self, job: Job, intent: str | None) -> None:
        """The job is completed, cancelled or its error caught (``intent``: its record, if any)."""
        tx = self.txn
        if intent is not None:
            self.job_record(intent, job)
        tx.pop(self.jobs, job.key)
        self.job_unpooled(job)
        if job.instance.job is job:
            tx.set(job.instance, "job", None)
        tx.roots.add(job.instance.process_instance_key)

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
        tx = self.txn
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
        tx = self.txn
        tx.pop(self.incidents, incident.key)
        if incident.instance.incident is incident:
            tx.set(incident.instance, "incident", None)
        tx.roots.add(incident.instance.process_instance_key)
        self.incident_record("RESOLVED", incident)

    # -- waits: message subscriptions, timers, signal subscriptions --------------------------------------

    def wait_opened(self, instance: ElementInstance, element: Element, kind: WaitKind, **fields: Any) -> Wait:
        tx = self.txn
        wait = Wait(key=self.keys.next(), kind=kind, instance=instance, element=element, **fields)
        tx.put(self.waits, wait.key, wait)
        tx.append(instance.waits, wait.key)
        tx.roots.add(instance.process_instance_key)
        tenant = instance.tenant_id
        if kind is WaitKind.MESSAGE:
            self._index(self.subscriptions, (tenant, wait.name, wait.correlation_key), wait)
            self.wait_record("PROCESS_MESSAGE_SUBSCRIPTION", "CREATED", wait)
        elif kind is WaitKind.SIGNAL:
            self._index(self.signal_waits, (tenant, wait.name), wait)
            self.wait_record("SIGNAL_SUBSCRIPTION", "CREATED", wait)
        else:
            self.schedule(wait.due, "timer", wait.key)
            self.wait_record("TIMER", "CREATED", wait)
        return wait

    def wait_closed(self, wait: Wait) -> None:
        tx = self.txn
        if tx.pop(self.waits, wait.key) is None:
            return
        tx.remove(wait.instance.waits, wait.key)
        tx.roots.add(wait.instance.process_instance_key)
        tenant = wait.instance.tenant_id
        if wait.kind is WaitKind.MESSAGE:
            self._unindex(self.subscriptions, (tenant, wait.name, wait.correlation_key), wait.key)
        elif wait.kind is WaitKind.SIGNAL:
            self._unindex(self.signal_waits, (tenant, wait.name), wait.key)
        self.wait_record(*_WAIT_RECORDS[wait.kind], wait)

    def wait_moved(self, wait: Wait, element: Element) -> None:
        """Migration: the wait now belongs to ``element`` of the target version."""
        self.txn.set(wait, "element", element)

    def timer_triggered(self, wait: Wait) -> None:
        """The timer fired: it is due again one interval on while its cycle has repetitions left."""
        self.wait_record("TIMER", "TRIGGERED", wait)
        if wait.repetitions != 0 and wait.interval_ms > 0 and wait.repetitions != 1:
            tx = self.txn
            if wait.repetitions > 0:
                tx.set(wait, "repetitions", wait.repetitions - 1)
            tx.set(wait, "due", wait.due + wait.interval_ms)
            tx.roots.add(wait.instance.process_instance_key)
            self.schedule(wait.due, "timer", wait.key)
        else:
            self.wait_closed(wait)

    def _index(self, index: dict[Any, dict[int, Wait]], group: Any, wait: Wait) -> None:
        tx = self.txn
        members = index.get(group)
        if members is None:
            members = {}
            tx.put(index, group, members)
        tx.put(members, wait.key, wait)

    def _unindex(self, index: dict[Any, dict[int, Any]], group: Any, key: int) -> None:
        tx = self.txn
        members = index.get(group)
        if members is not None and key in members:
            tx.pop(members, key)
            if not members:
                tx.pop(index, group)

    # -- messages --------------------------------------------------------------------------------------

    def message_published(self, message: Message, ttl: int) -> None:
        if self.records.enabled:
            self.write(
                "MESSAGE",
                "PUBLISHED",
                message.key,
                {
                    "name": message.name,
                    "correlationKey": message.correlation_key,
                    "messageId": message.message_id,
                    "timeToLive": ttl,
                    "tenantId": message.tenant_id,
                },
            )
        if ttl > 0:
            tx = self.txn
            tx.put(self.messages, message.key, message)
            group = (message.tenant_id, message.name, message.correlation_key)
            buffered = self.buffered.get(group)
            if buffered is None:
                buffered = {}
                tx.put(self.buffered, group, buffered)
            tx.put(buffered, message.key, message)
            if message.message_id:
                tx.put(self.message_ids, (message.tenant_id, message.name, message.message_id), message.key)
            tx.messages.add(message.key)
            self.schedule(message.expires, "message_ttl", message.key)

    def message_correlated(self, message: Message, wait: Wait | None, target: int | str) -> None:
        """``target``: the process instance (or, for a start event, the process id) it correlated to."""
        tx = self.txn
        tx.add(message.correlated, target)
        tx.messages.add(message.key)
        if wait is not None and self.records.enabled:
            self.write(
                "PROCESS_MESSAGE_SUBSCRIPTION",
                "CORRELATED",
                wait.key,
                {
                    "messageName": message.name,
                    "correlationKey": message.correlation_key,
                    "messageKey": message.key,
                    "elementId": wait.element.id,
                    "processInstanceKey": wait.instance.process_instance_key,
                    "bpmnProcessId": wait.instance.definition.bpmn_process_id,
                    "tenantId": message.tenant_id,
                },
            )

    def message_expired(self, message: Message) -> None:
        tx = self.txn
        tx.pop(self.messages, message.key)
        tx.messages.add(message.key)
        self._unindex(self.buffered, (message.tenant_id, message.name, message.correlation_key), message.key)
        if message.message_id:
            tx.pop(self.message_ids, (message.tenant_id, message.name, message.message_id))
        if self.records.enabled:
            self.write("MESSAGE", "EXPIRED", message.key, {"name": message.name, "tenantId": message.tenant_id})

    # -- deployed resources ----------------------------------------------------------------------------

    def process_created(self, definition: Definition, *, record: bool = True) -> None:
        """A version of a process (``record``: False when the store loads it again)."""
        tx = self.txn
        tx.put(self.definitions, definition.key, definition)
        self.version_seen("process", definition.tenant_id, definition.bpmn_process_id, definition.version)
        group = (definition.tenant_id, definition.bpmn_process_id)
        versions = self.latest.get(group)
        if versions is None:
            versions = []
            tx.put(self.latest, group, versions)
        if definition not in versions:
            tx.append(versions, definition)
        tx.definitions = True
        if record and self.records.enabled:
            self.write(
                "PROCESS",
                "CREATED",
                definition.key,
                {
                    "bpmnProcessId": definition.bpmn_process_id,
                    "version": definition.version,
                    "resourceName": definition.resource_name,
                    "tenantId": definition.tenant_id,
                },
            )

    def drg_created(self, deployed: DeployedDrg) -> None:
        tx = self.txn
        tx.put(self.drgs, deployed.key, deployed)
        self.version_seen("drg", deployed.tenant_id, deployed.drg.id, deployed.version)
        tx.definitions = True

    def decision_created(self, entry: DeployedDecision) -> None:
        tx = self.txn
        tx.put(self.decisions, entry.key, entry)
        self.version_seen("decision", entry.tenant_id, entry.decision_id, entry.version)
        group = (entry.tenant_id, entry.decision_id)
        versions = self.latest_decisions.get(group)
        if versions is None:
            versions = []
            tx.put(self.latest_decisions, group, versions)
        tx.append(versions, entry)
        tx.definitions = True

    def process_deleted(self, definition: Definition) -> None:
        tx = self.txn
        tx.pop(self.definitions, definition.key)
        tx.definitions = True

    def drg_deleted(self, deployed: DeployedDrg) -> None:
        tx = self.txn
        tx.pop(self.drgs, deployed.key)
        for entry in [d for d in self.decisions.values() if d.drg is deployed]:
            tx.pop(self.decisions, entry.key)
            tx.remove(self.latest_decisions[(entry.tenant_id, entry.decision_id)], entry)
        tx.definitions = True

    def message_starts_indexed(self, starts: dict[tuple[str, str], list[Element]]) -> None:
        self.txn.set(self, "message_starts", starts)

    def version_seen(self, kind: str, tenant: str, resource_id: str, version: int) -> None:
        name = f"{kind}|{tenant}|{resource_id}"
        if self.max_versions.get(name, 0) < version:
            self.txn.put(self.max_versions, name, version)

    def deployed_record(self, value_type: str, key: int, value: dict[str, Any], intent: str = "CREATED") -> None:
        if self.records.enabled:
            self.write(value_type, intent, key, value)
