"""The executable model of a BPMN process: what the parser builds and the interpreter walks.

Every element kind the engine runs has a ``kind`` here; anything else is refused when it is deployed
(see :mod:`zeebe_celery.engine.bpmn`). Expressions are kept as :class:`Expr` values, so a static value and
a FEEL expression are used the same way.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zeebe_celery.engine import feel


class Kind(enum.StrEnum):
    """Element kinds, named as Zeebe names them in its records (``bpmnElementType``)."""

    PROCESS = "PROCESS"
    SUB_PROCESS = "SUB_PROCESS"
    CALL_ACTIVITY = "CALL_ACTIVITY"
    MULTI_INSTANCE_BODY = "MULTI_INSTANCE_BODY"
    EVENT_SUB_PROCESS = "EVENT_SUB_PROCESS"
    AD_HOC_SUB_PROCESS = "AD_HOC_SUB_PROCESS"
    AD_HOC_SUB_PROCESS_INNER_INSTANCE = "AD_HOC_SUB_PROCESS_INNER_INSTANCE"
    START_EVENT = "START_EVENT"
    END_EVENT = "END_EVENT"
    INTERMEDIATE_CATCH_EVENT = "INTERMEDIATE_CATCH_EVENT"
    INTERMEDIATE_THROW_EVENT = "INTERMEDIATE_THROW_EVENT"
    BOUNDARY_EVENT = "BOUNDARY_EVENT"
    SERVICE_TASK = "SERVICE_TASK"
    SEND_TASK = "SEND_TASK"
    USER_TASK = "USER_TASK"
    SCRIPT_TASK = "SCRIPT_TASK"
    BUSINESS_RULE_TASK = "BUSINESS_RULE_TASK"
    RECEIVE_TASK = "RECEIVE_TASK"
    MANUAL_TASK = "MANUAL_TASK"
    TASK = "TASK"
    EXCLUSIVE_GATEWAY = "EXCLUSIVE_GATEWAY"
    PARALLEL_GATEWAY = "PARALLEL_GATEWAY"
    INCLUSIVE_GATEWAY = "INCLUSIVE_GATEWAY"
    EVENT_BASED_GATEWAY = "EVENT_BASED_GATEWAY"
    SEQUENCE_FLOW = "SEQUENCE_FLOW"


class EventType(enum.StrEnum):
    """The event definition of an event element (``bpmnEventType`` in Zeebe's records)."""

    NONE = "NONE"
    MESSAGE = "MESSAGE"
    TIMER = "TIMER"
    ERROR = "ERROR"
    SIGNAL = "SIGNAL"
    TERMINATE = "TERMINATE"
    CONDITIONAL = "CONDITIONAL"
    LINK = "LINK"
    ESCALATION = "ESCALATION"
    COMPENSATION = "COMPENSATION"


@dataclass(frozen=True, slots=True)
class Expr:
    """A static value, or a FEEL expression when the attribute started with ``=``."""

    source: str
    compiled: feel.Expression | None = None

    @classmethod
    def parse(cls, text: str) -> Expr:
        """Raises feel.FeelSyntaxError for an expression outside the supported subset."""
        stripped = text.strip()
        if stripped.startswith("="):
            return cls(text, feel.compile_expression(stripped[1:]))
        return cls(text)

    @property
    def is_static(self) -> bool:
        return self.compiled is None

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        """The value; raises feel.FeelEvaluationError."""
        if self.compiled is None:
            return self.source
        return self.compiled.evaluate(variables)


@dataclass(frozen=True, slots=True)
class Mapping_:
    """One ``zeebe:input`` or ``zeebe:output``: ``target`` gets the value of ``source``."""

    source: Expr
    target: str


@dataclass(frozen=True, slots=True)
class TaskDefinition:
    type: Expr
    retries: Expr


@dataclass(frozen=True, slots=True)
class TaskListener:
    """A ``zeebe:taskListener``: a job of ``type`` created when its user task goes through ``event_type``
    (creating, assigning, updating, completing or canceling)."""

    event_type: str
    type: Expr
    retries: Expr


@dataclass(frozen=True, slots=True)
class UserTaskDef:
    """A native user task (``zeebe:userTask``): what it is assigned to, when it is due, its priority and form
    link, each a static value or a FEEL expression, and its task listeners in the model's order."""

    assignee: Expr | None = None
    candidate_groups: Expr | None = None
    candidate_users: Expr | None = None
    due_date: Expr | None = None
    follow_up_date: Expr | None = None
    priority: Expr | None = None
    external_reference: Expr | None = None
    form_id: Expr | None = None  # a linked form: the latest deployed form of that id
    listeners: tuple[TaskListener, ...] = ()

    def listeners_of(self, event_type: str) -> tuple[TaskListener, ...]:
        return tuple(listener for listener in self.listeners if listener.event_type == event_type)


@dataclass(frozen=True, slots=True)
class MessageRef:
    name: Expr
    correlation_key: Expr | None


@dataclass(frozen=True, slots=True)
class TimerDef:
    """Exactly one of the three is set, as in BPMN."""

    duration: Expr | None = None
    date: Expr | None = None
    cycle: Expr | None = None


@dataclass(frozen=True, slots=True)
class ConditionDef:
    """A conditional event's FEEL condition, and its ``zeebe:conditionalFilter``: the variable names and
    events (create, update) whose changes make it evaluated again (empty: any)."""

    condition: Expr
    variable_names: tuple[str, ...] = ()
    variable_events: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CalledElement:
    """A call activity's ``zeebe:calledElement``: which process it starts, and which variables cross."""

    process_id: Expr
    binding: str = "latest"  # latest, deployment or versionTag
    version_tag: str | None = None
    propagate_child: bool = True  # all of the child's variables come back (unless output mappings say which)
    propagate_parent: bool = True  # the child starts with every variable the call activity sees


@dataclass(frozen=True, slots=True)
class LoopCharacteristics:
    """A multi-instance activity's ``zeebe:loopCharacteristics`` and completion condition."""

    sequential: bool
    input_collection: Expr
    input_element: str | None = None
    output_collection: str | None = None
    output_element: Expr | None = None
    completion_condition: Expr | None = None


@dataclass(frozen=True, slots=True)
class AdHoc:
    """An ad-hoc sub-process's ``zeebe:adHoc``, completion condition and ``cancelRemainingInstances``."""

    active_elements: Expr | None = None
    completion_condition: Expr | None = None
    cancel_remaining: bool = True
    output_collection: str | None = None
    output_element: Expr | None = None


@dataclass(frozen=True, slots=True)
class Listener:
    """A ``zeebe:executionListener``: a job of ``type`` run when the element starts or ends."""

    event_type: str  # start or end
    type: Expr
    retries: Expr


@dataclass(slots=True, eq=False)
class SequenceFlow:
    id: str
    source: str
    target: str
    condition: Expr | None = None


@dataclass(slots=True, eq=False, repr=False)
class Element:
    """One flow node (or the process or a sub-process, which hold children)."""

    def __repr__(self) -> str:
        return f"Element({self.id!r}, {self.kind.value})"

    id: str
    kind: Kind
    name: str = ""
    event_type: EventType = EventType.NONE
    incoming: list[SequenceFlow] = field(default_factory=list)
    outgoing: list[SequenceFlow] = field(default_factory=list)
    parent: Element | None = None
    inputs: tuple[Mapping_, ...] = ()
    outputs: tuple[Mapping_, ...] = ()
    start_listeners: tuple[Listener, ...] = ()
    end_listeners: tuple[Listener, ...] = ()
    # Tasks done by job workers.
    task: TaskDefinition | None = None
    # Native user tasks (zeebe:userTask): a task for people, completed through the API, not a job.
    user_task: UserTaskDef | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Script and business rule tasks evaluated by the engine itself.
    script: Expr | None = None
    decision_id: Expr | None = None
    result_variable: str | None = None
    # Events.
    message: MessageRef | None = None
    timer: TimerDef | None = None
    signal: Expr | None = None
    condition: ConditionDef | None = None
    error_code: str | None = None  # error catch: None catches all; error end event: the code thrown
    escalation_code: str | None = None  # escalation catch: None catches all; a throw: the code thrown
    interrupting: bool = True
    attached_to: str | None = None
    link: str | None = None  # a link event's name; a throw link goes on at the catch link of that name
    boundaries: list[Element] = field(default_factory=list)
    # Gateways.
    default_flow: str | None = None
    # Call activities.
    called: CalledElement | None = None
    # User tasks: the id of the deployed form (zeebe:formDefinition formId) whose latest version they link.
    form_id: Expr | None = None
    # A multi-instance body: the activity it runs once per item, and how. An ad-hoc sub-process: the scope
    # each activation of its elements runs in.
    inner: Element | None = None
    ad_hoc: AdHoc | None = None
    documentation: str = ""
    # Compensation: a handler (isForCompensation); the handler of an activity with a compensation boundary
    # event; a compensation throw event's activityRef.
    for_compensation: bool = False
    compensation_handler: Element | None = None
    compensate_activity: str | None = None
    loop: LoopCharacteristics | None = None
    # Containers (the process and sub-processes).
    children: dict[str, Element] = field(default_factory=dict)
    none_start: Element | None = None
    event_subprocesses: list[Element] = field(default_factory=list)
    # An event sub-process: the one start event that triggers it.
    event_start: Element | None = None
    # The processor that runs it, found once on first use (processors.processor_for); not part of the model.
    processor: Any = field(default=None, compare=False)


@dataclass(slots=True, eq=False, repr=False)
class Process:
    """An executable process: its elements by id (at any depth) and its start events."""

    def __repr__(self) -> str:
        return f"Process({self.id!r})"

    id: str
    name: str
    root: Element
    elements: dict[str, Element]
    message_starts: list[Element] = field(default_factory=list)
    conditional_starts: list[Element] = field(default_factory=list)
    timer_starts: list[Element] = field(default_factory=list)
    signal_starts: list[Element] = field(default_factory=list)
    version_tag: str | None = None
