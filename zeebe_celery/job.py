"""The :class:`Job` value: one activated Zeebe job, as it travels from the poller to a worker."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from zeebe_celery.gateway.proto import gateway_pb2

__all__ = ["Job"]


class Job(BaseModel):
    """An activated job: its identity, where it sits in the process, its variables and its deadline.

    It is what a handler parameter typed ``Job`` receives, and what the Celery message carries (as
    JSON). ``deadline`` is the epoch time in milliseconds after which Zeebe may hand the job to someone
    else.
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
