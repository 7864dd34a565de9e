"""Publishing activated jobs to Celery, one batch per activation, on the queue of their job type."""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import redis
from celery import Celery

from zeebe_celery import tracing
from zeebe_celery.config import BridgeSettings
from zeebe_celery.errors import ConfigurationError
from zeebe_celery.job import Job
from zeebe_celery.task import ZeebeTaskSpec

__all__ = ["CeleryDispatcher", "check_json_only", "queue_name", "task_id", "task_message"]

logger = logging.getLogger(__name__)

_PICKLE = ("pickle", "application/x-python-serialize")


def check_json_only(app: Celery) -> None:
    """Refuse a Celery app configured for pickle: job messages are JSON, and nothing else is accepted."""
    serializer = str(app.conf.task_serializer or "json")
    accepted = [str(c) for c in (app.conf.accept_content or ())]
    if serializer in _PICKLE or any(c in _PICKLE for c in accepted):
        raise ConfigurationError(
            "the Celery app accepts pickle (task_serializer/accept_content); zeebe-celery sends JSON only. "
            "Set task_serializer='json' and accept_content=['json']."
        )


def queue_name(spec: ZeebeTaskSpec, bridge: BridgeSettings) -> str:
    """The queue a job type is routed to: the handler's ``queue=`` or the prefix plus the type."""
    return spec.queue or f"{bridge.queue_prefix}{spec.job_type}"


def task_id(job: Job) -> str:
    """The Celery task id: one per activation of a job (its key and its deadline)."""
    return f"zeebe-{job.key}-{job.deadline}"


# The embedded-options part of a Celery protocol 2 body: no callbacks, no canvas.
_EMBED = '{"callbacks": null, "errbacks": null, "chain": null, "chord": null}'
# Redis transport options that change where kombu puts a message; with any of them set, kombu publishes.
_KOMBU_ONLY_OPTIONS = frozenset({"global_keyprefix", "sep", "priority_steps", "queue_order_strategy"})


def task_message(name: str, queue: str, job: Job, *, origin: str, headers: Mapping[str, str] | None = None) -> str:
    """The message kombu's Redis transport would store for ``send_task(name, args=(job,), queue=queue)``.

    Celery's task protocol 2 with a JSON body, as one JSON document for LPUSH onto the queue's list.
    ``argsrepr`` names the job instead of repeating its variables, which may hold personal data.
    """
    identifier = task_id(job)
    # A Job is built from JSON, so its fields are JSON values already.
    body = f"[[{json.dumps(job.__dict__)}], {{}}, {_EMBED}]"
    message_headers: dict[str, Any] = {
        "lang": "py",
        "task": name,
        "id": identifier,
        "shadow": None,
        "eta": None,
        "expires": job.deadline_at.isoformat(),
        "group": None,
        "group_index": None,
        "retries": 0,
        "timelimit": [None, None],
        "root_id": identifier,
        "parent_id": None,
        "argsrepr": f"(<zeebe job {job.key} of {job.type}>,)",
        "kwargsrepr": "{}",
        "origin": origin,
        "ignore_result": True,
        "replaced_task_nesting": 0,
        "stamped_headers": None,
        "stamps": {},
    }
    if headers:
        message_headers.update(headers)
    return json.dumps(
        {
            "body": base64.b64encode(body.encode()).decode("ascii"),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": message_headers,
            "properties": {
                "correlation_id": identifier,
                "reply_to": "",
                "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": queue},
                "priority": 0,
                "body_encoding": "base64",
                "delivery_tag": str(uuid.uuid4()),
            },
        }
    )


class CeleryDispatcher:
    """Publishes jobs as Celery task messages, with each task's ``expires`` set to the job's deadline.

    On a Redis broker a batch is one LPUSH of ready-made protocol 2 messages (what kombu's Redis
    transport stores, without its per-message overhead); on other brokers it goes through kombu's
    producer batch. :meth:`publish` raises the broker's error when it cannot take the batch; none of it
    is then assumed delivered.
    """

    def __init__(
        self,
        app: Celery,
        specs: Mapping[str, ZeebeTaskSpec],
        bridge: BridgeSettings,
        *,
        direct: bool | None = None,
    ) -> None:
        self._app = app
        self._queues = {job_type: queue_name(spec, bridge) for job_type, spec in specs.items()}
        self._names = {job_type: spec.task_name for job_type, spec in specs.items()}
        broker_url = bridge.broker_url or str(app.conf.broker_url or "")
        self._redis = (
            redis.Redis.from_url(broker_url, socket_timeout=5, socket_connect_timeout=5)
            if broker_url.startswith(("redis://", "rediss://", "unix://"))
            else None
        )
        options = set(app.conf.broker_transport_options or {})
        possible = self._redis is not None and not options & _KOMBU_ONLY_OPTIONS
        if direct and not possible:
            raise ConfigurationError("direct publishing needs a Redis broker without key prefixes or priorities")
        self._direct = possible if direct is None else direct
        self._origin = f"zeebe-celery@{socket.gethostname()}:{os.getpid()}"

    def queue(self, job_type: str) -> str:
        return self._queues[job_type]

    def publish(self, job_type: str, jobs: Sequence[Job]) -> None:
        """Send ``jobs`` of ``job_type`` as one batch. Raises the broker's error on failure."""
        if not jobs:
            return
        name = self._names[job_type]
        queue = self._queues[job_type]
        if self._direct:
            assert self._redis is not None
            messages = [
                task_message(name, queue, job, origin=self._origin, headers=tracing.dispatch_headers(job, queue))
                for job in jobs
            ]
            # LPUSH keeps the order for the workers' BRPOP: the first job is taken first.
            self._redis.lpush(queue, *messages)
            return
        with self._app.producer_or_acquire() as producer, producer.batch(max_size=len(jobs) + 1):
            for job in jobs:
                self._app.send_task(
                    name,
                    args=(job.model_dump(mode="json"),),
                    task_id=task_id(job),
                    queue=queue,
                    expires=job.deadline_at,
                    producer=producer,
                    serializer="json",
                    retry=False,
                    headers=tracing.dispatch_headers(job, queue),
                )

    def queue_depth(self, job_type: str) -> int | None:
        """Messages waiting in the type's queue, when the broker is Redis; None otherwise."""
        if self._redis is None:
            return None
        return int(self._redis.llen(self._queues[job_type]))

    def ping(self) -> bool:
        """Whether the Celery broker answers."""
        try:
            if self._redis is not None:
                return bool(self._redis.ping())
            with self._app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1)
            return True
        except Exception:  # noqa: BLE001 - any failure means "not reachable"
            return False

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()
