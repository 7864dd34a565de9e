"""A worker process's reports sent from background threads, a bounded number at a time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

__all__ = ["ReportQueue"]

logger = logging.getLogger(__name__)


class ReportQueue:
    """Reports of one worker process sent from background threads, at most ``size`` at a time.

    With it, a pool process runs its next job while the gateway answers the last report, instead of
    waiting one round trip per job. A job's slot is freed once its report is done. A full queue makes the
    next report wait, so a slow gateway still slows the worker down. :meth:`flush` waits for every report.
    """

    def __init__(self, size: int) -> None:
        self._free = threading.BoundedSemaphore(size)
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="zeebe-report")

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

    def flush(self) -> None:
        """Wait until every submitted report is done; the queue takes no more reports after this."""
        self._executor.shutdown(wait=True)
