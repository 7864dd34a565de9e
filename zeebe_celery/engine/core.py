"""The runtime's shared state and the small helpers every part of it uses: keys, records, the clock, the
due-time heap and variable scopes. The parts (instances, jobs, messages, commands) are mixins over it, as
fakeredis groups its commands over one shared state."""

from __future__ import annotations

import contextlib
import datetime
import functools
import heapq
import itertools
import logging
import threading
from collections import ChainMap
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from zeebe_celery.engine import feel
from zeebe_celery.engine.dmn import DecisionRequirements
from zeebe_celery.engine.errors import EngineError, InternalError
from zeebe_celery.engine.exported import element_value, incident_value, job_value, wait_value
from zeebe_celery.engine.forms import DeployedForm
from zeebe_celery.engine.model import Element
from zeebe_celery.engine.records import RecordLog, Value
from zeebe_celery.engine.state import (
    Definition,
    ElementInstance,
    Incident,
    Job,
    JobPool,
    KeyGenerator,
    Message,
    StartTimer,
    UserTask,
    Wait,
)
from zeebe_celery.engine.transaction import NO_TRANSACTION, Transaction

Clock = Callable[[], int]
R = TypeVar("R")
T = TypeVar("T")
P = ParamSpec("P")
Base = TypeVar("Base", bound="RuntimeBase")
logger = logging.getLogger(__name__)
# Below this many entries the due-time heap is never compacted: stale entries are cheap until then.
_COMPACT_FLOOR = 10_000


class Persistence(Protocol):
    """Where committed changes go; the in-memory engine has none."""

    def commit(self, runtime: RuntimeBase, tx: Transaction) -> None: ...


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
        self.feel_limits = feel.FeelLimits()
        self.definitions: dict[int, Definition] = {}
        self.latest: dict[tuple[str, str], list[Definition]] = {}  # (tenant, process id) -> versions
        self.drgs: dict[int, DeployedDrg] = {}
        self.decisions: dict[int, DeployedDecision] = {}
        self.latest_decisions: dict[tuple[str, str], list[DeployedDecision]] = {}
        self.instances: dict[int, ElementInstance] = {}  # every live element instance, by key
        self.jobs: dict[int, Job] = {}
        self.activatable: dict[str, JobPool] = {}  # job type -> activatable jobs in order
        self.waits: dict[int, Wait] = {}
        self.subscriptions: dict[tuple[str, str, str], dict[int, Wait]] = {}  # (tenant, name, key)
        self.signal_waits: dict[tuple[str, str], dict[int, Wait]] = {}  # (tenant, signal name)
        self.messages: dict[int, Message] = {}
        self.buffered: dict[tuple[str, str, str], dict[int, Message]] = {}
        self.message_ids: dict[tuple[str, str, str], int] = {}  # (tenant, name, message id) -> message key
        self.incidents: dict[int, Incident] = {}
        self.user_tasks: dict[int, UserTask] = {}  # native user tasks, by user task key
        # Who waits for the outcome of a user task operation (an API call), by user task key; not persisted.
        self.user_task_waiters: dict[int, Callable[[EngineError | None], None]] = {}
        # (tenant, process id, business id) -> the active root instance that holds it.
        self.business_ids: dict[tuple[str, str, str], int] = {}
        self.conditional_waits: dict[int, Wait] = {}  # open conditional subscriptions, by key
        # Variables changed by the command since conditions were last evaluated: (scope, name, "create" or
        # "update"). A scratch list, not state: only kept while conditional subscriptions are open, emptied
        # as they are evaluated and when the command is rolled back.
        self.variable_changes: list[tuple[ElementInstance, str, str, int]] = []  # ..., the last key then
        self.forms: dict[int, DeployedForm] = {}
        self.latest_forms: dict[tuple[str, str], list[DeployedForm]] = {}  # (tenant, form id) -> versions
        self.start_timers: dict[int, StartTimer] = {}  # timers of the latest versions' timer start events
        self.message_starts: dict[tuple[str, str], list[Element]] = {}  # (tenant, name) -> start events
        # (tenant, process id, correlation key) of the live instances a keyed message started.
        self.keyed_starts: set[tuple[str, str, str]] = set()
        self.result_waiters: dict[int, list[Callable[[ElementInstance | None], None]]] = {}
        self._heap: list[tuple[int, int, str, int]] = []
        self._seq = itertools.count()
        self.due_changed = threading.Condition(self.lock)
        self.jobs_changed: dict[str, threading.Condition] = {}
        self.persistence: Persistence | None = None
        # The command being processed; between commands, one that refuses every change.
        self.tx: Transaction = NO_TRANSACTION
        # The highest version ever given, by "kind|tenant|id": deleted versions are never given again.
        self.max_versions: dict[str, int] = {}
        self.committed_key = 0  # the last key the store holds

    # -- keys, time and due items ------------------------------------------------------------------

    def next_version(self, kind: str, tenant: str, resource_id: str) -> int:
        """The version a new deployment of that process, DRG or decision gets: one more than any before."""
        name = f"{kind}|{tenant}|{resource_id}"
        version = self.max_versions.get(name, 0) + 1
        self.tx.put(self.max_versions, name, version)
        return version

    def now(self) -> int:
        return self.clock()

    def schedule(self, due: int, kind: str, key: int) -> None:
        """Call the handler of ``kind`` for ``key`` at ``due`` (epoch ms); stale entries are skipped then."""
        heapq.heappush(self._heap, (due, next(self._seq), kind, key))
        if self._heap[0][3] == key:
            self.due_changed.notify_all()

    def _compact_heap(self) -> None:
        # A completed job leaves its timeout behind until it is due; with long timeouts and many jobs those
        # stale entries would pile up, so the heap is rebuilt from what is live when they far outnumber it.
        # Only between commands: within one, an entry may look stale to a change that is rolled back.
        if len(self._heap) > _COMPACT_FLOOR and len(self._heap) > 4 * self._live_due_items():
            self._heap = [entry for entry in self._heap if self._is_live(entry)]
            heapq.heapify(self._heap)

    def _live_due_items(self) -> int:
        return len(self.jobs) + len(self.waits) + len(self.messages) + len(self.start_timers)

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
        if kind == "start_timer":
            timer = self.start_timers.get(key)
            return timer is not None and timer.due == due
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
        feel.use_limits(self.feel_limits)
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

    # -- the transaction boundary ----------------------------------------------------------------------

    def write(self, value_type: str, intent: str, key: int, value: Value) -> None:
        """A record of the command being processed, exported once it commits."""
        self.tx.records.append((value_type, intent, key, value))

    def element_record(self, intent: str, instance: ElementInstance) -> None:
        if self.records.enabled:
            self.tx.records.append(
                (
                    "PROCESS_INSTANCE",
                    intent,
                    instance.key,
                    (element_value, instance, instance.element, instance.definition),
                )
            )

    def job_record(self, intent: str, job: Job) -> None:
        if self.records.enabled:
            self.write("JOB", intent, job.key, job_value(job))

    def incident_record(self, intent: str, incident: Incident) -> None:
        if self.records.enabled:
            self.write("INCIDENT", intent, incident.key, incident_value(incident))

    def wait_record(self, value_type: str, intent: str, wait: Wait) -> None:
        if self.records.enabled:
            self.write(value_type, intent, wait.key, wait_value(wait))

    def settle(self) -> None:
        """Finish what the command set going (the runtime runs the interpreter's agenda) before it commits."""

    def begin(self) -> Transaction:
        tx = self.tx = Transaction(self.keys.last)
        return tx

    def commit(self, tx: Transaction) -> None:
        """Persist the command's changes, then export its records and do what waited for the commit.

        Raises what the store raises; the caller then rolls the command back.
        """
        # Keys handed out with nothing else changed (a signal nobody waits for) are kept too, so that a
        # restarted engine never hands them out again.
        if self.persistence is not None and (
            tx.roots or tx.messages or tx.definitions or tx.start_timers or self.keys.last != self.committed_key
        ):
            self.persistence.commit(self, tx)
            self.committed_key = self.keys.last
        self.tx = NO_TRANSACTION
        feel.use_wall_clock()
        if tx.records:
            self.records.extend(tx.records)
        self._compact_heap()
        for action in tx.after:
            action()

    @contextlib.contextmanager
    def recovering(self) -> Iterator[None]:
        """Rebuild state from the store: applied like a command's changes, but neither persisted nor
        exported (they are the store's already)."""
        with self.lock:
            self.begin()
            try:
                yield
            finally:
                self.tx = NO_TRANSACTION

    def rollback(self, tx: Transaction) -> None:
        """Put the state back as it was before the command, and forget what it wrote."""
        self.variable_changes.clear()
        tx.rollback()
        self.keys.last = tx.first_key
        self.tx = NO_TRANSACTION
        feel.use_wall_clock()


def by_key(members: dict[int, T]) -> list[T]:
    """The values in key order, which is creation order: iteration that decides an outcome uses this, not
    the dict's order (a rolled-back removal puts an entry back at the end)."""
    return [members[key] for key in sorted(members)]


def command(method: Callable[Concatenate[Base, P], R]) -> Callable[Concatenate[Base, P], R]:
    """Run ``method`` as one command: one transaction, committed (and persisted) before it returns, or
    rolled back whole if anything raises, as Zeebe rejects a command whose processing fails.

    A rejection (an :class:`EngineError`) goes to the caller as it is; anything else is the engine's own
    bug: logged with its traceback and rejected as INTERNAL. A command run by another is part of it.
    """

    @functools.wraps(method)
    def run(self: Base, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if self.tx is not NO_TRANSACTION:
            return method(self, *args, **kwargs)
        with self.lock:
            tx = self.begin()
            try:
                result = method(self, *args, **kwargs)
                self.settle()
                self.commit(tx)
            except EngineError:
                self.rollback(tx)
                raise
            except Exception as exc:
                self.rollback(tx)
                logger.exception("Processing %s failed; the command was rolled back", method.__name__)
                raise InternalError(
                    f"Expected to process {method.__name__}, but it failed with {type(exc).__name__}: {exc}"
                ) from exc
            return result

    return run
