"""Inbound connectors: a ``loop()`` that runs every ``cycle`` seconds until it has a message to publish.

As in the Python Camunda SDK, a process starts one with a service task of type
``_activate_inbound_connector`` that names the connector and a correlation key (as task headers or as
input variables). The job completes at once. From then on ``loop()`` runs every ``cycle`` seconds, and
the first model or dict it returns is published as a message, named after the connector (or the
``message_name`` header), with that correlation key, a TTL and a message id derived from the activation,
so a retried publish is never delivered twice. That ends the activation.

This module holds the connector class and what one run does; :mod:`~zeebe_celery.connectors.fleet` runs
them on Celery, :mod:`~zeebe_celery.connectors.runtime` without it.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, ValidationError

from zeebe_celery.connectors.activations import Activation
from zeebe_celery.connectors.config import read_config_class, seconds
from zeebe_celery.errors import AlreadyExistsError, HandlerInputError
from zeebe_celery.gateway.client import ZeebeClient, dumps_variables
from zeebe_celery.job import Job

__all__ = [
    "ACTIVATE_JOB_TYPE",
    "InboundConnector",
    "InboundSpec",
    "inbound_connectors",
    "is_too_old",
    "new_activation",
    "on_define",
    "publish",
    "run_loop",
]

logger = logging.getLogger(__name__)

ACTIVATE_JOB_TYPE = "_activate_inbound_connector"
DEFAULT_MAX_AGE = 86400.0
DEFAULT_MESSAGE_TTL = 3600.0
DEFAULT_LOOP_TIMEOUT = 60.0

_CONFIG_OPTIONS = frozenset({"name", "cycle", "max_age", "message_ttl", "timeout", "app"})

LOOP_FAILURES = Counter(
    "zeebe_celery_inbound_loop_failures", "Runs of an inbound connector's loop() that raised", ["connector"]
)
MESSAGES_PUBLISHED = Counter(
    "zeebe_celery_inbound_messages_published", "Messages published by inbound connectors", ["connector"]
)
ACTIVATIONS_EXPIRED = Counter(
    "zeebe_celery_inbound_activations_expired", "Activations that ended at their max_age", ["connector"]
)


@dataclass(frozen=True, slots=True)
class InboundSpec:
    """What the fleet and the runtime know about one inbound connector."""

    name: str
    cycle: float
    max_age: float
    message_ttl: float
    timeout: float
    app: Any


_REGISTRY: dict[str, type[InboundConnector]] = {}
_ON_DEFINE: list[Callable[[InboundSpec], None]] = []


def on_define(callback: Callable[[InboundSpec], None]) -> None:
    """Call ``callback`` with the spec of every inbound connector defined from now on (the fleet registers its
    Celery tasks for the connector's app this way)."""
    _ON_DEFINE.append(callback)


class InboundConnector(BaseModel):
    """Base class of inbound connectors: fields are inputs, ``loop()`` returns None or the message's variables.

    A subclass needs a nested ``class ConnectorConfig`` with ``name`` and ``cycle`` (seconds between runs),
    and optionally ``max_age`` (default one day), ``message_ttl`` (default one hour), ``timeout`` (the
    longest one run of ``loop()`` may take, default 60 s) and ``app`` (a Celery app, instead of the
    current one). Raises TypeError when the class is
    defined without them, or with a name another inbound connector has.
    """

    model_config = ConfigDict(extra="ignore")

    connector_spec: ClassVar[InboundSpec]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        _register(cls)

    async def loop(self) -> BaseModel | Mapping[str, Any] | None:
        """One run: the message's variables when it is ready, else None."""
        raise NotImplementedError


def inbound_connectors() -> dict[str, type[InboundConnector]]:
    """Every inbound connector defined so far, by name."""
    return dict(_REGISTRY)


def _register(cls: type[InboundConnector]) -> None:
    values = read_config_class(cls, allowed=_CONFIG_OPTIONS)
    owner = cls.__qualname__
    name = values.get("name")
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"connector {owner}: ConnectorConfig.name must be a non-empty string")
    if "cycle" not in values:
        raise TypeError(f"connector {owner}: ConnectorConfig.cycle (seconds between runs of loop) is required")
    other = _REGISTRY.get(name)
    if other is not None and f"{other.__module__}.{other.__qualname__}" != f"{cls.__module__}.{cls.__qualname__}":
        raise TypeError(f"connector {owner}: the inbound connector name {name!r} is taken by {other.__qualname__}")
    if "loop" not in cls.__dict__ or not callable(cls.__dict__["loop"]):
        raise TypeError(f"connector {owner} must define loop(self)")
    cls.connector_spec = InboundSpec(
        name=name,
        cycle=seconds(owner, "cycle", values["cycle"], minimum=0.001),
        max_age=seconds(owner, "max_age", values.get("max_age", DEFAULT_MAX_AGE), minimum=0.001),
        message_ttl=seconds(owner, "message_ttl", values.get("message_ttl", DEFAULT_MESSAGE_TTL), minimum=0),
        timeout=seconds(owner, "timeout", values.get("timeout", DEFAULT_LOOP_TIMEOUT), minimum=0.001),
        app=values.get("app"),
    )
    _REGISTRY[name] = cls
    for callback in _ON_DEFINE:
        callback(cls.connector_spec)


def _setting(job: Job, name: str) -> str | None:
    """A task header, else an input variable, of the activating job."""
    for source in (job.custom_headers, job.variables):
        value = source.get(name)
        if value is not None and str(value).strip():
            return str(value)
    return None


def new_activation(job: Job, *, now: float) -> tuple[type[InboundConnector], Activation]:
    """The activation a ``_activate_inbound_connector`` job asks for, due at once.

    Raises HandlerInputError (an incident: a retry cannot help) naming what is missing or invalid.
    """
    name = _setting(job, "name")
    if name is None:
        raise HandlerInputError("invalid input: _activate_inbound_connector needs `name` (a header or a variable)")
    cls = _REGISTRY.get(name)
    if cls is None:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise HandlerInputError(f"invalid input: no inbound connector named {name!r} (known: {known})")
    correlation_key = _setting(job, "correlation_key")
    if correlation_key is None:
        raise HandlerInputError(f"invalid input: inbound connector {name!r} needs `correlation_key`")
    try:
        inputs = cls.model_validate(job.variables).model_dump(mode="json", by_alias=True)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc']) or '(value)'}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise HandlerInputError(f"invalid input of inbound connector {name!r}: {problems}") from None
    activation = Activation(
        id=f"{name}:{job.key}",
        connector=name,
        correlation_key=correlation_key,
        message_name=_setting(job, "message_name") or name,
        inputs=inputs,
        created_at=now,
        due_at=now,
        process_instance_key=job.process_instance_key,
    )
    return cls, activation


def is_too_old(cls: type[InboundConnector], activation: Activation, *, now: float) -> bool:
    """Whether the activation outlived its max_age; logs that at ERROR, since its message never came."""
    if now - activation.created_at <= cls.connector_spec.max_age:
        return False
    logger.error(
        "inbound activation %s (correlation key %r) ended after its max_age of %gs without a message",
        activation.id,
        activation.correlation_key,
        cls.connector_spec.max_age,
    )
    ACTIVATIONS_EXPIRED.labels(activation.connector).inc()
    return True


async def run_loop(cls: type[InboundConnector], activation: Activation) -> dict[str, Any] | None:
    """Run ``loop()`` once for the activation: the message's variables, or None for no message yet.

    A loop that raises, times out, returns something else or a dict that is not JSON is logged with its
    activation and counted, and gives None, so it runs again next cycle.
    """
    try:
        connector = cls.model_validate(activation.inputs)
        timeout = cls.connector_spec.timeout
        outcome: Any
        if inspect.iscoroutinefunction(connector.loop):
            outcome = await asyncio.wait_for(connector.loop(), timeout)
        else:
            # A sync loop runs in a thread, so it neither blocks the event loop nor outlasts its timeout here.
            outcome = await asyncio.wait_for(asyncio.to_thread(connector.loop), timeout)
            if inspect.isawaitable(outcome):
                outcome = await asyncio.wait_for(outcome, timeout)
        if outcome is None:
            return None
        if isinstance(outcome, BaseModel):
            return outcome.model_dump(mode="json")
        if isinstance(outcome, Mapping):
            # As JSON now, so a value the message cannot carry fails this run, not the publish.
            variables: dict[str, Any] = json.loads(dumps_variables(dict(outcome)))
            return variables
        raise TypeError(f"loop() must return None, a pydantic model or a dict, not {type(outcome).__name__}")
    except Exception:  # a failing loop runs again next cycle
        logger.exception("inbound activation %s: loop() of %s failed", activation.id, activation.connector)
        LOOP_FAILURES.labels(activation.connector).inc()
        return None


def publish(client: ZeebeClient, cls: type[InboundConnector], activation: Activation, variables: Any) -> None:
    """Publish the activation's message. A message with its id that Zeebe already holds counts as published,
    so a publish retried after a crash is not delivered twice. Raises GatewayError for other failures."""
    try:
        client.publish_message(
            activation.message_name,
            correlation_key=activation.correlation_key,
            variables=variables,
            time_to_live=cls.connector_spec.message_ttl,
            message_id=activation.id,
        )
    except AlreadyExistsError:
        logger.info("inbound activation %s: its message was published before", activation.id)
        return
    MESSAGES_PUBLISHED.labels(activation.connector).inc()
    logger.info(
        "inbound activation %s published %r with correlation key %r",
        activation.id,
        activation.message_name,
        activation.correlation_key,
    )
