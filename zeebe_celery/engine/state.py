"""The engine's state: deployed definitions, element instances, jobs, messages, subscriptions, timers and
incidents. Plain objects with no behaviour beyond their own invariants; the runtime changes them."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from zeebe_celery.engine.model import Element, Process

DEFAULT_TENANT = "<default>"


class KeyGenerator:
    """Keys as Zeebe encodes them: the partition id in the top bits, then a counter (partition 1 only)."""

    PARTITION_BITS = 51

    def __init__(self, partition: int = 1, start: int = 0) -> None:
        self.base = partition << self.PARTITION_BITS
        self.last = max(start, self.base)

    def next(self) -> int:
        self.last += 1
        return self.last


@dataclass(slots=True, eq=False, repr=False)
class Definition:
    def __repr__(self) -> str:
        return f"Definition({self.bpmn_process_id!r} v{self.version}, key={self.key})"

    """A deployed version of a process."""

    key: int
    bpmn_process_id: str
    version: int
    resource_name: str
    checksum: str
    tenant_id: str
    process: Process
    resource: bytes
    deployment_key: int
    running: int = 0


class ElementState(enum.StrEnum):
    ACTIVATING = "ACTIVATING"
    ACTIVATED = "ACTIVATED"
    COMPLETING = "COMPLETING"
    TERMINATING = "TERMINATING"


@dataclass(slots=True, eq=False, repr=False)
class ElementInstance:
    def __repr__(self) -> str:
        return f"ElementInstance({self.element.id!r}, key={self.key}, {self.state.value})"

    """One activation of an element; the process instance is the root one. Each is a variable scope."""

    key: int
    element: Element
    parent: ElementInstance | None
    definition: Definition
    state: ElementState = ElementState.ACTIVATING
    variables: dict[str, Any] = field(default_factory=dict)
    children: dict[int, ElementInstance] = field(default_factory=dict)
    job: Job | None = None
    # Open waits of this instance: message subscriptions, timers, signal subscriptions (by key).
    waits: list[int] = field(default_factory=list)
    # Sequence flows taken into each joining parallel gateway of this scope, not yet consumed.
    joins: dict[str, Counter[str]] = field(default_factory=dict)
    incident: Incident | None = None
    # For the root: the process instance key; for the rest, the root's.
    process_instance_key: int = 0
    # For a root started by a message with a correlation key: that key (one such instance at a time).
    start_key: str | None = None
    # For a root started by a call activity: that call activity's instance in the parent process.
    caller: ElementInstance | None = None
    # For a call activity: the process instance it started.
    called: ElementInstance | None = None
    # For a native user task: the task.
    user_task: UserTask | None = None
    # For the root: the tags and business id it was created with.
    tags: tuple[str, ...] = ()
    business_id: str = ""
    # For the root: the elements after whose completion it is terminated (its runtime instructions).
    terminate_after: tuple[str, ...] = ()
    # For a process instance: the elements it starts at (start instructions, a message start event);
    # none: its none start event.
    start_at: tuple[str, ...] = ()
    # Execution listeners: the next one of the running event type, and the variables the paused
    # activation resumes with.
    listener_index: int = 0
    listener_variables: dict[str, Any] | None = None
    # An ad-hoc sub-process whose completion condition was fulfilled (it completes once nothing runs in it).
    fulfilled: bool = False
    # A scope: the ids of its completed activities that have a compensation handler, in completion order.
    compensable: list[str] = field(default_factory=list)
    # A compensation handler: the key of the throw event that waits for it.
    compensating: int = 0

    @property
    def tenant_id(self) -> str:
        return self.definition.tenant_id

    def scopes(self) -> Iterator[ElementInstance]:
        """This instance and its ancestors, nearest first."""
        scope: ElementInstance | None = self
        while scope is not None:
            yield scope
            scope = scope.parent

    def root(self) -> ElementInstance:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def pending_joins(self) -> int:
        return sum(sum(c.values()) for c in self.joins.values())


class JobKind(enum.StrEnum):
    """What made a job (``ActivatedJob.kind``)."""

    BPMN_ELEMENT = "BPMN_ELEMENT"
    EXECUTION_LISTENER = "EXECUTION_LISTENER"
    TASK_LISTENER = "TASK_LISTENER"
    AD_HOC_SUB_PROCESS = "AD_HOC_SUB_PROCESS"


class JobState(enum.StrEnum):
    ACTIVATABLE = "ACTIVATABLE"
    ACTIVATED = "ACTIVATED"
    BACKOFF = "BACKOFF"
    FAILED = "FAILED"
    ERROR_THROWN = "ERROR_THROWN"


@dataclass(slots=True, eq=False, repr=False)
class Job:
    def __repr__(self) -> str:
        return f"Job({self.type!r}, key={self.key}, {self.state.value}, retries={self.retries})"

    key: int
    type: str
    instance: ElementInstance
    retries: int
    custom_headers: str
    state: JobState = JobState.ACTIVATABLE
    deadline: int = -1
    worker: str = ""
    backoff_until: int = 0
    retry_backoff: int = 0
    error_message: str = ""
    error_code: str = ""
    # A JobKind: BPMN_ELEMENT, EXECUTION_LISTENER or TASK_LISTENER (with its listener event type), AD_HOC_SUB_PROCESS.
    kind: str = "BPMN_ELEMENT"
    listener_event_type: str = "UNSPECIFIED"
    # When it last joined its type's pool (time.monotonic()); not stored. A poll sees it a gateway hop later.
    pooled_at: float = 0.0

    @property
    def tenant_id(self) -> str:
        return self.instance.tenant_id


class JobPool(dict[int, Job]):
    """The activatable jobs of one type, handed out in key order, as Zeebe's state iterates them.

    Jobs mostly arrive in key order (a new job has the highest key), which a dict keeps for free. One that
    comes back (a timeout, a failure with retries left, a rolled-back hand-out) arrives out of order; the
    pool then sorts itself once, when it is next read through :meth:`in_order`.
    """

    __slots__ = ("_sorted",)

    def __init__(self) -> None:
        super().__init__()
        self._sorted = True

    def __setitem__(self, key: int, job: Job) -> None:
        if self._sorted and self and key < next(reversed(self)):
            self._sorted = False
        super().__setitem__(key, job)

    def in_order(self) -> Iterator[Job]:
        """The jobs by key. Sorting changes no job, only the order the dict holds them in."""
        if not self._sorted:
            ordered = sorted(self.items())
            self.clear()
            self.update(ordered)  # dict.update: no __setitem__, so the flag is only reset below
            self._sorted = True
        return iter(self.values())


# The attributes of a user task, named as Zeebe's USER_TASK records and ``changedAttributes`` name them.
USER_TASK_ATTRIBUTES = ("assignee", "candidateGroupsList", "candidateUsersList", "dueDate", "followUpDate", "priority")


@dataclass(frozen=True, slots=True)
class Transition:
    """A user task operation under way (Zeebe's intermediate state): the task as it will be once the
    operation is done, what it changes, and how many of its listeners have completed."""

    event_type: str  # creating, assigning, updating, completing, canceling
    intent: str  # the record that starts it: CREATING, ASSIGNING, UPDATING, COMPLETING, CANCELING
    action: str
    values: dict[str, Any]
    changed: tuple[str, ...] = ()
    variables: dict[str, Any] = field(default_factory=dict)
    listeners_done: int = 0
    # An update of the task's variables (SetVariables on its scope): whether they are set there (local).
    variables_local: bool = True


@dataclass(frozen=True, slots=True)
class JobResult:
    """What a CompleteJob carries besides variables (8.8+): a task listener's denial or corrections
    (``corrections`` by USER_TASK_ATTRIBUTES name), or an ad-hoc sub-process's instructions."""

    type: str = ""  # "userTask", "adHocSubProcess", or "" (an older client's user task result)
    denied: bool = False
    denied_reason: str = ""
    corrections: dict[str, Any] = field(default_factory=dict)
    activate_elements: tuple[tuple[str, dict[str, Any]], ...] = ()
    completion_condition_fulfilled: bool = False
    cancel_remaining_instances: bool = False


@dataclass(slots=True, eq=False, repr=False)
class UserTask:
    """A native user task: waits for people (through the API) until it is completed or its element ends.

    ``values`` holds the USER_TASK_ATTRIBUTES; it is replaced whole on every change, never mutated.
    """

    def __repr__(self) -> str:
        return f"UserTask(key={self.key}, {self.state}, element={self.instance.element.id!r})"

    key: int
    instance: ElementInstance
    values: dict[str, Any]
    external_form_reference: str = ""
    form_key: int = -1  # the linked deployed form's key, if any
    creation_timestamp: int = 0
    # CREATING, CREATED, ASSIGNING, UPDATING, COMPLETING, CANCELING (Zeebe's lifecycle states).
    state: str = "CREATING"
    transition: Transition | None = None
    # The assignee of the model, given once the task is created (an assignment of its own).
    initial_assignee: str = ""

    @property
    def tenant_id(self) -> str:
        return self.instance.tenant_id


@dataclass(slots=True, eq=False)
class Message:
    key: int
    name: str
    correlation_key: str
    expires: int
    message_id: str
    variables: dict[str, Any]
    tenant_id: str
    # Process instances (and, for start events, process ids) it correlated to: at most once each.
    correlated: set[int | str] = field(default_factory=set)


class WaitKind(enum.StrEnum):
    MESSAGE = "MESSAGE"
    TIMER = "TIMER"
    SIGNAL = "SIGNAL"
    CONDITION = "CONDITION"


@dataclass(slots=True, eq=False, repr=False)
class Wait:
    def __repr__(self) -> str:
        return f"Wait({self.kind.value}, {self.element.id!r}, key={self.key})"

    """An open message subscription, timer or signal subscription of an element instance.

    ``element`` is the catch event (or receive task) itself, or a boundary event of ``instance``.
    """

    key: int
    kind: WaitKind
    instance: ElementInstance
    element: Element
    name: str = ""
    correlation_key: str = ""
    due: int = 0
    repetitions: int = 0  # timer cycles left; -1 for unbounded
    interval_ms: int = 0
    cycle: str = ""  # a timer's time cycle (ISO or cron), which gives its next due time


@dataclass(slots=True, eq=False, repr=False)
class StartTimer:
    """The timer of a timer start event of a process's latest version: when due, it creates an instance."""

    def __repr__(self) -> str:
        return f"StartTimer({self.element.id!r} of {self.definition!r}, key={self.key}, due={self.due})"

    key: int
    definition: Definition
    element: Element
    due: int
    repetitions: int = 0  # cycles left; -1 for unbounded; 0 for a date or duration (fires once)
    cycle: str = ""
    interval_ms: int = 0


@dataclass(slots=True, eq=False, repr=False)
class Incident:
    def __repr__(self) -> str:
        return f"Incident({self.error_type}, key={self.key}, element={self.instance.element.id!r})"

    key: int
    error_type: str
    error_message: str
    instance: ElementInstance
    job: Job | None = None
    # What resolving retries: the element's activation, its completion, or nothing (a job incident).
    retry: str = "job"
    retry_variables: dict[str, Any] | None = None
