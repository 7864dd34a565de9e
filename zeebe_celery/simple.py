"""``GatewayClient``: the seed's simple gateway client, a :class:`ZeebeClient` with a blocking ``subscribe``.

::

    client = GatewayClient(worker_name="test_worker", host="localhost", port=26500)
    client.subscribe("io.camunda.zeebe:userTask", lambda task: print(task))

The task the callback receives is a :class:`~zeebe_celery.job.Job`, which also has the seed's property
names (``task_type``, ``task_id``, ``process_id``). One subscription runs per thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from zeebe_celery.config import ZeebeSettings, load_settings
from zeebe_celery.errors import FailedPreconditionError, GatewayError, NotFoundError, ZeebeCeleryError
from zeebe_celery.gateway.client import DurationLike, JobCall, Variables, ZeebeClient
from zeebe_celery.job import Job
from zeebe_celery.results import JobResult

__all__ = ["GatewayClient"]

logger = logging.getLogger(__name__)

Callback = Callable[[Job], object]


def _key(job: Job | int) -> int:
    return job.key if isinstance(job, Job) else int(job)


class _Subscription:
    """One running :meth:`GatewayClient.subscribe`: its stop event and the jobs it holds open.

    A job holds its slot from activation until it is reported (complete, fail or throw) or its deadline
    passes, so at most ``size`` jobs are activated and not yet reported.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.stopping = threading.Event()
        self._held: dict[int, float] = {}
        self._changed = threading.Condition()

    def hold(self, job: Job) -> None:
        with self._changed:
            self._held[job.key] = job.deadline / 1000

    def release(self, key: int) -> None:
        with self._changed:
            if self._held.pop(key, None) is not None:
                self._changed.notify_all()

    def stop(self) -> None:
        self.stopping.set()
        with self._changed:
            self._changed.notify_all()

    def wait_for_free(self) -> int:
        """Block until a slot is free (or the subscription stops); the number of free slots."""
        with self._changed:
            while True:
                now = time.time()
                for key in [k for k, deadline in self._held.items() if deadline <= now]:
                    del self._held[key]  # past its deadline: Zeebe hands it out again, the slot is free
                free = self.size - len(self._held)
                if free > 0 or self.stopping.is_set():
                    return free
                # Woken by a report or stop(); else the earliest deadline frees a slot.
                self._changed.wait(min(self._held.values()) - now)


class GatewayClient(ZeebeClient):
    """A :class:`ZeebeClient` with the seed's constructor and ``subscribe(job_type, callback)``.

    ``host`` and ``port`` name the gateway (plaintext on loopback, TLS elsewhere, as for
    ``ZEEBE_ADDRESS``); without them the settings come from the environment and ``.env``. Every RPC of
    :class:`ZeebeClient` is on it too. Raises ConfigurationError for contradictory settings.
    """

    def __init__(
        self,
        worker_name: str = "zeebe-celery",
        host: str | None = None,
        port: int = 26500,
        *,
        settings: ZeebeSettings | None = None,
        **options: Any,
    ) -> None:
        if settings is None:
            settings = load_settings(ZeebeSettings, **({"address": f"{host}:{port}"} if host else {}))
        super().__init__(settings, **options)
        self.worker_name = worker_name
        self._calls: set[JobCall] = set()
        self._subscriptions: set[_Subscription] = set()
        # Which subscription holds each job it activated, until the job is reported.
        self._holders: dict[int, _Subscription] = {}
        self._calls_lock = threading.Lock()
        self._closed = False

    def subscribe(
        self,
        job_type: str,
        callback: Callback,
        *,
        max_jobs: int = 32,
        timeout: DurationLike = 300.0,
        request_timeout: DurationLike = 10.0,
        fetch_variables: Sequence[str] | None = None,
    ) -> None:
        """Call ``callback`` for each job of ``job_type``, with at most ``max_jobs`` open; blocks.

        A job is open from its activation until it is completed, failed or thrown through this client (or
        its deadline passes), so a callback that leaves its job to be reported later still holds a slot.
        It returns once :meth:`stop` or :meth:`close` is called from another thread. A callback that
        raises fails its job with one retry less; the loop goes on. A callback that returns leaves the
        job to be completed (or failed) later, with :meth:`complete_job`. Gateway errors are retried with
        back-off, never ending the loop.
        """
        if max_jobs < 1:
            raise ValueError(f"max_jobs must be at least 1, got {max_jobs}")
        subscription = _Subscription(max_jobs)
        with self._calls_lock:
            if self._closed:
                return
            self._subscriptions.add(subscription)
        failures = 0

        def run(job: Job) -> None:
            try:
                callback(job)
            except Exception as exc:
                logger.warning("callback for job %s (%s) failed: %s", job.key, job.type, exc, exc_info=True)
                self._fail_quietly(job, f"{type(exc).__name__}: {exc}")

        try:
            with ThreadPoolExecutor(max_workers=max_jobs, thread_name_prefix=f"subscribe-{job_type}") as pool:
                while not subscription.stopping.is_set():
                    capacity = subscription.wait_for_free()
                    if subscription.stopping.is_set():
                        break
                    try:
                        call = self.open_activate_jobs(
                            job_type,
                            worker=self.worker_name,
                            timeout=timeout,
                            max_jobs=capacity,
                            fetch_variables=fetch_variables,
                            request_timeout=request_timeout,
                        )
                        with self._calls_lock:
                            self._calls.add(call)
                        if subscription.stopping.is_set():
                            call.cancel()
                        try:
                            for job in call:
                                subscription.hold(job)
                                with self._calls_lock:
                                    self._holders[job.key] = subscription
                                pool.submit(run, job)
                        finally:
                            with self._calls_lock:
                                self._calls.discard(call)
                        failures = 0
                    except RuntimeError:
                        if subscription.stopping.is_set():
                            break  # closed from another thread while opening the next call
                        raise
                    except ZeebeCeleryError as exc:
                        if subscription.stopping.is_set():
                            break
                        failures += 1
                        delay = self._retry.backoff(failures)
                        logger.warning("activating %s jobs failed (%s); retrying in %.2fs", job_type, exc, delay)
                        subscription.stopping.wait(delay)
        finally:
            with self._calls_lock:
                self._subscriptions.discard(subscription)

    def stop(self) -> None:
        """End every running :meth:`subscribe` loop after its current jobs; safe from any thread, twice."""
        with self._calls_lock:
            calls = list(self._calls)
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.stop()
        for call in calls:
            call.cancel()

    def close(self) -> None:
        """Stop subscribing and close the channel."""
        with self._calls_lock:
            self._closed = True
        self.stop()
        super().close()

    def complete_job(self, job_key: Job | int, variables: Variables = None, *, result: JobResult | None = None) -> None:
        """Complete a job (a task from the callback, or its key) with output ``variables`` and, for a
        listener or ad-hoc sub-process job, its ``result``."""
        with self._reporting(_key(job_key)):
            super().complete_job(_key(job_key), variables, result=result)

    def throw_error(
        self, job_key: Job | int, error_code: str, *, error_message: str = "", variables: Variables = None
    ) -> None:
        """Throw a BPMN error from a job (a task or its key)."""
        with self._reporting(_key(job_key)):
            super().throw_error(_key(job_key), error_code, error_message=error_message, variables=variables)

    def fail_job(
        self,
        job_key: Job | int,
        error_message: str = "",
        remaining_retries: int | None = None,
        *,
        retries: int | None = None,
        retry_backoff: DurationLike = 0.0,
        variables: Variables = None,
    ) -> None:
        """Fail a job (a task or its key) with ``remaining_retries`` left; at 0 Zeebe raises an incident.

        Without them, the job's retries less one (a task), or 0 (a bare key).
        """
        left = remaining_retries if remaining_retries is not None else retries
        if left is None:
            left = max(job_key.retries - 1, 0) if isinstance(job_key, Job) else 0
        with self._reporting(_key(job_key)):
            super().fail_job(
                _key(job_key),
                retries=left,
                error_message=error_message,
                retry_backoff=retry_backoff,
                variables=variables,
            )

    @contextlib.contextmanager
    def _reporting(self, key: int) -> Iterator[None]:
        """Free the job's slot once its report is taken, or once Zeebe says the job is gone."""
        try:
            yield
        except (NotFoundError, FailedPreconditionError):
            self._release(key)
            raise
        self._release(key)

    def _release(self, key: int) -> None:
        with self._calls_lock:
            holder = self._holders.pop(key, None)
        if holder is not None:
            holder.release(key)

    def _fail_quietly(self, job: Job, message: str) -> None:
        try:
            self.fail_job(job, message[:1000], max(job.retries - 1, 0))
        except GatewayError:
            logger.warning("could not fail job %s after its callback raised", job.key, exc_info=True)
