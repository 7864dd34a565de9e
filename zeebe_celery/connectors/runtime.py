"""``CamundaRuntime``: the connectors in one asyncio process, with no Celery and no Redis.

It activates each outbound connector's jobs over the gateway client under the bridge's flow-control rule
(never more jobs of a type than it can run: at most ``max_jobs`` in flight, asking only for free slots),
runs them on asyncio (sync ``run`` methods in threads), and reports them as a ``@zeebe_task`` worker
does. With inbound connectors it also takes ``_activate_inbound_connector`` jobs and runs their loops.
Its activations live in memory, so unlike on the fleet they end with the process. ``start()`` blocks
until SIGTERM or SIGINT, then stops activating and drains the jobs it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from zeebe_celery.config import ZeebeSettings, load_settings
from zeebe_celery.connectors import inbound
from zeebe_celery.connectors.activations import Activation
from zeebe_celery.connectors.outbound import OutboundConnector, input_variables
from zeebe_celery.errors import BpmnError, HandlerInputError
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.gateway.retry import RetryPolicy
from zeebe_celery.job import Job
from zeebe_celery.report import Reporter, reporting_client
from zeebe_celery.spec import spec_for

__all__ = ["CamundaRuntime"]

logger = logging.getLogger(__name__)

DEFAULT_JOB_TIMEOUT = 300.0

JobHandler = Callable[[Job], Any]


class CamundaRuntime:
    """Runs outbound and inbound connectors in this process until SIGTERM or SIGINT.

    ``inbound_connector`` is accepted as well, as the seed's example spells it. Settings come from the
    environment and ``.env`` unless given. Raises ConfigurationError (at construction) for contradictory
    settings and ValueError for two connectors of one job type.
    """

    def __init__(
        self,
        outbound_connectors: Sequence[type[OutboundConnector]] = (),
        inbound_connectors: Sequence[type[inbound.InboundConnector]] = (),
        *,
        inbound_connector: Sequence[type[inbound.InboundConnector]] = (),
        settings: ZeebeSettings | None = None,
        client: ZeebeClient | None = None,
        worker_name: str | None = None,
        max_jobs: int = 32,
        poll_timeout: float = 10.0,
    ) -> None:
        if max_jobs < 1:
            raise ValueError(f"max_jobs must be at least 1, got {max_jobs}")
        self.client = client or ZeebeClient(settings or load_settings(ZeebeSettings))
        self.worker_name = worker_name or f"{socket.gethostname()}:{os.getpid()}"
        self.max_jobs = max_jobs
        self.poll_timeout = poll_timeout
        self.outbound: dict[str, type[OutboundConnector]] = {}
        for connector in outbound_connectors:
            job_type = connector.connector_spec.type
            if job_type in self.outbound:
                raise ValueError(f"job type {job_type!r} has two connectors: {self.outbound[job_type]} and {connector}")
            self.outbound[job_type] = connector
        self.inbound = {c.connector_spec.name: c for c in (*inbound_connectors, *inbound_connector)}
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._retry = RetryPolicy()
        self._activations: dict[str, asyncio.Task[None]] = {}
        self._ready = threading.Event()

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Run until SIGTERM or SIGINT (or :meth:`stop`), then drain the jobs in flight and return."""
        asyncio.run(self.run(install_signal_handlers=threading.current_thread() is threading.main_thread()))

    def stop(self) -> None:
        """Ask a running runtime to stop; safe from any thread and more than once."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the runtime polls for jobs (for tests and embedding)."""
        return self._ready.wait(timeout)

    async def run(self, *, install_signal_handlers: bool = False) -> None:
        """The runtime as a coroutine: polls every type until :meth:`stop`, then drains."""
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if install_signal_handlers:
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._loop.add_signal_handler(signum, self._stop.set)
        handlers: dict[str, JobHandler] = {t: c.job_handler for t, c in self.outbound.items()}
        timeouts = {t: c.connector_spec.timeout or DEFAULT_JOB_TIMEOUT for t, c in self.outbound.items()}
        fetch: dict[str, list[str] | None] = {t: input_variables(c) for t, c in self.outbound.items()}
        backoffs = {t: spec_for(c.connector_spec.task_name).retry_backoff or 0.0 for t, c in self.outbound.items()}
        if self.inbound:
            handlers[inbound.ACTIVATE_JOB_TYPE] = self._activate
            timeouts[inbound.ACTIVATE_JOB_TYPE] = DEFAULT_JOB_TIMEOUT
            fetch[inbound.ACTIVATE_JOB_TYPE] = None
            backoffs[inbound.ACTIVATE_JOB_TYPE] = 0.0
        running: set[asyncio.Task[None]] = set()
        # Its own threads: one per long poll plus max_jobs per type (a sync run or a report each), never
        # asyncio's default executor, whose few threads the long polls alone could fill.
        executor = ThreadPoolExecutor(
            max_workers=len(handlers) * (1 + self.max_jobs) + len(self.inbound), thread_name_prefix="camunda-runtime"
        )
        self._loop.set_default_executor(executor)
        try:
            polls = [
                asyncio.create_task(self._poll(t, h, timeouts[t], fetch[t], backoffs[t], running))
                for t, h in handlers.items()
            ]
            logger.info(
                "CamundaRuntime polls %s on %s", ", ".join(sorted(handlers)), self.client.settings.gateway_address
            )
            self._ready.set()
            await self._stop.wait()
            logger.info("CamundaRuntime stopping: no more activations; draining %d job(s)", len(running))
            await asyncio.gather(*polls, return_exceptions=True)
            await asyncio.gather(*list(running), return_exceptions=True)
            for task in self._activations.values():
                task.cancel()
            await asyncio.gather(*self._activations.values(), return_exceptions=True)
        finally:
            if install_signal_handlers:
                for signum in (signal.SIGTERM, signal.SIGINT):
                    self._loop.remove_signal_handler(signum)
            self._ready.clear()

    # -- outbound -------------------------------------------------------------------------------------

    async def _poll(
        self,
        job_type: str,
        handler: JobHandler,
        timeout: float,
        fetch_variables: list[str] | None,
        backoff: float,
        running: set[asyncio.Task[None]],
    ) -> None:
        assert self._stop is not None
        free = asyncio.Semaphore(self.max_jobs)
        in_flight = 0
        failures = 0

        def done(task: asyncio.Task[None]) -> None:
            nonlocal in_flight
            in_flight -= 1
            running.discard(task)
            free.release()

        while not self._stop.is_set():
            # Wait for one free slot, then ask for every free slot: never more jobs than it can run.
            await free.acquire()
            free.release()
            if self._stop.is_set():
                break
            try:
                jobs = await asyncio.to_thread(
                    self.client.activate_jobs,
                    job_type,
                    worker=self.worker_name,
                    timeout=timeout,
                    max_jobs=self.max_jobs - in_flight,
                    fetch_variables=fetch_variables,
                    request_timeout=self.poll_timeout,
                )
                failures = 0
            except Exception as exc:  # noqa: BLE001 - whatever fails, this type's poll backs off and goes on
                failures += 1
                delay = self._retry.backoff(failures)
                logger.warning("activating %s jobs failed (%s); retrying in %.2fs", job_type, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                continue
            for job in jobs:
                await free.acquire()
                in_flight += 1
                task = asyncio.create_task(self._run_job(handler, job, backoff))
                running.add(task)
                task.add_done_callback(done)

    async def _run_job(self, handler: JobHandler, job: Job, backoff: float) -> None:
        if job.is_expired():
            logger.info("job %s (%s) is past its deadline; not running it", job.key, job.type)
            return
        reporter = Reporter(reporting_client(self.client, job), job, log=logger)
        report: Callable[[], object]
        try:
            if inspect.iscoroutinefunction(handler):
                variables = await handler(job)
            else:
                variables = await asyncio.to_thread(handler, job)
        except BpmnError as error:
            report = functools.partial(reporter.throw, error)
        except HandlerInputError as error:
            report = functools.partial(reporter.incident, str(error))
        except Exception as error:  # noqa: BLE001 - every connector failure becomes a FailJob
            report = functools.partial(reporter.fail, error, backoff)
        else:
            report = functools.partial(reporter.complete, variables)
        # The reporter encodes, retries until shortly before the deadline and decides what a refusal means.
        await asyncio.to_thread(report)

    # -- inbound --------------------------------------------------------------------------------------

    async def _activate(self, job: Job) -> None:
        cls, activation = inbound.new_activation(job, now=time.time())
        if cls.connector_spec.name not in self.inbound:
            raise HandlerInputError(f"invalid input: inbound connector {activation.connector!r} is not in this runtime")
        if activation.id not in self._activations:
            self._activations[activation.id] = asyncio.create_task(self._run_activation(cls, activation))
            logger.info("inbound activation %s started (correlation key %r)", activation.id, activation.correlation_key)

    async def _run_activation(self, cls: type[inbound.InboundConnector], activation: Activation) -> None:
        assert self._stop is not None
        try:
            while not inbound.is_too_old(cls, activation, now=time.time()):
                variables = await inbound.run_loop(cls, activation)
                if variables is not None:
                    try:
                        await asyncio.to_thread(inbound.publish, self.client, cls, activation, variables)
                        return
                    except Exception:  # any failure to publish: the activation lives on, next cycle tries again
                        logger.exception(
                            "inbound activation %s: publishing failed; next cycle tries again", activation.id
                        )
                await asyncio.sleep(cls.connector_spec.cycle)
        finally:
            self._activations.pop(activation.id, None)
