"""Running a batch: the jobs of one activation that came in one Celery message (``@zeebe_task(batch=N)``).

Each job of a batch is run and reported as it would be alone (:func:`zeebe_celery.worker.run_one`): its own
validation, deadline check (a job whose deadline has passed is not run), outcome and report, flow-control
slot (freed when it is reported), log fields, metrics, span and incident rules. What a batch shares is the
Celery message, so Celery's per-message features (``rate_limit``, time limits, ``expires``) act on the
batch as a whole; the message expires at the latest deadline of its jobs.

Async handlers of a batch run concurrently on the worker process's event loop, at most
``ZEEBE_CELERY_BATCH_CONCURRENCY`` at a time, each stopped at its own job's deadline; a time limit that
breaks into the loop cancels them, and their jobs come back from Zeebe after their timeout. Sync handlers run one
after another, or on ``batch_threads`` threads when the type asks. Reports go out concurrently on the
process's gRPC channel (on the process's report loop, or through a report queue of the batch's own that the
task waits for). A worker killed mid-batch reports nothing more: the jobs not yet reported come back from Zeebe after
their timeout, as a single job does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import ValidationError

from zeebe_celery.handler import Handler, event_loop
from zeebe_celery.handoff import Reports
from zeebe_celery.job import Job
from zeebe_celery.outcome import Outcome
from zeebe_celery.spec import JobTypeSpec
from zeebe_celery.worker import ReportQueue, WorkerContext, context_for, release_slot, run_one, run_one_async

__all__ = ["run_batch"]

logger = logging.getLogger(__name__)

# The least time a handler is given when its job's deadline is about to pass.
_LEAST_WAIT = 0.001


def run_batch(task: Any, handler: Handler, payloads: Sequence[Any]) -> list[Outcome]:
    """Run and report every job of a batch message; their outcomes, in order (malformed jobs left out)."""
    jobs = _valid_jobs(task.name, payloads)
    if not jobs:
        return []
    context = context_for(task.app)
    spec = context.job_type(task.name)
    own = context.reports is None
    reports = context.reports or ReportQueue(min(len(jobs), context.bridge.batch_concurrency))
    try:
        if handler.is_async:
            return _run_async(task, handler, jobs, context, spec, reports)
        if spec.batch_threads > 1 and len(jobs) > 1:
            return _run_threads(task, handler, jobs, context, spec, reports, spec.batch_threads)
        return [run_one(task, handler, job, context, spec, reports) for job in jobs]
    finally:
        if own:
            reports.flush()  # the task ends once every report of its batch is done


def _valid_jobs(task_name: str, payloads: Sequence[Any]) -> list[Job]:
    jobs: list[Job] = []
    for index, payload in enumerate(payloads):
        try:
            jobs.append(Job.model_validate(payload))
        except ValidationError as exc:
            # Nobody to report to; Zeebe re-activates this job after its timeout. The others run.
            logger.error("task %s received a malformed job payload at %d of its batch: %s", task_name, index, exc)
    return jobs


def _in_request(task: Any, run: Callable[[Job], Outcome]) -> Callable[[Job], Outcome]:
    """``run`` for another thread, under the task's current request (Celery keeps it per thread)."""
    request = dict(vars(task.request))

    def in_request(job: Job) -> Outcome:
        task.push_request(request)
        try:
            return run(job)
        finally:
            task.pop_request()

    return in_request


def _run_threads(
    task: Any,
    handler: Handler,
    jobs: list[Job],
    context: WorkerContext,
    spec: JobTypeSpec,
    reports: Reports,
    threads: int,
) -> list[Outcome]:
    one = _in_request(task, lambda job: run_one(task, handler, job, context, spec, reports))
    with ThreadPoolExecutor(min(threads, len(jobs)), thread_name_prefix="zeebe-batch") as pool:
        return list(pool.map(one, jobs))


def _run_async(
    task: Any, handler: Handler, jobs: list[Job], context: WorkerContext, spec: JobTypeSpec, reports: Reports
) -> list[Outcome]:
    """Each job's run as a coroutine on the process's loop, at most ``ZEEBE_CELERY_BATCH_CONCURRENCY`` at once."""
    loop = event_loop()

    async def call(job: Job, bound_task: Any) -> Any:
        args, kwargs = handler.arguments(job, bound_task)
        # A handler still running at its own job's deadline is stopped there, as a single job is.
        return await asyncio.wait_for(handler.fn(*args, **kwargs), timeout=max(job.seconds_left(), _LEAST_WAIT))

    async def outcomes() -> list[Outcome]:
        free = asyncio.Semaphore(context.bridge.batch_concurrency)

        async def one(job: Job) -> Outcome:
            started = False
            try:
                async with free:
                    started = True
                    return await run_one_async(task, call, job, context, spec, reports)
            finally:
                if not started:  # cancelled while it waited for its turn
                    release_slot(context, job)

        return list(await asyncio.gather(*(one(job) for job in jobs)))

    try:
        return loop.run_until_complete(outcomes())
    except BaseException:
        # A time limit (or anything else) broke into the loop: cancel the batch's handlers (their jobs report
        # nothing and come back from Zeebe after their timeout; their slots are freed) and let them unwind.
        _unwind(loop)
        raise


def _unwind(loop: asyncio.AbstractEventLoop) -> None:
    pending = asyncio.all_tasks(loop)
    for running in pending:
        running.cancel()

    async def settle() -> None:
        await asyncio.gather(*pending, return_exceptions=True)

    loop.run_until_complete(settle())
