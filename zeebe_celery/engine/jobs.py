"""Jobs as Zeebe handles them: created by tasks, activated by pollers and streams, completed, failed with
retries and back-off, thrown as BPMN errors, timed out back to activatable, and cancelled with their task.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from zeebe_celery.engine import feel
from zeebe_celery.engine.answers import GATEWAY_HOP_SECONDS, AnswerOrder
from zeebe_celery.engine.appliers import Appliers
from zeebe_celery.engine.errors import FailedPrecondition, InvalidArgument, NotFound
from zeebe_celery.engine.listeners import check_result
from zeebe_celery.engine.model import Expr, Listener, TaskListener
from zeebe_celery.engine.parts import Flow, Publication, UserTaskWork
from zeebe_celery.engine.processors import StepFailed, feel_type
from zeebe_celery.engine.state import ElementInstance, Job, JobKind, JobResult, JobState
from zeebe_celery.engine.streams import Activated, JobStream, pushed_size

__all__ = ["MAX_MESSAGE_BYTES", "Activated", "JobBehavior", "JobStream"]

# The largest activated job a client takes: gRPC's default maximum message size (Zeebe's is the same 4 MB).
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
# What an ActivatedJob carries besides its variables and headers, generously.
_JOB_OVERHEAD_BYTES = 1024

# The incident of a job out of retries, by the kind of job.
_NO_RETRIES: dict[str, str] = {
    JobKind.EXECUTION_LISTENER: "EXECUTION_LISTENER_NO_RETRIES",
    JobKind.TASK_LISTENER: "TASK_LISTENER_NO_RETRIES",
    JobKind.AD_HOC_SUB_PROCESS: "AD_HOC_SUB_PROCESS_NO_RETRIES",
}


class JobBehavior:
    """Jobs over the state; the interpreter and event publication are wired in by the runtime."""

    flow: Flow
    publication: Publication
    user_tasks: UserTaskWork

    def __init__(self, state: Appliers) -> None:
        self.state = state
        self.streams: dict[str, list[JobStream]] = {}
        self._turn: dict[str, int] = {}
        self.answers = AnswerOrder(state.lock, state.condition_for)

    # -- creation and hand-out -----------------------------------------------------------------------

    def create_job(
        self, instance: ElementInstance, job_type: str, retries: int, headers: dict[str, str] | None = None
    ) -> Job:
        """``headers``: the job's custom headers, when they are not just its element's."""
        headers = instance.element.headers if headers is None else headers
        job = self.state.job_created(instance, job_type, retries, json.dumps(headers) if headers else "{}")
        self.make_activatable(job)
        return job

    def create_task_listener_job(
        self, instance: ElementInstance, listener: TaskListener, event_type: str, headers: dict[str, str]
    ) -> Job | None:
        """A task listener's job for the user task of ``instance``; an incident (tried again when resolved)
        if its type or retries cannot be evaluated."""
        try:
            scope = self.state.visible(instance)
            job_type = listener.type.evaluate(scope)
            retries = listener.retries.evaluate(scope)
            if not isinstance(job_type, str) or not job_type:
                raise feel.FeelEvaluationError(
                    f"Expected result of the expression '{listener.type.source}' to be a not-empty string, but "
                    f"was '{job_type}'."
                )
            count = int(retries)
        except (feel.FeelError, TypeError, ValueError) as exc:
            self.flow.raise_incident(instance, "EXTRACT_VALUE_ERROR", str(exc), retry="listener")
            return None
        job = self.state.job_created(
            instance,
            job_type,
            count,
            json.dumps(headers),
            kind=JobKind.TASK_LISTENER,
            listener_event_type=event_type.upper(),
        )
        self.make_activatable(job)
        return job

    def create_listener_job(self, instance: ElementInstance, listener: Listener, event_type: str) -> Job:
        """The job of an execution listener (``event_type`` START or END) of the element instance."""
        job_type = self._value(instance, listener.type)
        if not isinstance(job_type, str) or not job_type:
            raise StepFailed(
                "EXTRACT_VALUE_ERROR",
                f"Expected result of the expression '{listener.type.source}' to be 'STRING', but was "
                f"'{feel_type(job_type)}'.",
            )
        retries = self._value(instance, listener.retries)
        if isinstance(retries, bool) or not isinstance(retries, int | float | str) or not str(retries).isdigit():
            raise StepFailed(
                "EXTRACT_VALUE_ERROR",
                f"Expected result of the expression '{listener.retries.source}' to be 'NUMBER', but was "
                f"'{feel_type(retries)}'.",
            )
        headers = instance.element.headers
        job = self.state.job_created(
            instance,
            job_type,
            int(retries),
            json.dumps(headers) if headers else "{}",
            kind="EXECUTION_LISTENER",
            listener_event_type=event_type,
        )
        self.make_activatable(job)
        return job

    def create_ad_hoc_job(self, instance: ElementInstance) -> Job:
        """The job that asks an ad-hoc sub-process's worker what to do next."""
        task = instance.element.task
        assert task is not None
        job_type = self._value(instance, task.type)
        if not isinstance(job_type, str) or not job_type:
            raise StepFailed(
                "EXTRACT_VALUE_ERROR",
                f"Expected result of the expression '{task.type.source}' to be 'STRING', but was "
                f"'{feel_type(job_type)}'.",
            )
        retries = self._value(instance, task.retries)
        headers = instance.element.headers
        job = self.state.job_created(
            instance,
            job_type,
            int(retries) if str(retries).isdigit() else 3,
            json.dumps(headers) if headers else "{}",
            kind="AD_HOC_SUB_PROCESS",
        )
        self.make_activatable(job)
        return job

    def _value(self, instance: ElementInstance, expr: Expr) -> Any:
        try:
            return expr.evaluate(self.state.visible(instance))
        except feel.FeelError as exc:
            raise StepFailed("EXTRACT_VALUE_ERROR", str(exc)) from exc

    def make_activatable(self, job: Job, intent: str | None = None, *, push: bool = True) -> None:
        """The job can be handed out: pushed to an open stream of its type, else left to pollers.

        A job given back (yielded) is left to pollers without a push, as Zeebe yields it.
        """
        self.state.job_activatable(job, intent)
        if push and self._push(job):
            return
        self.state.job_pooled(job)
        self._notify(job.type)

    def _push(self, job: Job) -> bool:
        """Push ``job`` to the next stream of its type and tenant in turn that is ready, busy or not.

        As Zeebe does, the job is activated for a stream before the push; when every such stream is full or
        ending, the push fails and the job is yielded back to polling. False when the job was not pushed.
        The job joins the stream's buffer once the command is committed.
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
        variables = self._variables(job, stream.fetch)
        if _size(job, variables) > MAX_MESSAGE_BYTES:
            self._too_large(job, _size(job, variables))
            return True  # handled: an incident, not a push
        pushed = self._hand_out(job, stream.worker, stream.timeout, variables)
        self._batch_record(job.type, stream.worker, stream.timeout, [job])
        if not stream.ready:
            self.state.job_activatable(job, "YIELDED")
            return False
        tx = self.state.tx
        # Counted at once, so that the rest of this command sees how full the buffer will be.
        tx.set(stream, "buffered", stream.buffered + pushed_size(*pushed))
        tx.after.append(lambda: self._deliver(stream, pushed))
        return True

    def _deliver(self, stream: JobStream, pushed: Activated) -> None:
        stream.put(pushed, counted=True)
        self.answers.made_available(stream.job_type)
        self.state.condition_for(stream.job_type).notify_all()

    def _notify(self, job_type: str) -> None:
        tx = self.state.tx
        if job_type not in tx.woken:
            tx.woken.add(job_type)
            tx.after.append(lambda: self._wake_pollers(job_type))

    def _wake_pollers(self, job_type: str) -> None:
        self.answers.made_available(job_type)
        self.state.condition_for(job_type).notify_all()

    def _batch_record(self, job_type: str, worker: str, timeout: int, jobs: list[Job]) -> None:
        if self.state.records.enabled:
            self.state.write(
                "JOB_BATCH",
                "ACTIVATED",
                self.state.keys.next(),
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
        pooled_before: float | None = None,
    ) -> list[Activated]:
        """Activate up to ``max_jobs`` activatable jobs of ``job_type`` for ``timeout`` ms; with
        ``pooled_before``, only jobs that joined the pool before that time.monotonic() (see answers.py)."""
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
        for job in pool.in_order():
            if self._tenant_ok(job, tenants) and (pooled_before is None or job.pooled_at < pooled_before):
                picked.append(job)
                if len(picked) >= max_jobs:
                    break
        fetch = tuple(fetch)
        result: list[Activated] = []
        total = 0
        for job in picked:
            variables = self._variables(job, fetch)
            size = _size(job, variables)
            if size > MAX_MESSAGE_BYTES:
                self._too_large(job, size)
                continue
            if total + size > MAX_MESSAGE_BYTES:
                break  # the batch is full: the rest stay activatable for the next call, as Zeebe's batches do
            total += size
            result.append(self._hand_out(job, worker, timeout, variables))
        if result:
            self._batch_record(job_type, worker, timeout, [j for j, _ in result])
        return result

    def _variables(self, job: Job, fetch: tuple[str, ...]) -> str:
        """The job's variables as the worker gets them (the fetched ones, or all it sees), as JSON."""
        if fetch:
            scope = self.state.visible(job.instance)
            return json.dumps({n: scope[n] for n in fetch if n in scope})
        return json.dumps(self.state.merged_variables(job.instance))

    def _hand_out(self, job: Job, worker: str, timeout: int, variables: str) -> Activated:
        self.state.job_activated(job, worker, self.state.now() + timeout)
        return job, variables

    def _too_large(self, job: Job, size: int) -> None:
        """A job no worker could receive: an incident, as Zeebe raises one (MESSAGE_SIZE_EXCEEDED)."""
        message = (
            f"The job with key '{job.key}' can not be activated, because with the variables it is larger than "
            f"the configured message size ({size:,} bytes, over {MAX_MESSAGE_BYTES:,}). Try to reduce the size "
            "by reducing the number of fetched variables or modifying the variable values."
        )
        self.state.job_unpooled(job)
        self.state.job_failed(job, retries=0, error_message=message, backoff=0)
        self.flow.raise_incident(job.instance, "MESSAGE_SIZE_EXCEEDED", message, retry="job", job=job)

    def hop_left(self, job_type: str, tenant_ids: Iterable[str], now: float) -> float | None:
        """Seconds until the next job of ``job_type`` for ``tenant_ids`` that polls do not see yet (it joined
        the pool less than the gateway hop before ``now``, see answers.py) is theirs; None if there is none."""
        tenants = frozenset(tenant_ids)
        since = now - GATEWAY_HOP_SECONDS
        pool = self.state.activatable.get(job_type)
        if not pool:
            return None
        young = [job.pooled_at for job in pool.values() if job.pooled_at >= since and self._tenant_ok(job, tenants)]
        return min(young) - since if young else None

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
            if self.state.jobs.get(activated[0].key) is activated[0]:
                return activated
        return None

    def yield_jobs(self, jobs: Iterable[Job]) -> None:
        """Jobs activated for a client that never received them are activatable again at once, for pollers."""
        for job in jobs:
            if job.state is JobState.ACTIVATED and self.state.jobs.get(job.key) is job:
                self.make_activatable(job, "YIELDED", push=False)

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

    def complete_job(
        self, key: int, variables: dict[str, Any], ad_hoc: Any = None, result: JobResult | None = None
    ) -> None:
        job = self._job(key, "complete")
        self._require(job, "complete", JobState.ACTIVATED, JobState.ACTIVATABLE)
        check_result(job, variables, result)
        self.state.job_ended(job, "COMPLETED")
        if job.kind == JobKind.TASK_LISTENER:
            self.user_tasks.listener_completed(job, result or JobResult())
        elif job.kind == "EXECUTION_LISTENER":
            self.flow.listener_completed(job, variables)
        elif job.kind == "AD_HOC_SUB_PROCESS":
            self.flow.ad_hoc_decided(job, variables, ad_hoc)
        else:
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
            error_type = _NO_RETRIES.get(job.kind, "JOB_NO_RETRIES")
            self.flow.raise_incident(
                job.instance, error_type, error_message or "No more retries left.", retry="job", job=job
            )

    def throw_job_error(self, key: int, *, code: str, message: str, variables: dict[str, Any]) -> None:
        job = self._job(key, "throw an error for")
        self._require(job, "throw an error for", JobState.ACTIVATED, JobState.ACTIVATABLE)
        if job.kind == "EXECUTION_LISTENER":
            raise FailedPrecondition(
                f"Expected to throw an error for job with key '{key}', but it is an execution listener job, "
                "which cannot throw BPMN errors"
            )
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


def _size(job: Job, variables: str) -> int:
    # Both are json.dumps output, ASCII only: characters are bytes.
    return len(variables) + len(job.custom_headers) + _JOB_OVERHEAD_BYTES
