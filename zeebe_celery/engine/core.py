"""The runtime's shared state and the small helpers every part of it uses: keys, records, the clock, the
due-time heap and variable scopes. The parts (instances, jobs, messages, commands) are mixins over it, as
fakeredis groups its commands over one shared state."""

from __future__ import annotations

import datetime
import heapq
import itertools
import json
import threading
from collections import ChainMap
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from zeebe_celery.engine import feel
from zeebe_celery.engine.dmn import DecisionRequirements
from zeebe_celery.engine.model import Element
from zeebe_celery.engine.records import RecordLog
from zeebe_celery.engine.state import (
    Definition,
    ElementInstance,
    Incident,
    Job,
    KeyGenerator,
    Message,
    Wait,
)

Clock = Callable[[], int]
# Below this many entries the due-time heap is never compacted: stale entries are cheap until then.
_COMPACT_FLOOR = 10_000


class Persistence(Protocol):
    """Where committed changes go; the in-memory engine has none."""

    def commit(self, runtime: RuntimeBase) -> None: ...


class DeployedDecision:
    """A decision of a deployed DRG, with the keys and version Zeebe gives it."""

    __slots__ = ("decision_id", "drg", "drg_key", "key", "name", "tenant_id", "version")

    def __init__(
        self, *, key: int, decision_id: str, name: str, version: int, drg: DeployedDrg, tenant_id: str
    ) -> None:
        self.key, self.decision_id, self.name, self.version = key, decision_id, name, version
        self.drg, self.drg_key, self.tenant_id = drg, drg.key, tenant_id


class DeployedDrg:
    __slots__ = ("checksum", "drg", "key", "resource", "resource_name", "tenant_id", "version")

    def __init__(
        self,
        *,
        key: int,
        drg: DecisionRequirements,
        version: int,
        resource_name: str,
        checksum: str,
        resource: bytes,
        tenant_id: str,
    ) -> None:
        self.key, self.drg, self.version, self.resource_name = key, drg, version, resource_name
        self.checksum, self.resource, self.tenant_id = checksum, resource, tenant_id


class RuntimeBase:
    """State shared by the runtime's parts; guarded by ``lock`` (one command at a time, as on a partition)."""

    def __init__(self, *, clock: Clock, records_limit: int = 100_000) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.keys = KeyGenerator()
        self.records = RecordLog(limit=records_limit, clock=clock)
        self.definitions: dict[int, Definition] = {}
        self.latest: dict[tuple[str, str], list[Definition]] = {}  # (tenant, process id) -> versions
        self.drgs: dict[int, DeployedDrg] = {}
        self.decisions: dict[int, DeployedDecision] = {}
        self.latest_decisions: dict[tuple[str, str], list[DeployedDecision]] = {}
        self.instances: dict[int, ElementInstance] = {}  # every live element instance, by key
        self.jobs: dict[int, Job] = {}
        self.activatable: dict[str, dict[int, Job]] = {}  # job type -> activatable jobs in order
        self.waits: dict[int, Wait] = {}
        self.subscriptions: dict[tuple[str, str, str], dict[int, Wait]] = {}  # (tenant, name, key)
        self.signal_waits: dict[tuple[str, str], dict[int, Wait]] = {}  # (tenant, signal name)
        self.messages: dict[int, Message] = {}
        self.buffered: dict[tuple[str, str, str], dict[int, Message]] = {}
        self.message_ids: dict[tuple[str, str, str], int] = {}  # (tenant, name, message id) -> message key
        self.incidents: dict[int, Incident] = {}
        self.message_starts: dict[tuple[str, str], list[Element]] = {}  # (tenant, name) -> start events
        # (tenant, process id, correlation key) of the live instances a keyed message started.
        self.keyed_starts: set[tuple[str, str, str]] = set()
        self.result_waiters: dict[int, list[Callable[[ElementInstance | None], None]]] = {}
        self._heap: list[tuple[int, int, str, int]] = []
        self._seq = itertools.count()
        self.due_changed = threading.Condition(self.lock)
        self.jobs_changed: dict[str, threading.Condition] = {}
        self.persistence: Persistence | None = None
        self.dirty: set[int] = set()  # process instance keys changed by the current command
        self.dirty_messages: set[int] = set()
        self.dirty_definitions = False
        # The highest version ever given, by "kind|tenant|id": deleted versions are never given again.
        self.max_versions: dict[str, int] = {}
        self.committed_key = 0  # the last key the store holds

    # -- keys, time and due items ------------------------------------------------------------------

    def next_version(self, kind: str, tenant: str, resource_id: str) -> int:
        """The version a new deployment of that process, DRG or decision gets: one more than any before."""
        name = f"{kind}|{tenant}|{resource_id}"
        version = self.max_versions.get(name, 0) + 1
        self.max_versions[name] = version
        return version

    def now(self) -> int:
        return self.clock()

    def schedule(self, due: int, kind: str, key: int) -> None:
        """Call the handler of ``kind`` for ``key`` at ``due`` (epoch ms); stale entries are skipped then."""
        heapq.heappush(self._heap, (due, next(self._seq), kind, key))
        if self._heap[0][3] == key:
            self.due_changed.notify_all()
        # A completed job leaves its timeout behind until it is due; with long timeouts and many jobs those
        # stale entries would pile up, so the heap is rebuilt from what is live when they far outnumber it.
        if len(self._heap) > _COMPACT_FLOOR and len(self._heap) > 4 * self._live_due_items():
            self._heap = [entry for entry in self._heap if self._is_live(entry)]
            heapq.heapify(self._heap)

    def _live_due_items(self) -> int:
        return len(self.jobs) + len(self.waits) + len(self.messages)

    def _is_live(self, entry: tuple[int, int, str, int]) -> bool:
        due, _, kind, key = entry
        if kind == "job_timeout":
            job = self.jobs.get(key)
            return job is not None and job.deadline == due
        if kind == "job_backoff":
            job = self.jobs.get(key)
            return job is not None and job.backoff_until == due
        if kind == "timer":
            wait = self.waits.get(key)
            return wait is not None and wait.due == due
        message = self.messages.get(key)
        return message is not None and message.expires == due

    def next_due(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: int) -> Iterable[tuple[str, int, int]]:
        while self._heap and self._heap[0][0] <= now:
            due, _, kind, key = heapq.heappop(self._heap)
            yield kind, key, due

    def live_versions(self, tenant_id: str, process_id: str) -> list[Definition]:
        """The deployed versions of a process that are not deleted, oldest first."""
        return [v for v in self.latest.get((tenant_id, process_id), []) if v.key in self.definitions]

    def condition_for(self, job_type: str) -> threading.Condition:
        cond = self.jobs_changed.get(job_type)
        if cond is None:
            cond = self.jobs_changed[job_type] = threading.Condition(self.lock)
        return cond

    # -- variables ---------------------------------------------------------------------------------

    def visible(self, instance: ElementInstance) -> ChainMap[str, Any]:
        """The variables an expression of ``instance`` sees: its own, then each enclosing scope's.

        Every expression is evaluated with what this returns, so this is also where FEEL's ``now()`` is
        pointed at the engine's clock (a context variable: cheap, and right in whichever thread runs).
        """
        feel.use_clock(self._feel_now)
        return ChainMap(*(scope.variables for scope in instance.scopes()))

    def _feel_now(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.clock() / 1000, datetime.UTC)

    @staticmethod
    def merged_variables(instance: ElementInstance) -> dict[str, Any]:
        """What :meth:`visible` sees, as one dict; merging from the root down is faster than a ChainMap copy."""
        scopes = list(instance.scopes())
        merged: dict[str, Any] = {}
        for scope in reversed(scopes):
            merged.update(scope.variables)
        return merged

    def set_local(self, instance: ElementInstance, variables: dict[str, Any]) -> None:
        for name, value in variables.items():
            instance.variables[name] = value
            self.variable_record(instance, instance, name, value)

    def propagate(self, start: ElementInstance, variables: dict[str, Any]) -> None:
        """Set each variable on the nearest scope from ``start`` up that has it, else on the root."""
        for name, value in variables.items():
            target = next((s for s in start.scopes() if name in s.variables), None)
            if target is None:
                target = start.root()
            target.variables[name] = value
            self.variable_record(start, target, name, value)

    def variable_record(self, origin: ElementInstance, scope: ElementInstance, name: str, value: Any) -> None:
        if self.records.enabled:
            self.records.append(
                "VARIABLE",
                "CREATED",
                scope.key,
                {
                    "name": name,
                    "value": json.dumps(value),
                    "scopeKey": scope.key,
                    "processInstanceKey": origin.process_instance_key,
                    "processDefinitionKey": origin.definition.key,
                    "bpmnProcessId": origin.definition.bpmn_process_id,
                    "tenantId": origin.tenant_id,
                },
            )

    # -- what the parts provide ------------------------------------------------------------------------
    # Declared here, at the root of every part, so that whichever part implements one comes before these
    # in the method resolution order (a stub on a part would shadow a part listed after it).

    def create_job(self, instance: ElementInstance, job_type: str, retries: int) -> Job:
        raise NotImplementedError

    def cancel_job(self, job: Job) -> None:
        raise NotImplementedError

    def make_activatable(self, job: Job) -> None:
        raise NotImplementedError

    def open_wait(self, instance: ElementInstance, element: Element) -> None:
        raise NotImplementedError

    def close_waits(self, instance: ElementInstance) -> None:
        raise NotImplementedError

    def throw_error(self, origin: ElementInstance, code: str, message: str, variables: dict[str, Any]) -> bool:
        raise NotImplementedError

    def finish_instance(self, root: ElementInstance) -> None:
        raise NotImplementedError

    def latest_definition(self, tenant_id: str, start: Element) -> Definition | None:
        raise NotImplementedError

    def start_at_event(
        self, definition: Definition, start: Element, variables: dict[str, Any], correlation_key: str | None
    ) -> None:
        raise NotImplementedError

    def evaluate_called_decision(self, decision_id: str, tenant_id: str, variables: Any) -> Any:
        raise NotImplementedError

    # -- records -----------------------------------------------------------------------------------

    def element_record(self, intent: str, instance: ElementInstance) -> None:
        if not self.records.enabled:
            return
        element = instance.element
        parent = instance.parent
        self.records.append(
            "PROCESS_INSTANCE",
            intent,
            instance.key,
            {
                # The enum members are strings already: no .value on the hot path.
                "bpmnElementType": element.kind,
                "elementId": element.id,
                "bpmnProcessId": instance.definition.bpmn_process_id,
                "version": instance.definition.version,
                "processDefinitionKey": instance.definition.key,
                "processInstanceKey": instance.process_instance_key,
                "flowScopeKey": parent.key if parent is not None else -1,
                "bpmnEventType": element.event_type,
                "parentProcessInstanceKey": -1,
                "parentElementInstanceKey": -1,
                "tenantId": instance.tenant_id,
            },
        )

    def job_record(self, intent: str, job: Job) -> None:
        if self.records.enabled:
            self.records.append("JOB", intent, job.key, self.job_value(job))

    def job_value(self, job: Job) -> dict[str, Any]:
        instance = job.instance
        return {
            "type": job.type,
            "worker": job.worker,
            "retries": job.retries,
            "deadline": job.deadline,
            "errorMessage": job.error_message,
            "errorCode": job.error_code,
            "retryBackoff": job.retry_backoff,
            "customHeaders": json.loads(job.custom_headers),
            "elementId": instance.element.id,
            "elementInstanceKey": instance.key,
            "processInstanceKey": instance.process_instance_key,
            "bpmnProcessId": instance.definition.bpmn_process_id,
            "processDefinitionVersion": instance.definition.version,
            "processDefinitionKey": instance.definition.key,
            "tenantId": instance.tenant_id,
        }

    def incident_record(self, intent: str, incident: Incident) -> None:
        if not self.records.enabled:
            return
        instance = incident.instance
        self.records.append(
            "INCIDENT",
            intent,
            incident.key,
            {
                "errorType": incident.error_type,
                "errorMessage": incident.error_message,
                "bpmnProcessId": instance.definition.bpmn_process_id,
                "processDefinitionKey": instance.definition.key,
                "processInstanceKey": instance.process_instance_key,
                "elementId": instance.element.id,
                "elementInstanceKey": instance.key,
                "jobKey": incident.job.key if incident.job is not None else -1,
                "variableScopeKey": instance.key,
                "tenantId": instance.tenant_id,
            },
        )

    def touch(self, instance: ElementInstance) -> None:
        """Mark the instance's process instance as changed by this command (for persistence)."""
        if self.persistence is not None:
            self.dirty.add(instance.process_instance_key)

    def commit(self) -> None:
        """Write this command's changes before it is answered; FEEL's clock is the wall clock again."""
        feel.use_wall_clock()
        # Keys handed out with nothing else changed (a signal nobody waits for) are kept too, so that a
        # restarted engine never hands them out again.
        if self.persistence is not None and (
            self.dirty or self.dirty_messages or self.dirty_definitions or self.keys.last != self.committed_key
        ):
            self.persistence.commit(self)
            self.committed_key = self.keys.last
        self.dirty.clear()
        self.dirty_messages.clear()
        self.dirty_definitions = False


def discard(index: dict[Any, dict[int, Any]], group: Any, key: int) -> None:
    """Take ``key`` out of its ``group`` of ``index``, and the group once it is empty."""
    members = index.get(group)
    if members is not None:
        members.pop(key, None)
        if not members:
            del index[group]
