"""Drives the engine's :class:`Runtime` directly, as the gRPC servicer does, with a clock the test moves.

Every command runs under the runtime's lock (its conditions need it) and the agenda is run after a
command, as the servicer does; :meth:`Harness.advance` moves the clock and fires what fell due, so
timeouts, back-offs, timers and TTLs are tested without sleeping.
"""

from __future__ import annotations

import json
from typing import Any

from zeebe_celery.engine.records import Record
from zeebe_celery.engine.runtime import Runtime
from zeebe_celery.engine.state import Definition, ElementInstance, Incident, Job, JobResult, UserTask

# 2023-11-14T22:13:20Z: a fixed start, so timer dates in the tests are easy to write.
START_MS = 1_700_000_000_000


class FakeClock:
    """Epoch milliseconds that only move when the test says so."""

    def __init__(self, now: int = START_MS) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


class Harness:
    """One runtime, its clock, and short-hands for the commands a test sends."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.runtime = Runtime(clock=self.clock)

    # -- commands ------------------------------------------------------------------------------------

    def deploy(self, *resources: bytes, name: str = "test.bpmn", tenant_id: str = "") -> list[Definition]:
        items = [(name if len(resources) == 1 else f"{i}-{name}", r) for i, r in enumerate(resources)]
        with self.runtime.lock:
            return self.runtime.deploy(items, tenant_id=tenant_id).processes

    def start(self, process_id: str, variables: dict[str, Any] | None = None, *, tenant_id: str = "") -> int:
        """Create an instance of the latest version; its process instance key."""
        with self.runtime.lock:
            definition = self.runtime.find_definition(process_id=process_id, tenant_id=tenant_id)
            return self.runtime.create_instance(definition, dict(variables or {})).key

    def activate(
        self, job_type: str, *, timeout: int = 60_000, max_jobs: int = 10, worker: str = "tester", **kw: Any
    ) -> list[Job]:
        with self.runtime.lock:
            activated = self.runtime.activate_jobs(job_type, worker=worker, timeout=timeout, max_jobs=max_jobs, **kw)
        return [job for job, _ in activated]

    def activate_with_variables(self, job_type: str, **kw: Any) -> list[tuple[Job, dict[str, Any]]]:
        with self.runtime.lock:
            activated = self.runtime.activate_jobs(
                job_type, worker=kw.pop("worker", "tester"), timeout=kw.pop("timeout", 60_000), max_jobs=10, **kw
            )
        return [(job, json.loads(variables)) for job, variables in activated]

    def one_job(self, job_type: str, **kw: Any) -> Job:
        jobs = self.activate(job_type, **kw)
        assert len(jobs) == 1, f"expected one {job_type} job, got {len(jobs)}"
        return jobs[0]

    def complete(self, job: Job | int, variables: dict[str, Any] | None = None) -> None:
        with self.runtime.lock:
            self.runtime.complete_job(_key(job), dict(variables or {}))

    def complete_with(self, job: Job | int, result: JobResult) -> None:
        with self.runtime.lock:
            self.runtime.complete_job(_key(job), {}, result=result)

    def user_task_of(self, process_instance_key: int) -> UserTask:
        """The one active user task of the instance."""
        found = [t for t in self.runtime.user_tasks.values() if t.instance.process_instance_key == process_instance_key]
        assert len(found) == 1, f"expected one user task, got {len(found)}"
        return found[0]

    def fail(self, job: Job | int, *, retries: int, message: str = "", backoff: int = 0) -> None:
        with self.runtime.lock:
            self.runtime.fail_job(_key(job), retries=retries, error_message=message, backoff=backoff, variables={})

    def throw(self, job: Job | int, code: str, message: str = "", variables: dict[str, Any] | None = None) -> None:
        with self.runtime.lock:
            self.runtime.throw_job_error(_key(job), code=code, message=message, variables=dict(variables or {}))

    def publish(
        self,
        name: str,
        correlation_key: str = "",
        *,
        ttl: int = 0,
        message_id: str = "",
        variables: dict[str, Any] | None = None,
        tenant_id: str = "<default>",
    ) -> int:
        with self.runtime.lock:
            message = self.runtime.publish_message(
                name,
                correlation_key=correlation_key,
                ttl=ttl,
                message_id=message_id,
                variables=dict(variables or {}),
                tenant_id=tenant_id,
            )
        return message.key

    def signal(self, name: str, variables: dict[str, Any] | None = None, *, tenant_id: str = "<default>") -> None:
        with self.runtime.lock:
            self.runtime.broadcast_signal(name, variables=dict(variables or {}), tenant_id=tenant_id)

    def resolve(self, incident: Incident | int) -> None:
        with self.runtime.lock:
            self.runtime.resolve_incident(incident if isinstance(incident, int) else incident.key)

    def advance(self, ms: int) -> None:
        """Move the clock and fire everything that fell due."""
        self.clock.now += ms
        with self.runtime.lock:
            self.runtime.fire_due(self.clock.now)

    # -- inspection ----------------------------------------------------------------------------------

    def instance(self, key: int) -> ElementInstance:
        return self.runtime.instances[key]

    def variables(self, key: int) -> dict[str, Any]:
        """The variables visible in that element instance (its own and its scopes')."""
        return self.runtime.variables_of(key)

    def is_running(self, process_instance_key: int) -> bool:
        return process_instance_key in self.runtime.instances

    def completed(self, process_instance_key: int) -> bool:
        """The process instance itself completed (not terminated)."""
        return bool(
            self.runtime.records.find(
                "PROCESS_INSTANCE",
                "ELEMENT_COMPLETED",
                bpmnElementType="PROCESS",
                processInstanceKey=process_instance_key,
            )
        )

    def elements(self, intent: str, process_instance_key: int) -> list[str]:
        """Element ids with a PROCESS_INSTANCE record of ``intent``, in order."""
        return [
            r["value"]["elementId"]
            for r in self.runtime.records.find("PROCESS_INSTANCE", intent, processInstanceKey=process_instance_key)
        ]

    def active(self, process_instance_key: int) -> list[str]:
        """Ids of the element instances still live in the process instance (not the process itself)."""
        return sorted(
            i.element.id
            for i in self.runtime.instances.values()
            if i.process_instance_key == process_instance_key and i.parent is not None
        )

    def element_instance(self, process_instance_key: int, element_id: str) -> ElementInstance:
        found = [
            i
            for i in self.runtime.instances.values()
            if i.process_instance_key == process_instance_key and i.element.id == element_id
        ]
        assert len(found) == 1, f"expected one live {element_id}, got {len(found)}"
        return found[0]

    def incidents(self, process_instance_key: int | None = None) -> list[Incident]:
        return [
            i
            for i in self.runtime.incidents.values()
            if process_instance_key is None or i.instance.process_instance_key == process_instance_key
        ]

    def records(self, value_type: str, intent: str | None = None, **value: Any) -> list[Record]:
        return self.runtime.records.find(value_type, intent, **value)


def _key(job: Job | int) -> int:
    return job if isinstance(job, int) else job.key
