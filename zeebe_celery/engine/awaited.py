"""The end of one process instance that a request creating it waits for (gRPC's
CreateProcessInstanceWithResult, the REST API's ``awaitCompletion``)."""

from __future__ import annotations

import threading
from typing import Any

from zeebe_celery.engine.runtime import Runtime
from zeebe_celery.engine.state import ElementInstance

__all__ = ["AwaitedResult"]


class AwaitedResult:
    """Pass :meth:`register` as the instance's ``on_created`` (it runs before the instance does, so one that
    ends at once is still seen); ``done`` is set once the instance ends, and ``variables`` are then its
    variables, or None if it was terminated."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.done = threading.Event()
        self._outcome: list[dict[str, Any] | None] = []

    def finished(self, root: ElementInstance | None) -> None:
        self._outcome.append(dict(root.variables) if root is not None else None)
        self.done.set()

    def register(self, root: ElementInstance) -> None:
        self.runtime.await_result(root, self.finished)

    def give_up(self, root_key: int) -> None:
        """The request timed out: stop waiting for the instance."""
        with self.runtime.lock:
            self.runtime.stop_awaiting(root_key, self.finished)

    @property
    def variables(self) -> dict[str, Any] | None:
        return self._outcome[0]
