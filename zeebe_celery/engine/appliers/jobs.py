"""Appliers of job records."""

from __future__ import annotations

import time

from zeebe_celery.engine.core import RuntimeBase
from zeebe_celery.engine.state import (
    ElementInstance,
    Job,
    JobPool,
    JobState,
)

__all__ = ["JobAppliers"]


class JobAppliers(RuntimeBase):
    # -- jobs ------------------------------------------------------------------------------------------

    def job_created(
        self,
        instance: ElementInstance,
        job_type: str,
        retries: int,
        headers: str,
        *,
        kind: str = "BPMN_ELEMENT",
        listener_event_type: str = "UNSPECIFIED",
    ) -> Job:
        tx = self.tx
        job = Job(
            key=self.keys.next(),
            type=job_type,
            instance=instance,
            retries=retries,
            custom_headers=headers,
            kind=kind,
            listener_event_type=listener_event_type,
        )
        tx.set(instance, "job", job)
        tx.put(self.jobs, job.key, job)
        tx.roots.add(instance.process_instance_key)
        self.job_record("CREATED", job)
        return job

    def job_activatable(self, job: Job, intent: str | None = None) -> None:
        """The job can be handed out again (``intent``: the record that says why, if any)."""
        tx = self.tx
        tx.set(job, "state", JobState.ACTIVATABLE)
        tx.set(job, "deadline", -1)
        tx.set(job, "worker", "")
        tx.roots.add(job.instance.process_instance_key)
        if intent is not None:
            self.job_record(intent, job)

    def job_pooled(self, job: Job) -> None:
        """The activatable job waits for a poller."""
        tx = self.tx
        pool = self.activatable.get(job.type)
        if pool is None:
            pool = JobPool()
            tx.put(self.activatable, job.type, pool)
        tx.put(pool, job.key, job)
        tx.set(job, "pooled_at", time.monotonic())

    def job_unpooled(self, job: Job) -> None:
        pool = self.activatable.get(job.type)
        if pool is not None and job.key in pool:
            self.tx.pop(pool, job.key)

    def job_activated(self, job: Job, worker: str, deadline: int) -> None:
        tx = self.tx
        self.job_unpooled(job)
        tx.set(job, "state", JobState.ACTIVATED)
        tx.set(job, "worker", worker)
        tx.set(job, "deadline", deadline)
        tx.roots.add(job.instance.process_instance_key)
        self.schedule(deadline, "job_timeout", job.key)

    def job_failed(self, job: Job, *, retries: int, error_message: str, backoff: int) -> None:
        tx = self.tx
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
        tx = self.tx
        tx.set(job, "error_code", code)
        tx.set(job, "error_message", message)
        self.job_unpooled(job)
        self.job_record("ERROR_THROWN", job)
        tx.set(job, "state", JobState.ERROR_THROWN)
        tx.roots.add(job.instance.process_instance_key)

    def job_retries_updated(self, job: Job, retries: int) -> None:
        tx = self.tx
        tx.set(job, "retries", retries)
        tx.roots.add(job.instance.process_instance_key)
        self.job_record("RETRIES_UPDATED", job)

    def job_timeout_updated(self, job: Job, deadline: int) -> None:
        tx = self.tx
        tx.set(job, "deadline", deadline)
        self.schedule(deadline, "job_timeout", job.key)
        tx.roots.add(job.instance.process_instance_key)
        self.job_record("TIMEOUT_UPDATED", job)

    def job_ended(self, job: Job, intent: str | None) -> None:
        """The job is completed, cancelled or its error caught (``intent``: its record, if any)."""
        tx = self.tx
        if intent is not None:
            self.job_record(intent, job)
        tx.pop(self.jobs, job.key)
        self.job_unpooled(job)
        if job.instance.job is job:
            tx.set(job.instance, "job", None)
        tx.roots.add(job.instance.process_instance_key)
