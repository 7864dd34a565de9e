"""Publishing activated jobs to Celery, on the queue of their job type: one message per job, or per batch
of up to the type's ``batch`` jobs (see :mod:`zeebe_celery.batch`)."""

from __future__ import annotations

import binascii
import contextlib
import itertools
import json
import logging
import operator
import os
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from celery import Celery

from zeebe_celery import tracing
from zeebe_celery.config import BridgeSettings, broker_redis
from zeebe_celery.confirmed import ConfirmedPublisher
from zeebe_celery.errors import ConfigurationError
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.job import Job, JobKind, ListenerEventType, UserTaskProperties
from zeebe_celery.spec import JobTypeSpec, ZeebeTaskSpec

__all__ = ["AnyJob", "CeleryDispatcher", "Dispatcher", "batch_id", "chunks", "queue_name", "task_id"]

logger = logging.getLogger(__name__)


def queue_name(spec: ZeebeTaskSpec, bridge: BridgeSettings) -> str:
    """The queue a job type is routed to: the handler's ``queue=`` or the prefix plus the type."""
    return spec.resolve(bridge).queue


AnyJob = Job | pb.ActivatedJob


def _parsed(job: AnyJob) -> Job:
    return Job.from_activated(job) if isinstance(job, pb.ActivatedJob) else job


def _activated(job: AnyJob) -> pb.ActivatedJob:
    return job if isinstance(job, pb.ActivatedJob) else job.to_activated()


class Dispatcher(Protocol):
    """What the poller publishes through; :class:`CeleryDispatcher` is the real one."""

    def queue(self, job_type: str) -> str:
        """The queue the jobs of ``job_type`` go to."""

    def publish(self, job_type: str, jobs: Sequence[AnyJob]) -> None:
        """Send ``jobs`` as one batch; raise the broker's error when it cannot take them (none delivered)."""

    def queue_depth(self, job_type: str) -> int | None:
        """Messages waiting in the type's queue, or None when the broker cannot tell."""

    def ping(self) -> bool:
        """Whether the broker answers."""

    def close(self) -> None:
        """Release the broker connection."""


def task_id(job: Job | pb.ActivatedJob) -> str:
    """The Celery task id: one per activation of a job (its key and its deadline)."""
    return f"zeebe-{job.key}-{job.deadline}"


# The embedded-options part of a Celery protocol 2 body: no callbacks, no canvas.
_EMBED = '{"callbacks": null, "errbacks": null, "chain": null, "chord": null}'
# Redis transport options that change where kombu puts a message; with any of them set, kombu publishes.
_KOMBU_ONLY_OPTIONS = frozenset({"global_keyprefix", "sep", "priority_steps", "queue_order_strategy"})


_quote = json.encoder.encode_basestring_ascii  # the C encoder of JSON strings


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


_Encoder = Callable[[pb.ActivatedJob], str]

# Enum values as JSON text, by their protobuf number; a number newer than this package reads as the default.
_KIND_JSON = {number: _quote(kind.value) for number, kind in enumerate(JobKind)}
_EVENT_JSON = {number: _quote(event.value) for number, event in enumerate(ListenerEventType)}
_BPMN_ELEMENT = _quote(JobKind.BPMN_ELEMENT.value)
_UNSPECIFIED = _quote(ListenerEventType.UNSPECIFIED.value)
_LISTENER_KINDS = frozenset({pb.ActivatedJob.EXECUTION_LISTENER, pb.ActivatedJob.TASK_LISTENER})


def _listener_event_json(job: pb.ActivatedJob) -> str:
    # As Job.from_activated reads it: only a listener's job has an event (0, the default, is ASSIGNING).
    if job.kind not in _LISTENER_KINDS:
        return _UNSPECIFIED
    return _EVENT_JSON.get(job.listenerEventType, _UNSPECIFIED)


def _user_task_json(job: pb.ActivatedJob) -> str:
    if not job.HasField("userTask"):
        return "null"
    return json.dumps(UserTaskProperties.from_pb(job.userTask).model_dump(mode="json"))


# The fields whose JSON is not the protobuf attribute of the same (camel-case) name as it is.
_SPECIAL: dict[str, _Encoder] = {
    "kind": lambda job: _KIND_JSON.get(job.kind, _BPMN_ELEMENT),
    "listener_event_type": _listener_event_json,
    "user_task": _user_task_json,
    "tags": lambda job: json.dumps(list(job.tags)) if job.tags else "[]",
}


def _plain_encoder(name: str, annotation: object) -> _Encoder:
    attribute = _camel(name)
    if annotation is int:
        return operator.attrgetter(attribute)  # %d formats it
    if annotation is str:
        get = operator.attrgetter(attribute)
        return lambda job: _quote(get(job))
    if annotation == dict[str, Any]:
        # Variables and headers are spliced in as the gateway encoded them: never parsed on the poller.
        get = operator.attrgetter(attribute)
        return lambda job: get(job) or "{}"
    raise TypeError(f"Job.{name} ({annotation}) needs an encoder in dispatch._SPECIAL")


def _job_json_template() -> tuple[str, tuple[_Encoder, ...]]:
    """A Job's JSON in the message body, derived from Job's fields: the %-template and, per field, how its
    value is made from the protobuf."""
    parts: list[str] = []
    encoders: list[_Encoder] = []
    for name, info in Job.model_fields.items():
        special = _SPECIAL.get(name)
        parts.append(f'"{name}": %{"d" if special is None and info.annotation is int else "s"}')
        encoders.append(special or _plain_encoder(name, info.annotation))
    return "{" + ", ".join(parts) + "}", tuple(encoders)


_JOB_JSON, _JOB_ENCODERS = _job_json_template()

# The fields that differ between the jobs of one element: each job's JSON is its element's text (every other
# field, encoded once) with these filled in. A job with tags or user-task properties is encoded whole.
_PER_JOB = ("key", "process_instance_key", "element_instance_key", "retries", "deadline", "variables")
_per_job = operator.attrgetter(*(_camel(name) for name in _PER_JOB))
_of_element = operator.attrgetter(
    *(_camel(name) for name in Job.model_fields if name not in _PER_JOB and name not in ("user_task", "tags"))
)
# Element texts kept at most; past it the cache starts again (a poller serves a bounded set of elements).
_ELEMENTS_KEPT = 4096
_element_texts: dict[tuple[Any, ...], str] = {}


def _element_text(job: pb.ActivatedJob) -> str:
    """The %-template of a job's JSON with every field but :data:`_PER_JOB` filled in."""
    values = [encode(job) for encode in _JOB_ENCODERS]
    parts = _JOB_JSON.split("%")
    text = parts[0]
    for name, value, part in zip(Job.model_fields, values, parts[1:], strict=True):
        conversion, rest = part[0], part[1:]
        filled = f"%{conversion}" if name in _PER_JOB else (f"%{conversion}" % value).replace("%", "%%")
        text += filled + rest.replace("%", "%%")
    return text


def _job_json(job: pb.ActivatedJob) -> str:
    if job.tags or job.HasField("userTask"):
        return _JOB_JSON % tuple([encode(job) for encode in _JOB_ENCODERS])
    element = _of_element(job)
    text = _element_texts.get(element)
    if text is None:
        if len(_element_texts) >= _ELEMENTS_KEPT:
            _element_texts.clear()
        text = _element_texts[element] = _element_text(job)
    key, instance, element_instance, retries, deadline, variables = _per_job(job)
    return text % (key, instance, element_instance, retries, deadline, variables or "{}")


class _MessageTemplate:
    """Builds the message kombu's Redis transport would store for ``send_task(name, args=(job,), queue=...)``:
    Celery's task protocol 2 with a JSON body, by string formatting from the protobuf job, per queue.

    ``argsrepr`` names the job instead of repeating its variables, which may hold personal data.

    The poller publishes every job it activates, so this is its hot path: a few microseconds per job.
    """

    def __init__(self, name: str, queue: str, origin: str) -> None:
        self._tags = itertools.count()
        self._tag_prefix = uuid.uuid4().hex
        self._expires: tuple[int, str] = (-1, "")
        head = {"lang": "py", "task": name}
        tail: dict[str, Any] = {
            "group": None,
            "group_index": None,
            "retries": 0,
            "timelimit": [None, None],
            "parent_id": None,
            "kwargsrepr": "{}",
            "origin": origin,
            "ignore_result": True,
            "replaced_task_nesting": 0,
            "stamped_headers": None,
            "stamps": {},
        }
        properties = {
            "reply_to": "",
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0,
            "body_encoding": "base64",
        }
        self._format = (
            '{"body": "%s", "content-encoding": "utf-8", "content-type": "application/json", "headers": '
            + json.dumps(head)[:-1]
            + ', "id": "%s", "shadow": null, "eta": null, "expires": "%s", "root_id": "%s", "argsrepr": %s, '
            + json.dumps(tail)[1:-1]
            + '%s}, "properties": {"correlation_id": "%s", '
            + json.dumps(properties)[1:-1]
            + ', "delivery_tag": "%s"}}'
        )

    def render(self, job: pb.ActivatedJob, extra_headers: Mapping[str, str] | None) -> str:
        """The message of one job: its Job as the task's one argument."""
        return self._render(
            task_id(job), _job_json(job), job.deadline, f"(<zeebe job {job.key} of {job.type}>,)", extra_headers
        )

    def render_batch(self, jobs: Sequence[pb.ActivatedJob], extra_headers: Mapping[str, str] | None) -> str:
        """The message of a batch: the list of its jobs as the task's one argument, expiring at the latest
        deadline (the earlier ones are checked per job by the worker)."""
        first = jobs[0]
        return self._render(
            batch_id(jobs),
            "[" + ", ".join([_job_json(job) for job in jobs]) + "]",
            max(job.deadline for job in jobs),
            f"(<zeebe batch of {len(jobs)} {first.type} jobs, from job {first.key}>,)",
            extra_headers,
        )

    def _render(
        self, identifier: str, argument: str, expires_ms: int, argsrepr: str, extra_headers: Mapping[str, str] | None
    ) -> str:
        body = f"[[{argument}], {{}}, {_EMBED}]"
        extra = "".join(f", {_quote(k)}: {_quote(v)}" for k, v in extra_headers.items()) if extra_headers else ""
        expires = self._expires
        if expires[0] != expires_ms:
            # The jobs of one activation share their deadline: its text is made once.
            expires = self._expires = (expires_ms, datetime.fromtimestamp(expires_ms / 1000, tz=UTC).isoformat())
        return self._format % (
            binascii.b2a_base64(body.encode(), newline=False).decode("ascii"),
            identifier,
            expires[1],
            identifier,
            _quote(argsrepr),
            extra,
            identifier,
            f"{self._tag_prefix}-{next(self._tags)}",
        )


def batch_id(jobs: Sequence[Job | pb.ActivatedJob]) -> str:
    """The Celery task id of a batch: its first job's activation and its size."""
    return f"zeebe-batch-{jobs[0].key}-{jobs[0].deadline}-{len(jobs)}"


def chunks(jobs: Sequence[AnyJob], size: int) -> list[Sequence[AnyJob]]:
    """``jobs`` in consecutive batches of at most ``size``."""
    return [jobs[start : start + size] for start in range(0, len(jobs), size)]


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
        types: Mapping[str, JobTypeSpec],
        bridge: BridgeSettings,
        *,
        direct: bool | None = None,
    ) -> None:
        self._app = app
        self._queues = {job_type: settled.queue for job_type, settled in types.items()}
        self._names = {job_type: settled.task_name for job_type, settled in types.items()}
        self._batches = {job_type: settled.batch for job_type, settled in types.items()}
        located = broker_redis(bridge, app)
        self._redis = located.connect(socket_timeout=5, socket_connect_timeout=5) if located else None
        options = set(app.conf.broker_transport_options or {})
        possible = self._redis is not None and not options & _KOMBU_ONLY_OPTIONS
        if direct and not possible:
            raise ConfigurationError("direct publishing needs a Redis broker without key prefixes or priorities")
        self._direct = possible if direct is None else direct
        self._origin = f"zeebe-celery@{socket.gethostname()}:{os.getpid()}"
        # Other brokers (RabbitMQ) get the jobs through a connection of the dispatcher's own, in confirm mode.
        self._confirmed = None if self._redis is not None else ConfirmedPublisher(app)
        self._templates = {
            job_type: _MessageTemplate(self._names[job_type], queue, self._origin)
            for job_type, queue in self._queues.items()
        }

    def queue(self, job_type: str) -> str:
        return self._queues[job_type]

    def publish(self, job_type: str, jobs: Sequence[AnyJob]) -> None:
        """Send ``jobs`` of ``job_type`` as one batch. Raises the broker's error on failure.

        Jobs may be :class:`Job` values or the gateway's protobuf messages, which are forwarded without
        parsing their variables.
        """
        if not jobs:
            return
        direct = self._direct_messages(job_type, jobs)
        if direct is not None:
            assert self._redis is not None
            # LPUSH keeps the order for the workers' BRPOP: the first job is taken first.
            queue, messages = direct
            self._redis.lpush(queue, *messages)
            return
        if self._batches[job_type] > 1:
            self._publish_batches(job_type, chunks(jobs, self._batches[job_type]))
            return
        name = self._names[job_type]
        queue = self._queues[job_type]
        with self._producer() as producer, producer.batch(max_size=len(jobs) + 1):
            for any_job in jobs:
                job = _parsed(any_job)
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

    def _direct_messages(self, job_type: str, jobs: Sequence[AnyJob]) -> tuple[str, list[str]] | None:
        """The queue and the messages that publishing ``jobs`` LPUSHes to the Redis broker (one per job, or per
        batch); None when this dispatcher publishes through kombu."""
        if not self._direct:
            return None
        queue = self._queues[job_type]
        template = self._templates[job_type]
        traced = tracing.recording()
        size = self._batches[job_type]
        if size > 1:
            batches = [[_activated(job) for job in batch] for batch in chunks(jobs, size)]
            return queue, [
                template.render_batch(batch, tracing.dispatch_headers(_parsed(batch[0]), queue) if traced else None)
                for batch in batches
            ]
        return queue, [
            template.render(_activated(job), tracing.dispatch_headers(_parsed(job), queue) if traced else None)
            for job in jobs
        ]

    def _producer(self) -> contextlib.AbstractContextManager[Any]:
        if self._confirmed is not None:
            return self._confirmed.producer()
        return self._app.producer_or_acquire()  # type: ignore[no-any-return]

    def _publish_batches(self, job_type: str, batches: list[Sequence[AnyJob]]) -> None:
        """Send each of ``batches`` as one message; the dispatch is traced on each batch's first job."""
        queue = self._queues[job_type]
        with self._producer() as producer, producer.batch(max_size=len(batches) + 1):
            for batch in batches:
                jobs = [_parsed(job) for job in batch]
                self._app.send_task(
                    self._names[job_type],
                    args=([job.model_dump(mode="json") for job in jobs],),
                    task_id=batch_id(jobs),
                    queue=queue,
                    expires=max(jobs, key=operator.attrgetter("deadline")).deadline_at,
                    producer=producer,
                    serializer="json",
                    retry=False,
                    headers=tracing.dispatch_headers(jobs[0], queue),
                )

    def queue_depth(self, job_type: str) -> int | None:
        """Messages waiting in the type's queue: the Redis list's length, or the AMQP queue's ready count."""
        if self._redis is not None:
            return int(self._redis.llen(self._queues[job_type]))
        if self._confirmed is not None:
            return self._confirmed.queue_depth(self._queues[job_type])
        return None

    def ping(self) -> bool:
        """Whether the Celery broker answers."""
        try:
            if self._redis is not None:
                return bool(self._redis.ping())
            if self._confirmed is not None:
                return self._confirmed.ping()
            with self._app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1)
            return True
        except Exception:  # noqa: BLE001 - any failure means "not reachable"
            return False

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()
        if self._confirmed is not None:
            self._confirmed.close()
