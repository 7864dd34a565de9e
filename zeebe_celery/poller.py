"""The poller: activates jobs from Zeebe and publishes them to Celery, never more than the fleet can take.

One activation loop runs per job type. Each iteration reserves free slots in the shared in-flight set
(:mod:`zeebe_celery.flow`), long-polls ActivateJobs for at most that many jobs, and publishes what it
got as one batch. Every activated job ends published or given back to Zeebe (FailJob with unchanged
retries and no back-off), and every reserved slot is committed or freed. The loops back off on errors
and never give up.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import FrameType
from typing import Any

from celery import Celery

from zeebe_celery import metrics
from zeebe_celery.config import BridgeSettings
from zeebe_celery.dispatch import AnyJob, CeleryDispatcher, Dispatcher
from zeebe_celery.errors import (
    BrokerUnavailableError,
    ConfigurationError,
    FailedPreconditionError,
    GatewayError,
    NotFoundError,
)
from zeebe_celery.flow import InflightStore, Reservation
from zeebe_celery.gateway.client import JobCall, ZeebeClient
from zeebe_celery.gateway.retry import RetryPolicy
from zeebe_celery.gateway.tls import check_tls
from zeebe_celery.gather import gather
from zeebe_celery.http import HealthServer, PollerHealth
from zeebe_celery.json_only import check_json_only
from zeebe_celery.poller_health import probe_health
from zeebe_celery.spec import JobTypeSpec, resolve, zeebe_task_specs

__all__ = ["BrokerUnavailableError", "Poller", "PollerHealth"]

logger = logging.getLogger(__name__)

# A reservation outlives the long poll it is for by this much, so it never lapses mid-call.
_RESERVATION_SLACK = 15.0
# How often the monitor refreshes health and the queue-depth gauges.
_MONITOR_INTERVAL = 2.0
# How long a loop with no free slot waits for a wake-up before it looks again.
_FULL_WAIT = 1.0
# A pushed job's reservation lives until it is committed, a moment later.
_STREAM_HOLD = 5.0
# A pushed job that waited for a slot this close to its deadline goes back to Zeebe instead.
_STREAM_MIN_LEFT = 5.0
# How long the start waits for the TLS handshake with the gateway.
_TLS_PROBE_SECONDS = 10.0

GIVE_BACK_MESSAGE = "zeebe-celery: handed back unrun by the poller ({reason})"


class Poller:
    """Activates the jobs of the app's ``@zeebe_task`` types and publishes them to their Celery queues.

    :meth:`start` starts the loops in threads and returns; :meth:`stop` ends them, publishing what was
    already activated or handing it back. :meth:`run` does both around a wait for SIGTERM or SIGINT.
    Raises ConfigurationError at start when there is nothing to poll or the app accepts anything but JSON.
    """

    def __init__(
        self,
        app: Celery,
        *,
        client: ZeebeClient,
        bridge: BridgeSettings,
        inflight: InflightStore,
        types: Sequence[str] | None = None,
        dispatcher: Dispatcher | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.app = app
        self.client = client
        self.bridge = bridge
        self.inflight = inflight
        self.worker_name = bridge.worker_name or f"zeebe-celery@{socket.gethostname()}:{os.getpid()}"
        self._types = list(types) if types else None
        self._dispatcher = dispatcher
        self._retry = retry or RetryPolicy(initial=0.1, maximum=10.0)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._open_calls: set[JobCall] = set()
        self._calls_lock = threading.Lock()
        self._unreleased: dict[str, set[tuple[int, int]]] = {}
        self._broker_down = threading.Event()
        self._started = False
        self._stopped = False
        self.specs: dict[str, JobTypeSpec] = {}
        self.health = PollerHealth()
        self.http: HealthServer | None = None

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Discover the job types and start one activation loop per type (and a stream, if asked)."""
        if self._started:
            raise RuntimeError("a Poller can be started once")
        check_json_only(self.app)
        specs = zeebe_task_specs(self.app)
        if self._types is not None:
            unknown = sorted(set(self._types) - set(specs))
            if unknown:
                raise ConfigurationError(
                    f"no @zeebe_task handles {', '.join(unknown)}; the app has: {', '.join(sorted(specs)) or 'none'}"
                )
            specs = {t: specs[t] for t in self._types}
        if not specs:
            raise ConfigurationError("the Celery app has no @zeebe_task handlers; nothing to poll")
        check_tls(self.client, timeout=_TLS_PROBE_SECONDS)
        self.specs = resolve(specs, self.bridge)
        if self._dispatcher is None:
            self._dispatcher = CeleryDispatcher(self.app, self.specs, self.bridge)
        self._started = True
        for spec in self.specs.values():
            logger.info(
                "polling %s -> queue %s (at most %d in flight, timeout %.0fs)",
                spec.job_type,
                self._dispatcher.queue(spec.job_type),
                spec.max_jobs,
                spec.timeout,
            )
            self._spawn(f"poll-{spec.job_type}", self._poll_loop, spec)
            if self.bridge.stream:
                self._spawn(f"stream-{spec.job_type}", self._stream_loop, spec)
        self._spawn("monitor", self._monitor_loop)
        if self.bridge.http_port is not None:
            self.http = HealthServer(self.health_report, host=self.bridge.http_host, port=self.bridge.http_port)
            self.http.start()

    def stop(self, timeout: float = 8.0) -> None:
        """Stop activating, finish what is in hand, and join the loops. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        with self._calls_lock:
            calls = list(self._open_calls)
        for call in calls:
            call.cancel()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            logger.warning("poller loops still running after %.0fs: %s", timeout, ", ".join(alive))
        if self.http is not None:
            self.http.stop()
        if self._dispatcher is not None:
            self._dispatcher.close()
        logger.info("poller stopped")

    def run(self) -> None:
        """Start, wait for SIGTERM/SIGINT, then stop. Signal handlers are restored afterwards."""
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

        def on_signal(signum: int, frame: FrameType | None) -> None:
            logger.info("received %s; stopping", signal.Signals(signum).name)
            self._stopping.set()

        for sig in previous:
            signal.signal(sig, on_signal)
        try:
            self.start()
            while not self._stopping.wait(1.0):
                pass
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # -- one iteration -------------------------------------------------------------------------------

    def poll_once(self, spec: JobTypeSpec) -> int:
        """Reserve free slots, activate at most that many jobs, publish them; returns how many.

        Raises GatewayError when activation failed before any job arrived, redis.RedisError when the
        in-flight store is down (nothing was activated then), and the broker's error when it refused
        the batch (the jobs were handed back first).
        """
        job_type = spec.job_type
        self._await_broker()
        self._release_pending(job_type)
        bound = spec.max_jobs
        # Like the Go client's poll threshold: under saturation, wait until a share of the bound (for a batched
        # type, a whole batch) is free and activate that many at once, not one job per call as each finishes.
        least = max(1, math.ceil(bound * self.bridge.activation_threshold), min(spec.batch, bound))
        reservation = self.inflight.reserve(
            job_type, want=bound, bound=bound, hold=self.bridge.poll_timeout + _RESERVATION_SLACK, least=least
        )
        if reservation is None:
            self.inflight.wait_for_free_slot(job_type, _FULL_WAIT)
            return 0
        jobs: list[AnyJob] = []
        try:
            jobs = self._activate(spec, reservation.count)
            if not self.bridge.stream:
                gather(
                    jobs,
                    batch=spec.batch,
                    room=reservation.count,
                    job_timeout=spec.timeout,
                    busy=lambda: bool(self._dispatcher and self._dispatcher.queue_depth(job_type)),
                    activate=lambda count, wait: self._activate(spec, count, wait),
                    stopping=self._stopping.is_set,
                )
        finally:
            # Runs on every path: the slots become the jobs' slots, and unused ones are freed.
            self._settle(spec, reservation, jobs)
        return len(jobs)

    def _activate(self, spec: JobTypeSpec, count: int, wait: float | None = None) -> list[AnyJob]:
        started = time.perf_counter()
        wait = wait if wait is not None else self.bridge.poll_timeout
        call = self.client.open_activate_jobs(
            spec.job_type,
            worker=self.worker_name,
            timeout=spec.timeout,
            max_jobs=count,
            fetch_variables=spec.fetch_variables,
            # A long poll would hold its reserved slots while the stream needs them: with a stream, the
            # backfill call answers at once.
            request_timeout=-1 if self.bridge.stream else wait,
            tenant_ids=spec.tenant_ids,
            tenant_filter=spec.tenant_filter,
        )
        jobs: list[AnyJob] = []
        try:
            with self._open(call):
                # Forwarded as the gateway sent them: the poller never parses a job's variables. One by
                # one, so the jobs received before an error are kept (and published or handed back).
                for job in call.activated():
                    jobs.append(job)
        except GatewayError:
            if not jobs:
                raise
            logger.warning("ActivateJobs for %s broke off after %d jobs", spec.job_type, len(jobs), exc_info=True)
        if jobs:
            metrics.ACTIVATED.labels(spec.job_type).inc(len(jobs))
            metrics.ACTIVATION_LATENCY.labels(spec.job_type).observe(time.perf_counter() - started)
        return jobs

    def _settle(self, spec: JobTypeSpec, reservation: Reservation, jobs: list[AnyJob]) -> None:
        """Commit the reservation to ``jobs`` and publish them; hand them back if that fails."""
        try:
            self.inflight.commit(reservation, ((j.key, j.deadline) for j in jobs))
            self.publish(spec, jobs)
        except Exception as exc:
            if jobs:
                # Activation pauses until the broker answers again, instead of activating jobs only to
                # hand them back.
                self._broker_down.set()
                self.give_back(spec, jobs, reason=f"{type(exc).__name__}: {exc}")
            raise

    def _await_broker(self) -> None:
        """Raise BrokerUnavailableError while a broker that refused a batch still does not answer."""
        if not self._broker_down.is_set():
            return
        assert self._dispatcher is not None
        if not self._dispatcher.ping():
            raise BrokerUnavailableError("the Celery broker does not answer; activation is paused")
        if self._broker_down.is_set():
            self._broker_down.clear()
            logger.info("the Celery broker answers again; activation resumes")

    def publish(self, spec: JobTypeSpec, jobs: list[AnyJob]) -> None:
        if not jobs:
            return
        assert self._dispatcher is not None
        self._dispatcher.publish(spec.job_type, jobs)
        metrics.DISPATCHED.labels(spec.job_type).inc(len(jobs))

    def give_back(self, spec: JobTypeSpec, jobs: Iterable[AnyJob], *, reason: str) -> None:
        """Return unrun jobs to Zeebe at once: FailJob with unchanged retries and no back-off."""
        given: list[tuple[int, int]] = []
        for job in jobs:
            client = self.client.with_options(retry_until=job.deadline / 1000, retry_budget=5.0)
            try:
                client.fail_job(job.key, retries=job.retries, error_message=GIVE_BACK_MESSAGE.format(reason=reason))
            except (NotFoundError, FailedPreconditionError):
                pass
            except GatewayError:
                logger.warning("could not hand back job %s; Zeebe re-activates it after its timeout", job.key)
            given.append((job.key, job.deadline))
        if given:
            metrics.GIVEN_BACK.labels(spec.job_type).inc(len(given))
            logger.warning("handed back %d %s jobs: %s", len(given), spec.job_type, reason)
            self._release(spec.job_type, given)

    def _release(self, job_type: str, jobs: Iterable[tuple[int, int]]) -> None:
        pending = self._unreleased.setdefault(job_type, set())
        pending.update(jobs)
        self._release_pending(job_type)

    def _release_pending(self, job_type: str) -> None:
        pending = self._unreleased.get(job_type)
        if not pending:
            return
        try:
            self.inflight.release(job_type, pending)
            pending.clear()
        except Exception:  # noqa: BLE001 - retried next iteration; the slots also lapse at the deadline
            logger.debug("flow-control store unavailable; %d releases pending", len(pending))

    # -- loops ---------------------------------------------------------------------------------------

    def _spawn(self, name: str, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _poll_loop(self, spec: JobTypeSpec) -> None:
        def iteration() -> None:
            activated = self.poll_once(spec)
            if self.bridge.stream and activated == 0:
                # With a stream open, polling only backfills (jobs that existed before the stream, or
                # that it could not take), so it looks again after a pause instead of long-polling.
                self._stopping.wait(self.bridge.poll_timeout)

        self._retry_forever(spec, "activation", iteration)

    def _stream_loop(self, spec: JobTypeSpec) -> None:
        def iteration() -> None:
            if self.inflight.in_flight(spec.job_type) >= spec.max_jobs:
                self.inflight.wait_for_free_slot(spec.job_type, _FULL_WAIT)
                return
            self._stream_once(spec)

        self._retry_forever(spec, "stream", iteration)

    def _retry_forever(self, spec: JobTypeSpec, what: str, iteration: Callable[[], None]) -> None:
        """Run ``iteration`` until stopping; after a failure, back off (longer each time in a row) and go on."""
        failures = 0
        while not self._stopping.is_set():
            try:
                iteration()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - the loop backs off and goes on, whatever happened
                if self._stopping.is_set():
                    break
                failures += 1
                self._log_failure(spec, what, exc, failures)
                self._stopping.wait(self._retry.backoff(failures))

    def _stream_once(self, spec: JobTypeSpec) -> None:
        """Take pushed jobs, each into a free slot; while the type is full, stop reading the stream.

        Not reading is the back-pressure: once gRPC's flow-control window is full the gateway cannot push,
        and yields further jobs back to Zeebe for other workers. Closing the stream instead would lose the
        jobs already on the wire until their timeout.
        """
        call = self.client.stream_activated_jobs(
            spec.job_type,
            worker=self.worker_name,
            timeout=spec.timeout,
            fetch_variables=spec.fetch_variables,
            tenant_ids=spec.tenant_ids,
            tenant_filter=spec.tenant_filter,
        )
        with self._open(call):
            for job in call.activated():
                metrics.ACTIVATED.labels(spec.job_type).inc()
                metrics.STREAMED.labels(spec.job_type).inc()
                try:
                    reservation = self._reserve_one(spec, job)
                except Exception as exc:
                    # The flow-control store is down: this pushed job goes back rather than wait out its
                    # timeout, and the loop backs off.
                    self.give_back(spec, [job], reason=f"{type(exc).__name__}: {exc}")
                    raise
                if reservation is None:
                    self.give_back(spec, [job], reason="stopping" if self.stopping else "deadline near, no free slot")
                    continue
                self._settle(spec, reservation, [job])

    @contextlib.contextmanager
    def _open(self, call: JobCall) -> Iterator[JobCall]:
        """Keep ``call`` where stop() can cancel it, for the duration of the block; cancel it after."""
        with self._calls_lock:
            self._open_calls.add(call)
        try:
            if self._stopping.is_set():
                call.cancel()
            yield call
        finally:
            with self._calls_lock:
                self._open_calls.discard(call)
            call.cancel()

    def _reserve_one(self, spec: JobTypeSpec, job: AnyJob) -> Reservation | None:
        """A slot for one pushed job, waiting for one to free; None when stopping or near its deadline."""
        while not self._stopping.is_set():
            reservation = self.inflight.reserve(spec.job_type, want=1, bound=spec.max_jobs, hold=_STREAM_HOLD)
            if reservation is not None:
                return reservation
            if job.deadline / 1000 - time.time() < _STREAM_MIN_LEFT:
                return None
            self.inflight.wait_for_free_slot(spec.job_type, _FULL_WAIT)
        return None

    def _log_failure(self, spec: JobTypeSpec, what: str, exc: BaseException, failures: int) -> None:
        metrics.POLL_ERRORS.labels(spec.job_type, type(exc).__name__).inc()
        if failures == 1 or failures % 10 == 0:  # the first, then every tenth: an outage does not flood the log
            logger.warning("%s of %s failed (%d in a row): %s", what, spec.job_type, failures, exc)

    def _monitor_loop(self) -> None:
        while not self._stopping.is_set():
            self.inflight.heartbeat()  # first, whatever the gateway answers: see flow.OWNER_TTL
            self.check_health()
            self._stopping.wait(_MONITOR_INTERVAL)

    def health_report(self) -> tuple[bool, dict[str, Any]]:
        """For /healthz: healthy when both answered at the last check, and that check is recent."""
        health = self.health
        fresh = time.time() - health.checked_at < 3 * _MONITOR_INTERVAL + 2
        ok = health.ok and fresh and not self._stopping.is_set()
        details: dict[str, Any] = {"gateway": health.gateway, "broker": health.broker, **health.details}
        if not fresh:
            details["stale"] = "no health check completed recently"
        return ok, details

    def check_health(self) -> PollerHealth:
        """Ask the gateway and the Celery broker whether they answer; refreshes the gauges too."""
        self.health = probe_health(self.client, self._dispatcher, self.inflight, self.specs)
        return self.health
