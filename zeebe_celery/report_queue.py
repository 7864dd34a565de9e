"""A worker process's reports sent from background threads, a bounded number at a time, and the slots they
free released together: the hand-off of a green pool's worker, and of a batch's own reports when the process
keeps none in flight (elsewhere reports go out on the report loop, :mod:`zeebe_celery.report_loop`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from zeebe_celery.flow import InflightStore

__all__ = ["ReportQueue", "free_slots"]

logger = logging.getLogger(__name__)

_Member = tuple[int, int]  # a job's (key, deadline)
# How long the thread that frees slots waits for more reports to finish first: a batch's reports finish
# within a few milliseconds of each other, and each Redis call costs more CPU than the slots it frees.
RELEASE_LINGER = 0.002


def free_slots(owner: InflightStore, kind: str, members: set[_Member]) -> None:
    """Free finished reports' slots in one Redis call; one that fails is tried again in the background."""
    try:
        owner.release(kind, members)
    except Exception as exc:  # noqa: BLE001 - tried again in the background; they lapse at their deadline anyway
        logger.warning("could not free %d %s slot(s) (%s); trying again", len(members), kind, exc)
        owner.release_later(kind, members)


class ReportQueue:
    """Reports of one worker process sent from background threads, at most ``size`` at a time.

    With it, a pool process runs its next job while the gateway answers the last report, instead of
    waiting one round trip per job. A job's slot is freed once its report is done (:meth:`release`). A full
    queue makes the next report wait, so a slow gateway still slows the worker down. :meth:`flush` waits for
    every report and every slot.
    """

    def __init__(self, size: int) -> None:
        self._free = threading.BoundedSemaphore(size)
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="zeebe-report")
        self._slots: dict[tuple[InflightStore, str], set[_Member]] = {}
        self._slots_lock = threading.Lock()
        self._releasing = False

    def submit(self, deliver: Callable[[], object]) -> None:
        self._free.acquire()
        try:
            self._executor.submit(self._run, deliver)
        except BaseException:
            self._free.release()
            raise

    def _run(self, deliver: Callable[[], object]) -> None:
        try:
            deliver()
        except Exception:  # deliver handles gateway errors itself; anything else must not kill the thread
            logger.exception("a background report failed")
        finally:
            self._free.release()

    def release(self, store: InflightStore, job_type: str, member: _Member) -> None:
        """Free a reported job's slot now, together with those of the reports that finish meanwhile.

        One Redis call frees every slot waiting when it starts: the thread that finds no release under way
        makes it (after :data:`RELEASE_LINGER`, for the reports finishing meanwhile), and goes on while more
        wait; the others leave theirs to it. A call that fails is tried
        again in the background (:meth:`InflightStore.release_later`).
        """
        with self._slots_lock:
            self._slots.setdefault((store, job_type), set()).add(member)
            if self._releasing:
                return
            self._releasing = True
        time.sleep(RELEASE_LINGER)
        while True:
            with self._slots_lock:
                if not self._slots:
                    self._releasing = False
                    return
                waiting, self._slots = self._slots, {}
            for (owner, kind), members in waiting.items():
                free_slots(owner, kind, members)

    def flush(self) -> None:
        """Wait until every submitted report is done and its slot freed; the queue takes no more reports."""
        self._executor.shutdown(wait=True)
