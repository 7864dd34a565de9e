"""Jobs as Zeebe handles them: created by tasks, activated by pollers and streams, completed, failed with
retries and back-off, thrown as BPMN errors, timed out back to activatable, and cancelled with their task.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from zeebe_celery.engine.answers import AnswerOrder
from zeebe_celery.engine.errors import FailedPrecondition, InvalidArgument, NotFound
from zeebe_celery.engine.events import Events
from zeebe_celery.engine.state import ElementInstance, Job, JobState
from zeebe_celery.engine.streams import Activated, JobStream


class Jobs(Events):
    streams: dict[str, list[JobStream]]
    _turn: dict[str, int]
    answers: AnswerOrder

    def init_jobs(self) -> None:
        self.streams = {}
        self._turn = {}
        self.answers = AnswerOrder(self.lock, self.condition_for)

    # -- creation and hand-out -----------------------------------------------------------------------

    def create_job(self, instance: ElementInstance, job_type: str, retries: int) -> Job:
        headers = instance.element.headers
        job = Job(
            key=self.keys.next(),
            type=job_type,
            instance=instance,
            retries=retries,
            custom_headers=json.dumps(headers) if headers else "{}",
        )
        instance.job = job
        self.jobs[job.key] = job
        self.job_record("CREATED", job)
        self.make_activatable(job)
        return job

    def make_activatable(self, job: Job, *, push: bool = True) -> None:
        """The job can be handed out: pushed to an open stream of its type, else left to pollers.

        A job given back (yielded) is left to pollers without a push, as Zeebe yields it.
        """
        self._release(job)
        if push and self._push(job):
            return
        self.activatable.setdefault(job.type, {})[job.key] = job
        self.answers.made_available(job.type)

    def _push(self, job: Job) -> bool:
        """Push ``job`` to the next stream of its type and tenant in turn that is ready, busy or not.

        As Zeebe does, the job is activated for a stream before the push; when every such stream is full or
        ending, the push fails and the job is yielded back to polling. False when the job was not pushed.
        """
        streams = self.streams.get(job.type)
        if not streams:
            return False
        turn = self._turn.get(job.type, 0)
        serving = [s for n in range(len(streams)) if (s := streams[(turn + n) % len(streams)]).serves(job)]
        if not serving:
            return False
        stream = next((s for s in serving if s.ready), serving[0])
        self._turn[job.type] = streams.index(stream) + 1
        activated = self._hand_out(job, stream.worker, stream.timeout, stream.fetch)
        self._batch_record(job.type, stream.worker, stream.timeout, [job])
        if not stream.ready:
            self.job_record("YIELDED", job)
            self._release(job)
            return False
        stream.put(activated)
        self.answers.made_available(job.type)
        return True

    def _release(self, job: Job) -> None:
        job.state = JobState.ACTIVATABLE
        job.deadline = -1
        job.worker = ""
        self.touch(job.instance)

    def _batch_record(self, job_type: str, worker: str, timeout: int, jobs: list[Job]) -> None:
        if self.records.enabled:
            self.records.append(
                "JOB_BATCH",
                "ACTIVATED",
                self.keys.next(),
                {"type": job_type, "worker": worker, "timeout": timeout, "jobKeys": [j.key for j in jobs]},
            )

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
        pool = self.activatable.get(job_type)
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
        result = []
        for job in picked:
            del pool[job.key]
            result.append(self._hand_out(job, worker, timeout, fetch))
        if result:
            self._batch_record(job_type, worker, timeout, [j for j, _ in result])
            self.commit()
        return result

    def _hand_out(self, job: Job, worker: str, timeout: int, fetch: tuple[str, ...]) -> Activated:
        job.state = JobState.ACTIVATED
        job.worker = worker
        job.deadline = self.now() + timeout
        self.schedule(job.deadline, "job_timeout", job.key)
        self.touch(job.instance)
        if fetch:
            scope = self.visible(job.instance)
            variables = {n: scope[n] for n in fetch if n in scope}
        else:
            variables = self.merged_variables(job.instance)
        return job, json.dumps(variables)

    @staticmethod
    def _tenant_ok(job: Job, tenants: frozenset[str]) -> bool:
        return not tenants or job.tenant_id in tenants

    # -- streams -------------------------------------------------------------------------------------

    def open_stream(self, stream: JobStream) -> None:
        self.streams.setdefault(stream.job_type, []).append(stream)

    def close_stream(self, stream: JobStream) -> None:
        """The stream ended: jobs pushed to it but never sent are yielded back to polling at once."""
        stream.closed = True
        streams = self.streams.get(stream.job_type, [])
        if stream in streams:
            streams.remove(stream)
        if not streams:
            self.streams.pop(stream.job_type, None)
            self._turn.pop(stream.job_type, None)
        self.yield_jobs(stream.drain())

    def take_pushed(self, stream: JobStream) -> Activated | None:
        """The next job in ``stream``'s buffer that is still its to send, or None when it holds none."""
        while (activated := stream.take()) is not None:
            if self.jobs.get(activated[0].key) is activated[0]:
                return activated
        return None

    def yield_jobs(self, jobs: Iterable[Job]) -> None:
        """Jobs activated for a client that never received them are activatable again at once, for pollers."""
        for job in jobs:
            if job.state is JobState.ACTIVATED and self.jobs.get(job.key) is job:
                self.job_record("YIELDED", job)
                self.make_activatable(job, push=False)
        self.commit()
        # Not a command with an answer of its own: what it gave back goes to the pollers at once.
        self.answers.answered(self.answers.take())

    # -- worker commands -----------------------------------------------------------------------------

    def _job(self, key: int, action: str) -> Job:
        job = self.jobs.get(key)
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
        self._drop(job)
        self.job_record("COMPLETED", job)
        self.complete(job.instance, variables)
        self.run_agenda()
        self.commit()

    def fail_job(self, key: int, *, retries: int, error_message: str, backoff: int, variables: dict[str, Any]) -> None:
        job = self._job(key, "fail")
        self._require(job, "fail", JobState.ACTIVATED)
        job.retries = retries
        job.error_message = error_message
        job.retry_backoff = max(backoff, 0)
        self.touch(job.instance)
        if variables:
            self.set_local(job.instance, variables)
        self.job_record("FAILED", job)
        job.deadline = -1
        if retries > 0 and backoff > 0:
            job.state = JobState.BACKOFF
            job.backoff_until = self.now() + backoff
            self.schedule(job.backoff_until, "job_backoff", job.key)
        elif retries > 0:
            self.make_activatable(job)
        else:
            job.state = JobState.FAILED
            self.raise_incident(
                job.instance, "JOB_NO_RETRIES", error_message or "No more retries left.", retry="job", job=job
            )
        self.commit()

    def throw_job_error(self, key: int, *, code: str, message: str, variables: dict[str, Any]) -> None:
        job = self._job(key, "throw an error for")
        self._require(job, "throw an error for", JobState.ACTIVATED, JobState.ACTIVATABLE)
        job.error_code, job.error_message = code, message
        self.activatable.get(job.type, {}).pop(job.key, None)
        self.job_record("ERROR_THROWN", job)
        self.touch(job.instance)
        job.state = JobState.ERROR_THROWN
        if self.throw_error(job.instance, code, message, variables):
            self._drop(job)
        self.run_agenda()
        self.commit()

    def update_job_retries(self, key: int, retries: int) -> None:
        job = self._job(key, "update retries of")
        if retries < 1:
            raise InvalidArgument(
                f"Expected to update retries of job with key '{key}' to a positive amount, but was {retries}"
            )
        job.retries = retries
        self.touch(job.instance)
        self.job_record("RETRIES_UPDATED", job)
        self.commit()

    def update_job_timeout(self, key: int, timeout: int) -> None:
        job = self._job(key, "update the timeout of")
        if job.state is not JobState.ACTIVATED:
            raise NotFound(f"Expected to update the timeout of job with key '{key}', but it is not active")
        job.deadline = self.now() + timeout
        self.schedule(job.deadline, "job_timeout", job.key)
        self.touch(job.instance)
        self.job_record("TIMEOUT_UPDATED", job)
        self.commit()

    def cancel_job(self, job: Job) -> None:
        self._drop(job)
        # A job whose error is being caught ends with ERROR_THROWN, as in Zeebe's records, not CANCELED.
        if job.state is not JobState.ERROR_THROWN:
            self.job_record("CANCELED", job)

    def _drop(self, job: Job) -> None:
        self.jobs.pop(job.key, None)
        self.activatable.get(job.type, {}).pop(job.key, None)
        if job.instance.job is job:
            job.instance.job = None
        self.touch(job.instance)

    # -- due items -----------------------------------------------------------------------------------

    def job_timed_out(self, key: int, due: int) -> None:
        job = self.jobs.get(key)
        if job is not None and job.state is JobState.ACTIVATED and job.deadline == due:
            self.job_record("TIMED_OUT", job)
            self.make_activatable(job)

    def job_backoff_over(self, key: int, due: int) -> None:
        job = self.jobs.get(key)
        if job is not None and job.state is JobState.BACKOFF and job.backoff_until == due:
            self.job_record("RECURRED_AFTER_BACKOFF", job)
            self.make_activatable(job)
