"""Which Celery pools can run which handlers: green pools (gevent, eventlet) cannot run async handlers.

asyncio lets one event loop run per OS thread, and every greenlet of a green pool shares the worker's one
thread: while one async handler's loop runs, a second fails at once ("Cannot run the event loop while
another loop is running"), and its job would be failed, spending a retry. A worker on a green pool with an
async ``@zeebe_task`` therefore refuses to start, naming the handlers. Sync handlers that wait on I/O are
what green pools are for; async ones run on prefork (batched, concurrently on the process's loop) or on the
threads pool (a loop per thread).
"""

from __future__ import annotations

import inspect
import sys
from typing import TYPE_CHECKING, Any

from zeebe_celery.errors import ConfigurationError

if TYPE_CHECKING:
    from celery import Celery

__all__ = ["GREEN_POOLS", "green_threads", "refuse_async_on_green_pool"]

GREEN_POOLS = frozenset({"gevent", "eventlet"})


def _pool_name(pool_cls: Any) -> str:
    if isinstance(pool_cls, str):
        return pool_cls.rsplit(":", 1)[0].rsplit(".", 1)[-1]
    return str(getattr(pool_cls, "__module__", "")).rsplit(".", 1)[-1]


def refuse_async_on_green_pool(app: Celery, pool_cls: Any) -> None:
    """Raise ConfigurationError when ``pool_cls`` (the worker's pool: a name or Celery's pool class) is a
    green pool and ``app`` has async ``@zeebe_task`` handlers."""
    pool = _pool_name(pool_cls)
    if pool not in GREEN_POOLS:
        return
    handlers = sorted(
        name for name, task in app.tasks.items() if inspect.iscoroutinefunction(getattr(task, "zeebe_function", None))
    )
    if handlers:
        raise ConfigurationError(
            f"the {pool} pool cannot run async handlers (one asyncio loop runs per thread, and its greenlets "
            f"share one): {', '.join(handlers)}; run them on -P prefork or -P threads"
        )


def green_threads() -> bool:
    """Whether gevent or eventlet has patched this process's threads (a green pool's worker): then a
    thread is a greenlet, and an asyncio loop in a thread of its own would share the worker's one thread."""
    gevent = sys.modules.get("gevent.monkey")
    if gevent is not None and gevent.is_module_patched("threading"):
        return True
    eventlet = sys.modules.get("eventlet.patcher")
    return bool(eventlet is not None and eventlet.is_monkey_patched("thread"))
