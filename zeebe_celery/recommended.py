"""The Celery settings the README recommends for a bridge worker: the cheapest that keep every guarantee.

- ``worker_prefetch_multiplier = 1``: a worker process takes the next job only when it is free (on Redis
  the worker's boot also turns on ``worker_disable_prefetch``, so no job message waits in a worker's memory,
  where a killed worker or a Redis restart would lose it).
- ``task_acks_late = False`` (Celery's default): Zeebe, not the broker, hands out a job again whose worker
  died, after the job's timeout; a late ack only adds a broker round trip per job (and on RabbitMQ a second
  run of a job whose worker died, while Zeebe still counts it as that worker's).
- JSON only (``task_serializer``, ``accept_content``): the worker and the poller refuse anything else.
- ``broker_transport_options = {"ack_emulation": False}`` on Redis: kombu's unacked bookkeeping (a MULTI on
  receive and on ack) would restore a lost message an hour later, long past its job's deadline.

:func:`deviations` names how an app differs from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery import Celery

__all__ = ["CELERY_SETTINGS", "REDIS_TRANSPORT_OPTIONS", "deviations"]

CELERY_SETTINGS: Mapping[str, Any] = {
    "worker_prefetch_multiplier": 1,
    "task_acks_late": False,
    "task_serializer": "json",
    "accept_content": ["json"],
}
REDIS_TRANSPORT_OPTIONS: Mapping[str, Any] = {"ack_emulation": False}


def _plain(value: Any) -> Any:
    """A setting as compared: a tuple of content types reads as the list it stands for."""
    return list(value) if isinstance(value, tuple) else value


def _on_redis(app: Celery) -> bool:
    url = app.conf.broker_read_url or app.conf.broker_url or ""
    url = url[0] if isinstance(url, list | tuple) and url else url
    return str(url).partition("://")[0] in ("redis", "rediss", "sentinel", "unix")


def deviations(app: Celery) -> list[str]:
    """How ``app``'s settings differ from the recommended ones, one sentence each (empty when they follow them),
    including any ``@zeebe_task`` of the app that acknowledges late on its own."""
    found = [
        f"{name} is {app.conf[name]!r}, not {wanted!r}"
        for name, wanted in CELERY_SETTINGS.items()
        if _plain(app.conf[name]) != _plain(wanted)
    ]
    if _on_redis(app):
        options = app.conf.broker_transport_options or {}
        found += [
            f"broker_transport_options[{name!r}] is {options.get(name, 'unset')!r}, not {wanted!r}"
            for name, wanted in REDIS_TRANSPORT_OPTIONS.items()
            if options.get(name) != wanted
        ]
    found += [
        f"task {name} acknowledges late"
        for name, task in sorted(app.tasks.items())
        if getattr(task, "zeebe_function", None) is not None and task.acks_late
    ]
    return found
