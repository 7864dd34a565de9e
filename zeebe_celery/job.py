"""The :class:`Job` value: one activated Zeebe job, as it travels from the poller to a worker."""

from __future__ import annotations

import enum
import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from zeebe_celery.gateway.proto import gateway_pb2

__all__ = ["Job", "JobKind", "ListenerEventType", "UserTaskProperties"]


class JobKind(enum.StrEnum):
    """What made the job: a task's job worker, an execution or task listener, or an ad-hoc sub-process."""

    BPMN_ELEMENT = "BPMN_ELEMENT"
    EXECUTION_LISTENER = "EXECUTION_LISTENER"
    TASK_LISTENER = "TASK_LISTENER"
    AD_HOC_SUB_PROCESS = "AD_HOC_SUB_PROCESS"


class ListenerEventType(enum.StrEnum):
    """The event a listener job listens to; UNSPECIFIED for jobs that are not listeners."""

    ASSIGNING = "ASSIGNING"
    CANCELING = "CANCELING"
    COMPLETING = "COMPLETING"
    CREATING = "CREATING"
    END = "END"
    START = "START"
    UNSPECIFIED = "UNSPECIFIED"
    UPDATING = "UPDATING"


class UserTaskProperties(BaseModel):
    """The user task a task-listener job is about, as it was when the listener fired.

    Dates are ISO 8601 text, as Zeebe sends them; None means the task has no value for that property.
    """

    model_config = ConfigDict(frozen=True)

    action: str | None = None
    assignee: str | None = None
    candidate_groups: tuple[str, ...] = ()
    candidate_users: tuple[str, ...] = ()
    changed_attributes: tuple[str, ...] = ()
    due_date: str | None = None
    follow_up_date: str | None = None
    form_key: int | None = None
    priority: int | None = None
    user_task_key: int | None = None

    @classmethod
    def from_pb(cls, task: gateway_pb2.UserTaskProperties) -> UserTaskProperties:
        def optional(name: str) -> Any:
            return getattr(task, name) if task.HasField(name) else None  # type: ignore[arg-type]

        return cls(
            action=optional("action"),
            assignee=optional("assignee"),
            candidate_groups=tuple(task.candidateGroups),
            candidate_users=tuple(task.candidateUsers),
            changed_attributes=tuple(task.changedAttributes),
            due_date=optional("dueDate"),
            follow_up_date=optional("followUpDate"),
            form_key=optional("formKey"),
            priority=optional("priority"),
            user_task_key=optional("userTaskKey"),
        )

    def pb_fields(self) -> dict[str, Any]:
        """The fields of the ``UserTaskProperties`` message, unset ones left out."""
        fields = {
            "action": self.action,
            "assignee": self.assignee,
            "candidateGroups": list(self.candidate_groups),
            "candidateUsers": list(self.candidate_users),
            "changedAttributes": list(self.changed_attributes),
            "dueDate": self.due_date,
            "followUpDate": self.follow_up_date,
            "formKey": self.form_key,
            "priority": self.priority,
            "userTaskKey": self.user_task_key,
        }
        return {name: value for name, value in fields.items() if value is not None}


class Job(BaseModel):
    """An activated job: its identity, where it sits in the process, its variables and its deadline.

    It is what a handler parameter typed ``Job`` receives, and what the Celery message carries (as
    JSON). ``deadline`` is the epoch time in milliseconds after which Zeebe may hand the job to someone
    else. ``kind`` tells a task's job from a listener's or an ad-hoc sub-process's; a task-listener job
    carries its ``listener_event_type`` and the ``user_task`` it is about. Gateways older than 8.8 send
    neither, so their jobs read as BPMN_ELEMENT jobs without tags.
    """

    model_config = ConfigDict(frozen=True)

    key: int
    type: str
    process_instance_key: int
    bpmn_process_id: str
    process_definition_version: int
    process_definition_key: int
    element_id: str
    element_instance_key: int
    custom_headers: dict[str, Any] = Field(default_factory=dict)
    worker: str = ""
    retries: int
    deadline: int
    variables: dict[str, Any] = Field(default_factory=dict)
    tenant_id: str = ""
    kind: JobKind = JobKind.BPMN_ELEMENT
    listener_event_type: ListenerEventType = ListenerEventType.UNSPECIFIED
    user_task: UserTaskProperties | None = None
    tags: tuple[str, ...] = ()

    @classmethod
    def from_activated(cls, job: gateway_pb2.ActivatedJob) -> Job:
        """Build from the protobuf, parsing the variables and headers JSON once."""
        return cls.model_construct(
            key=job.key,
            type=job.type,
            process_instance_key=job.processInstanceKey,
            bpmn_process_id=job.bpmnProcessId,
            process_definition_version=job.processDefinitionVersion,
            process_definition_key=job.processDefinitionKey,
            element_id=job.elementId,
            element_instance_key=job.elementInstanceKey,
            custom_headers=json.loads(job.customHeaders) if job.customHeaders else {},
            worker=job.worker,
            retries=job.retries,
            deadline=job.deadline,
            variables=json.loads(job.variables) if job.variables else {},
            tenant_id=job.tenantId,
            kind=kind_of(job),
            listener_event_type=listener_event_type_of(job),
            user_task=UserTaskProperties.from_pb(job.userTask) if job.HasField("userTask") else None,
            tags=tuple(job.tags),
        )

    def to_activated(self) -> gateway_pb2.ActivatedJob:
        """The protobuf this job would have come from (variables and headers as JSON text)."""
        from zeebe_celery.gateway.proto import gateway_pb2

        return gateway_pb2.ActivatedJob(
            key=self.key,
            type=self.type,
            processInstanceKey=self.process_instance_key,
            bpmnProcessId=self.bpmn_process_id,
            processDefinitionVersion=self.process_definition_version,
            processDefinitionKey=self.process_definition_key,
            elementId=self.element_id,
            elementInstanceKey=self.element_instance_key,
            customHeaders=json.dumps(self.custom_headers),
            worker=self.worker,
            retries=self.retries,
            deadline=self.deadline,
            variables=json.dumps(self.variables),
            tenantId=self.tenant_id,
            kind=gateway_pb2.ActivatedJob.JobKind.Value(self.kind.value),
            listenerEventType=gateway_pb2.ActivatedJob.ListenerEventType.Value(self.listener_event_type.value),
            userTask=gateway_pb2.UserTaskProperties(**self.user_task.pb_fields()) if self.user_task else None,
            tags=list(self.tags),
        )

    # The simple client's seed names these fields differently; its examples read them as properties.
    @property
    def task_type(self) -> str:
        """The job type (the seed's name for ``type``)."""
        return self.type

    @property
    def task_id(self) -> str:
        """The id of the BPMN element of the job (the seed's name for ``element_id``)."""
        return self.element_id

    @property
    def process_id(self) -> str:
        """The BPMN process id (the seed's name for ``bpmn_process_id``)."""
        return self.bpmn_process_id

    @property
    def deadline_at(self) -> datetime:
        """The deadline as an aware UTC datetime."""
        return datetime.fromtimestamp(self.deadline / 1000, tz=UTC)

    def seconds_left(self, now: float | None = None) -> float:
        """Seconds until the deadline (negative once it has passed)."""
        return self.deadline / 1000 - (time.time() if now is None else now)

    def is_expired(self, now: float | None = None) -> bool:
        """Whether the deadline has passed, so the job belongs to Zeebe again."""
        return self.seconds_left(now) <= 0


def kind_of(job: gateway_pb2.ActivatedJob) -> JobKind:
    """The job's kind; a value newer than this package reads as BPMN_ELEMENT."""
    return _KINDS.get(job.kind, JobKind.BPMN_ELEMENT)


def listener_event_type_of(job: gateway_pb2.ActivatedJob) -> ListenerEventType:
    """The job's listener event type: UNSPECIFIED unless it is a listener's job (the proto's default, 0, is
    ASSIGNING, which is what a gateway older than 8.8 leaves the field at); a value newer than this package
    reads as UNSPECIFIED too."""
    if kind_of(job) not in _LISTENERS:
        return ListenerEventType.UNSPECIFIED
    return _EVENT_TYPES.get(job.listenerEventType, ListenerEventType.UNSPECIFIED)


# The proto's enum numbers, in the order the 8.9 proto declares them.
_KINDS = dict(enumerate(JobKind))
_EVENT_TYPES = dict(enumerate(ListenerEventType))
_LISTENERS = frozenset({JobKind.EXECUTION_LISTENER, JobKind.TASK_LISTENER})
