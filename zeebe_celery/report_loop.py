"""A worker process's reports sent from an asyncio loop of its own, over a ``grpc.aio`` channel.

A pool process hands each report over and runs its next job; the loop keeps many calls in flight on one
thread, where blocking calls take a thread each and a hand-off through an executor's queue per report (the
calls themselves cost about the same: ``benchmarks/results/report-calls.md``). Only a report's first attempt goes
this way: one that fails goes back to the path every worker shares (:class:`~zeebe_celery.report.Reporter`),
on one of the loop's helper threads, with its retries, its NOT_FOUND rule and its incidents. The slots of
finished reports are freed together, :data:`~zeebe_celery.report_queue.RELEASE_LINGER` after the first.

The loop, its thread and its channel are made on the first report, in the process that sends it, so a
pool process never shares them with its parent.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc

from zeebe_celery.config import ZeebeSettings
from zeebe_celery.flow import InflightStore
from zeebe_celery.gateway.channel import channel_options
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub
from zeebe_celery.report_queue import RELEASE_LINGER, free_slots

__all__ = ["Done", "ReportLoop"]

logger = logging.getLogger(__name__)

Done = Callable[[BaseException | None], None]  # called on the loop with the call's error, or None
_Member = tuple[int, int]  # a job's (key, deadline)
# Threads for what may block: reports sent again after a failed first attempt, and freeing slots in Redis.
_HELPERS = 4


class ReportLoop:
    """Sends reports on a loop of its own, at most ``size`` in flight; a full loop makes the next wait.

    :meth:`flush` waits for every report (and any second attempt) and every slot, then closes the loop:
    :meth:`send` raises RuntimeError afterwards, and the caller reports on its own thread.
    """

    def __init__(self, settings: ZeebeSettings, size: int) -> None:
        self._settings = settings
        self._free = threading.BoundedSemaphore(size)
        self._lock = threading.Condition()
        self._busy = 0  # reports sent and not yet settled, second attempts included
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stub: GatewayStub | None = None
        self._channel: grpc.aio.Channel | None = None
        self._calls: set[asyncio.Task[None]] = set()  # on the loop's thread only
        self._helpers = ThreadPoolExecutor(max_workers=_HELPERS, thread_name_prefix="zeebe-report")
        self._slots: dict[tuple[InflightStore, str], set[_Member]] = {}
        self._releasing = False

    # -- sending ---------------------------------------------------------------------------------------

    def send(self, rpc: str, request: Any, timeout: float, metadata: Any, done: Done) -> None:
        """Send ``request`` by ``rpc``; ``done`` runs on the loop with the outcome. Raises RuntimeError once
        the loop is flushed."""
        self._free.acquire()
        with self._lock:
            if self._closed:
                self._free.release()
                raise RuntimeError("the report loop is closed")
            self._busy += 1
            loop = self._loop or self._start()
        loop.call_soon_threadsafe(self._begin, rpc, request, timeout, metadata, done)

    def _start(self) -> asyncio.AbstractEventLoop:
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="zeebe-report-loop", daemon=True)
        self._thread.start()
        return loop

    def _begin(self, rpc: str, request: Any, timeout: float, metadata: Any, done: Done) -> None:
        task = self._ensure_loop().create_task(self._call(rpc, request, timeout, metadata, done))
        # The loop holds its tasks weakly: one nobody else held could vanish with its report unsent.
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        assert loop is not None
        return loop

    async def _call(self, rpc: str, request: Any, timeout: float, metadata: Any, done: Done) -> None:
        error: BaseException | None = None
        try:
            await getattr(self._gateway(), rpc)(request, timeout=timeout, metadata=metadata)
        except Exception as exc:  # noqa: BLE001 - the reporter decides what a failure means
            error = exc
        try:
            done(error)
        except Exception:  # a bug in done must not stop the loop, nor leave the report counted
            logger.exception("a report's completion failed")
        finally:
            self._free.release()
            self._settled()

    def _gateway(self) -> GatewayStub:
        if self._stub is None:
            settings = self._settings
            options = channel_options(settings)
            if settings.uses_tls:
                root = settings.ca_certificate_path.read_bytes() if settings.ca_certificate_path else None
                credentials = grpc.ssl_channel_credentials(root_certificates=root)
                self._channel = grpc.aio.secure_channel(settings.gateway_address, credentials, options)
            else:
                self._channel = grpc.aio.insecure_channel(settings.gateway_address, options)
            self._stub = GatewayStub(self._channel)
        return self._stub

    def again(self, attempt: Callable[[], object]) -> None:
        """Run ``attempt`` (a report's second try, on the shared path) on a helper thread; flush waits for it."""
        with self._lock:
            self._busy += 1
        self._helpers.submit(self._run_again, attempt)

    def _run_again(self, attempt: Callable[[], object]) -> None:
        try:
            attempt()
        except Exception:  # the shared path handles gateway errors itself; anything else must not be lost
            logger.exception("a report's second attempt failed")
        finally:
            self._settled()

    def _settled(self) -> None:
        with self._lock:
            self._busy -= 1
            if self._busy == 0:
                self._lock.notify_all()

    # -- slots -----------------------------------------------------------------------------------------

    def release(self, store: InflightStore, job_type: str, member: _Member) -> None:
        """Free a reported job's slot together with those of the reports that finish within the linger."""
        with self._lock:
            closed = self._closed
            if not closed:
                self._slots.setdefault((store, job_type), set()).add(member)
                if self._releasing:
                    return
                self._releasing = True
                self._busy += 1
            loop = self._loop
        if closed:  # a report sent on its caller's thread after the flush
            free_slots(store, job_type, {member})
        elif loop is not None:
            loop.call_soon_threadsafe(self._linger)
        else:
            self._helpers.submit(self._free_slots)

    def _linger(self) -> None:
        # Freed on the loop itself: one Redis call every few milliseconds costs less than waking a thread.
        self._ensure_loop().call_later(RELEASE_LINGER, self._free_slots)

    def _free_slots(self) -> None:
        try:
            with self._lock:
                waiting, self._slots, self._releasing = self._slots, {}, False
            for (owner, kind), members in waiting.items():
                free_slots(owner, kind, members)
        finally:
            self._settled()

    # -- the end ---------------------------------------------------------------------------------------

    def flush(self) -> None:
        """Wait until every report is settled and its slot freed, then close the loop and its channel."""
        with self._lock:
            self._lock.wait_for(lambda: self._busy == 0)
            self._closed = True
            loop, self._loop = self._loop, None
        self._helpers.shutdown(wait=True)
        if loop is None:
            return
        channel = self._channel
        if channel is not None:
            asyncio.run_coroutine_threadsafe(channel.close(None), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if not loop.is_running():
            loop.close()
