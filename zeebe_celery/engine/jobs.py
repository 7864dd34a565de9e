"""Jobs as Zeebe handles them: created by tasks, activated by pollers and streams, completed, failed with
retries and back-off, thrown as BPMN errors, timed out back to activatable, and cancelled with their task.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from zeebe_celery.engine.appliers import Appliers
from zeebe_celery.engine.errors import FailedPrecondition, InvalidArgument, NotFound
from zeebe_celery.engine.parts import Flow, Publication
from zeebe_celery.engine.state import ElementInstance, Job, JobState

Activated = tuple[Job, str]  # the job and its variables as a JSON document


@dataclass(eq=False)
class JobStream:
    """An open StreamActivatedJobs call: pushed jobs wait in ``pending`` until its thread sends them."""

    job_type: str
    worker: str
    timeout: int
    fetch: tuple[str, ...]
    tenant_ids: frozenset[str]
    pending: deque[Activated] = field(default_factory=deque)
    ready: bool = False
    closed: bool = False


class JobBehavior:
    """Jobs over the state; the interpreter and event publication are wired in by the runtime."""

    flow: Flow
    publication: Publication

    def __init__(self, state: Appliers) -> None:
        self.state = state
        self.streams: dict[str, list[JobStream]] = {}
        self._turn: dict[str, int] = {}

    # -- creation and hand-out -----------------------------------------------------------------------

    def create_job(self, instance: ElementInstance, job_type: str, retries: int) -> Job:
        headers = instance.element.headers
        job = self.state.job_created(instance, job_type, retries, json.dumps(headers) if headers else "{}")
        self.make_activatable(job)
        return job

    def make_activatable(self, job: Job, intent: str | None = None) -> None:
        """The job can be handed out: to an idle stream of its type first, else to pollers."""
        self.state.job_activatable(job, intent)
        tx = self.state.tx
        streams = self.streams.get(job.type)
        if streams:
            turn = self._turn.get(job.type, 0)
            for offset in range(len(streams)):
                stream = streams[(turn + offset) % len(streams)]
                if (
                    stream.ready
                    and not stream.closed
                    and not stream.pending
                    and stream not in tx.pushed
                    and self._tenant_ok(job, stream.tenant_ids)
                ):
                    self._turn[job.type] = turn + offset + 1
                    pushed = self._hand_out(job, stream.worker, stream.timeout, stream.fetch)
                    tx.pushed.add(stream)
                    tx.after.append(lambda: self._push(stream, pushed))  # noqa: B023 -- returns at once
                    return
        self.state.job_pooled(job)
        self._notify(job.type)

    def _push(self, stream: JobStream, pushed: Activated) -> None:
        stream.pending.append(pushed)
        self.state.condition_for(stream.job_type).notify_all()

    def _notify(self, job_type: str) -> None:
        tx = self.state.tx
        if job_type not in tx.woken:
            tx.woken.add(job_type)
            tx.after.append(lambda: self.state.condition_for(job_type).notify_all())

    def activate_jobs(
        self,
        job_type: str,
        *,
        worker: str,
        timeout: int,
        max_jobs: int,
        fetch: Sequence[str] = (),
        tenant_ids: Iterable[str] = (),
    ) -> list[Activated]:
        """Activate up to ``max_jobs`` activatable jobs of ``job_type`` for ``timeout`` ms."""
        if not job_type.strip():
            raise InvalidArgument("Expected to activate jobs with a non-empty type, but it was blank")
        if not worker.strip():
            raise InvalidArgument("Expected to activate jobs with a non-empty worker, but it was blank")
        if timeout < 1:
            raise InvalidArgument(f"Expected to activate jobs with a timeout of at least 1 ms, but was {timeout}")
        if max_jobs < 1:
            raise InvalidArgument(f"Expected to activate at least 1 job, but the maximum amount was {max_jobs}")
        pool = self.state.activatable.get(job_type)
        if not pool:
            return []
        tenants = frozenset(tenant_ids)
        picked: list[Job] = []
        for job in pool.values():
            if self._tenant_ok(job, tenants):
                picked.append(job)
                if len(picked) >= max_jobs:
                    break
        fetch = tuple(fetch)
        result = [self._hand_out(job, worker, timeout, fetch) for job in picked]
        if result and self.state.records.enabled:
            self.state.write(
                "JOB_BATCH",
                "ACTIVATED",
                self.state.keys.next(),
                {"type": job_type, "worker": worker, "timeout": timeout, "jobKeys": [j.key for j, _ in result]},
            )
        return result

    def _hand_out(self, job: Job, worker: str, timeout: int, fetch: tuple[str, ...]) -> Activated:
        self.state.job_activated(job, worker, self.state.now() + timeout)
        if fetch:
            scope = self.state.visible(job.instance)
            variables = {n: scope[n] for n in fetch if n in scope}
        else:
            variables = self.state.merged_variables(job.instance)
        return job, json.dumps(variables)

    @staticmethod
    def _tenant_ok(job: Job, tenants: frozenset[str]) -> bool:
        return not tenants or job.tenant_id in tenants

    # -- streams -------------------------------------------------------------------------------------

    def open_stream(self, stream: JobStream) -> None:
        self.streams.setdefault(stream.job_type, []).append(stream)

    def close_stream(self, stream: JobStream) -> None:
        """The stream ended: jobs pushed to it but never sent are handed back at once."""
        stream.closed = True
        streams = self.streams.get(stream.job_type, [])
        if stream in streams:
            streams.remove(stream)
        if not streams:
            self.streams.pop(stream.job_type, None)
        self.yield_jobs([job for job, _ in stream.pending])
        stream.pending.clear()

    def yield_jobs(self, jobs: Iterable[Job]) -> None:
        """Jobs activated for a client that never received them are activatable again at once."""
        for job in jobs:
            if job.state is JobState.ACTIVATED and self.state.jobs.get(job.key) is job:
                self.make_activatable(job, "YIELDED")

    # -- worker commands -----------------------------------------------------------------------------

    def _job(self, key: int, action: str) -> Job:
        job = self.state.jobs.get(key)
        if job is None:
            raise NotFound(f"Expected to {action} job with key '{key}', but no such job was found")
        return job

    def _require(self, job: Job, action: str, *states: JobState) -> None:
        if job.state not in states:
            state = "FAILED" if job.state is JobState.BACKOFF else job.state.value
            raise FailedPrecondition(f"Expected to {action} job with key '{job.key}', but it is in state '{state}'")

    def complete_job(self, key: int, variables: dict[str, Any]) -> None:
        job = self._job(key, "complete")
        self._require(job, "complete", JobState.ACTIVATED, JobState.ACTIVATABLE)
        self.state.job_ended(job, "COMPLETED")
        self.flow.complete(job.instance, variables)

    def fail_job(self, key: int, *, retries: int, error_message: str, backoff: int, variables: dict[str, Any]) -> None:
        job = self._job(key, "fail")
        self._require(job, "fail", JobState.ACTIVATED)
        if variables:
            self.state.set_local(job.instance, variables)
        self.state.job_failed(job, retries=retries, error_message=error_message, backoff=backoff)
        if retries > 0 and backoff <= 0:
            self.make_activatable(job)
        elif retries <= 0:
            self.flow.raise_incident(
                job.instance, "JOB_NO_RETRIES", error_message or "No more retries left.", retry="job", job=job
            )

    def throw_job_error(self, key: int, *, code: str, message: str, variables: dict[str, Any]) -> None:
        job = self._job(key, "throw an error for")
        self._require(job, "throw an error for", JobState.ACTIVATED, JobState.ACTIVATABLE)
        self.state.job_error_thrown(job, code, message)
        if self.publication.throw_error(job.instance, code, message, variables):
            self.state.job_ended(job, None)

    def update_job_retries(self, key: int, retries: int) -> None:
        job = self._job(key, "update retries of")
        if retries < 1:
            raise InvalidArgument(
                f"Expected to update retries of job with key '{key}' to a positive amount, but was {retries}"
            )
        self.state.job_retries_updated(job, retries)

    def update_job_timeout(self, key: int, timeout: int) -> None:
        job = self._job(key, "update the timeout of")
        if job.state is not JobState.ACTIVATED:
            raise NotFound(f"Expected to update the timeout of job with key '{key}', but it is not active")
        self.state.job_timeout_updated(job, self.state.now() + timeout)

    def cancel_job(self, job: Job) -> None:
        # A job whose error is being caught ends with ERROR_THROWN, as in Zeebe's records, not CANCELED.
        self.state.job_ended(job, None if job.state is JobState.ERROR_THROWN else "CANCELED")

    # -- due items -----------------------------------------------------------------------------------

    def job_timed_out(self, key: int, due: int) -> None:
        job = self.state.jobs.get(key)
        if job is not None and job.state is JobState.ACTIVATED and job.deadline == due:
            self.make_activatable(job, "TIMED_OUT")

    def job_backoff_over(self, key: int, due: int) -> None:
        job = self.state.jobs.get(key)
        if job is not None and job.state is JobState.BACKOFF and job.backoff_until == due:
            self.make_activatable(job, "RECURRED_AFTER_BACKOFF")
