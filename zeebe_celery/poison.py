"""What a job message on a bridge queue must look like, and the reason one is poison.

kombu's Redis transport and Celery's consumer trust what they pop: a message that is not JSON, has the
wrong shape or a header of the wrong type raises in the worker's main process and stops the worker (some
go back on the queue first, so every fresh worker dies on them). :func:`inspect` reads a raw message the way
kombu and Celery will, and names what would go wrong, before either sees it. A message passes only if it is
what the poller publishes: Celery's task protocol 2 with a JSON body holding one :class:`~zeebe_celery.job.Job`
(or, for a type with ``batch=N``, one list of 1 to :data:`~zeebe_celery.spec.MAX_BATCH` jobs, each valid as
it would be alone) for a ``@zeebe_task`` of the queue, and nothing for Celery to call after it.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from kombu.utils.json import object_hook as kombu_object_hook
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from zeebe_celery.job import Job
from zeebe_celery.json_only import JSON_CONTENT_TYPE
from zeebe_celery.spec import MAX_BATCH

__all__ = ["Poison", "PoisonKind", "inspect"]


class PoisonKind(enum.StrEnum):
    """What is wrong with a poison message; the ``kind`` label of its metric."""

    NOT_JSON = "not_json"  # the message, or its body, is not JSON (pickle included)
    BAD_ENVELOPE = "bad_envelope"  # JSON, but not the envelope kombu stores
    BAD_HEADER = "bad_header"  # a Celery header Celery would choke on, or one that asks for more than a job
    BAD_BODY = "bad_body"  # the body is not the arguments of one job
    UNKNOWN_TASK = "unknown_task"  # names no @zeebe_task of its queue


@dataclass(frozen=True, slots=True)
class Poison:
    """Why a message cannot be handed to Celery: its kind and a sentence for the operator."""

    kind: PoisonKind
    reason: str


_Strict = ConfigDict(strict=True, extra="allow", populate_by_name=True)
_Limit = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _DeliveryInfo(BaseModel):
    model_config = _Strict

    exchange: str
    routing_key: str


class _Properties(BaseModel):
    model_config = _Strict

    delivery_tag: str
    body_encoding: Literal["base64"]
    delivery_info: _DeliveryInfo
    priority: int | None = None
    correlation_id: str | None = None
    reply_to: str | None = None


class _Headers(BaseModel):
    """The headers Celery reads, each of the type it expects; others pass as they are."""

    model_config = _Strict

    task: str
    id: str = Field(min_length=1)
    lang: str | None = None
    shadow: str | None = None
    root_id: str | None = None
    parent_id: str | None = None
    group: str | None = None
    group_index: int | None = None
    retries: int | None = None
    timelimit: Annotated[list[_Limit | None], Field(min_length=2, max_length=2)] | None = None
    eta: str | datetime | None = None
    expires: str | datetime | None = None
    argsrepr: str | None = None
    kwargsrepr: str | None = None
    origin: str | None = None
    ignore_result: bool | None = None
    replaced_task_nesting: int | None = None
    stamped_headers: list[str] | None = None
    stamps: dict[str, Any] | None = None
    compression: None = None  # the poller never compresses; kombu would decompress with whatever is named

    @field_validator("eta", "expires")
    @classmethod
    def _iso_time(cls, value: str | datetime | None) -> str | datetime | None:
        if isinstance(value, str):
            datetime.fromisoformat(value)
        return value


class _Envelope(BaseModel):
    """What kombu's Redis transport stores for a message."""

    model_config = _Strict

    body: str
    content_type: str = Field(alias="content-type")
    content_encoding: Literal["utf-8"] = Field(alias="content-encoding")
    headers: _Headers
    properties: _Properties


class _Embed(BaseModel):
    """The third part of a protocol 2 body: what Celery runs after the task. A job asks for nothing."""

    model_config = ConfigDict(strict=True, extra="forbid")

    callbacks: None = None
    errbacks: None = None
    chain: None = None
    chord: None = None


# kombu's loads builds a decoder per call (json.loads does, given a hook); one built once decodes the same.
_DECODER = json.JSONDecoder(object_hook=kombu_object_hook)


_PLAIN = json.JSONDecoder()


def _loads(text: str | bytes) -> Any:
    """JSON as kombu reads it: its hook turns ``{"__type__": ..., "__value__": ...}`` objects into values, and
    raises for a type it does not know. A text that cannot spell ``__type__`` (not even with escapes) has no
    such object, and is decoded without calling the hook for each of its objects."""
    text = text.decode() if isinstance(text, bytes) else text
    if "__type__" not in text and "\\" not in text:
        return _PLAIN.decode(text)
    return _DECODER.decode(text)


def _first_error(error: ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def inspect(raw: bytes | str, *, tasks: Collection[str], others: Collection[str] = ()) -> Poison | None:
    """None when ``raw`` is a job message for one of ``tasks`` (the ``@zeebe_task`` names of its queue), or a
    plain task message for one of ``others`` (the app's own tasks that also use bridge queues, such as the
    inbound connectors' runs); otherwise why it is poison."""
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    try:
        payload = _loads(text)
    except (ValueError, TypeError, RecursionError) as error:
        return Poison(PoisonKind.NOT_JSON, f"the message is not JSON: {error}")
    if not isinstance(payload, dict):
        return Poison(PoisonKind.BAD_ENVELOPE, f"the message is a JSON {type(payload).__name__}, not an object")
    try:
        envelope = _Envelope.model_validate(payload)
    except ValidationError as error:
        headers = error.errors()[0]["loc"][:1] == ("headers",)
        kind = PoisonKind.BAD_HEADER if headers else PoisonKind.BAD_ENVELOPE
        return Poison(kind, f"bad {'header' if headers else 'envelope'}: {_first_error(error)}")
    if envelope.content_type != JSON_CONTENT_TYPE:
        return Poison(
            PoisonKind.NOT_JSON,
            f"the body is {envelope.content_type!r}, and the bridge's queues take {JSON_CONTENT_TYPE} only",
        )
    task = envelope.headers.task
    if task not in tasks and task not in others:
        expected = ", ".join(sorted(tasks)) or "none"
        return Poison(PoisonKind.UNKNOWN_TASK, f"task {task!r} is not a @zeebe_task of this queue (it has: {expected})")
    return _inspect_body(envelope.body, job=task in tasks)


def _inspect_body(body: str, *, job: bool) -> Poison | None:
    try:
        decoded = base64.b64decode(body)  # as kombu decodes it: characters outside the alphabet are skipped
    except (binascii.Error, ValueError) as error:
        return Poison(PoisonKind.BAD_BODY, f"the body is not base64: {error}")
    try:
        arguments = _loads(decoded)
    except (ValueError, TypeError, RecursionError) as error:
        return Poison(PoisonKind.NOT_JSON, f"the body is not JSON: {error}")
    if not (isinstance(arguments, list) and len(arguments) == 3):
        return Poison(PoisonKind.BAD_BODY, "the body is not Celery's [args, kwargs, embed]")
    args, kwargs, embed = arguments
    if not (isinstance(args, list) and isinstance(kwargs, dict)):
        return Poison(PoisonKind.BAD_BODY, "the body is not Celery's [args, kwargs, embed]")
    try:
        _Embed.model_validate(embed)
    except ValidationError as error:
        return Poison(PoisonKind.BAD_BODY, f"the body asks Celery to run more than the task: {_first_error(error)}")
    if not job:
        return None
    if not (len(args) == 1 and kwargs == {}):
        return Poison(PoisonKind.BAD_BODY, "the arguments are not exactly one job or one batch of jobs")
    if isinstance(args[0], list):
        return _inspect_batch(args[0])
    return _inspect_job(args[0], "not a job")


def _inspect_batch(jobs: list[Any]) -> Poison | None:
    """A batch (``@zeebe_task(batch=N)``) is a list of 1 to :data:`MAX_BATCH` jobs, each valid alone."""
    if not 1 <= len(jobs) <= MAX_BATCH:
        return Poison(PoisonKind.BAD_BODY, f"a batch holds 1 to {MAX_BATCH} jobs, not {len(jobs)}")
    for index, job in enumerate(jobs):
        poison = _inspect_job(job, f"job {index} of the batch is not a job")
        if poison is not None:
            return poison
    return None


def _inspect_job(job: Any, what: str) -> Poison | None:
    try:
        Job.model_validate(job)
    except ValidationError as error:
        return Poison(PoisonKind.BAD_BODY, f"{what}: {_first_error(error)}")
    except RecursionError:
        return Poison(PoisonKind.BAD_BODY, f"{what}: nested too deeply")
    return None
