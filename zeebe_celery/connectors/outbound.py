"""Outbound connectors: a pydantic class whose fields are the task's inputs and whose ``run`` does the work.

Defining a subclass of :class:`OutboundConnector` (or decorating a plain class with
:func:`outbound_connector`) registers it as a ``@zeebe_task`` of its job type on the current Celery app,
so the poller discovers it and ``celery worker -Q zeebe.<type>`` runs it. A job's variables are validated
into the fields in pydantic's lax mode (a Modeler string ``"42"`` fills an int field); only the fields'
variables are fetched. The result is mapped by the ``resultVariable`` and ``resultExpression`` task
headers (see :mod:`zeebe_celery.connectors.results`).
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from zeebe_celery.connectors import results
from zeebe_celery.connectors.config import RunConfig, read_config_class, seconds
from zeebe_celery.errors import HandlerInputError
from zeebe_celery.job import Job
from zeebe_celery.task import zeebe_task

__all__ = ["ConnectorSpec", "OutboundConnector", "outbound_connector", "outbound_connectors"]

_C = TypeVar("_C", bound=type)

_CONFIG_OPTIONS = frozenset({"name", "type", "timeout", "app", "max_jobs", "retry_backoff"})
# What a run may be annotated to return, as the seed's SDK allows: None, a model, a dict or a simple type.
_SIMPLE_RESULTS: tuple[type, ...] = (int, float, str, bool)


class ConnectorResultError(HandlerInputError):
    """A connector returned what its annotation does not allow, or what the headers cannot map."""


@dataclass(frozen=True, slots=True)
class ConnectorSpec:
    """What the bridge and the templates know about one outbound connector."""

    name: str
    type: str
    timeout: float | None
    returns: Any
    task_name: str
    is_async: bool


_REGISTRY: dict[str, type[OutboundConnector]] = {}


class OutboundConnector(BaseModel):
    """Base class of outbound connectors: fields are inputs, ``run(self, config)`` returns the result.

    A subclass needs a nested ``class ConnectorConfig`` with ``name`` and ``type`` (the job type), and
    optionally ``timeout`` (the job timeout in seconds), ``max_jobs``, ``retry_backoff`` and ``app`` (a
    Celery app, instead of the current one). ``run`` may be sync or async and must be annotated with
    ``None``, a pydantic model, ``dict`` or a simple type (int, float, str, bool). Raises TypeError when
    the class is defined without them.
    """

    model_config = ConfigDict(extra="ignore")

    connector_spec: ClassVar[ConnectorSpec]
    celery_task: ClassVar[Any]
    # Runs one job: its output variables, or raises as a @zeebe_task handler does. CamundaRuntime calls it.
    job_handler: ClassVar[Callable[[Job], Any]]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        _register(cls)

    def run(self, config: RunConfig) -> Any:
        """Do the connector's work; overridden by every connector."""
        raise NotImplementedError


def outbound_connector(
    *,
    name: str,
    type: str,
    timeout: float | str | None = None,
    app: Any = None,
    max_jobs: int | None = None,
    retry_backoff: float | str | None = None,
) -> Callable[[_C], _C]:
    """Make a plain class with pydantic ``Field`` attributes and a ``run`` method an outbound connector.

    The same as subclassing :class:`OutboundConnector` with a ConnectorConfig of these values; returns
    the connector class. Raises TypeError as :class:`OutboundConnector` does.
    """
    options = {"name": name, "type": type, "timeout": timeout, "app": app}
    options.update({"max_jobs": max_jobs, "retry_backoff": retry_backoff})

    def decorate(cls: _C) -> _C:
        namespace = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
        config = types.new_class("ConnectorConfig", (), exec_body=lambda ns: ns.update(options))
        # pydantic leaves a nested class alone when its qualified name says it is nested.
        config.__qualname__ = f"{cls.__qualname__}.ConnectorConfig"
        config.__module__ = cls.__module__
        namespace["ConnectorConfig"] = config
        namespace["__qualname__"] = cls.__qualname__  # a class's __dict__ lacks it
        bases = tuple(b for b in cls.__bases__ if b is not object) or ()
        if not any(issubclass(b, OutboundConnector) for b in bases):
            bases = (*bases, OutboundConnector)
        built = types.new_class(cls.__name__, bases, exec_body=lambda ns: ns.update(namespace))
        return typing.cast(_C, built)

    return decorate


def outbound_connectors() -> dict[str, type[OutboundConnector]]:
    """Every outbound connector defined so far, by Celery task name."""
    return dict(_REGISTRY)


def _register(cls: type[OutboundConnector]) -> None:
    values = read_config_class(cls, allowed=_CONFIG_OPTIONS)
    owner = cls.__qualname__
    name, job_type = values.get("name"), values.get("type")
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"connector {owner}: ConnectorConfig.name must be a non-empty string")
    if not isinstance(job_type, str) or not job_type.strip():
        raise TypeError(f"connector {owner}: ConnectorConfig.type (the job type) must be a non-empty string")
    timeout = values.get("timeout")
    timeout_s = seconds(owner, "timeout", timeout, minimum=1) if timeout is not None else None
    run = cls.__dict__.get("run")
    if run is None or not callable(run):
        raise TypeError(f"connector {owner} must define run(self, config)")
    returns = _return_annotation(cls, run)
    task_name = f"{cls.__module__}.{cls.__qualname__}"
    spec = ConnectorSpec(
        name=name,
        type=job_type,
        timeout=timeout_s,
        returns=returns,
        task_name=task_name,
        is_async=inspect.iscoroutinefunction(run),
    )
    handler = _handler(cls, spec)
    handler.__module__ = cls.__module__
    handler.__qualname__ = f"{cls.__qualname__}.run"
    handler.__doc__ = cls.__doc__
    task = zeebe_task(
        job_type,
        timeout=timeout_s,
        retry_backoff=values.get("retry_backoff"),
        max_jobs=values.get("max_jobs"),
        fetch_variables=input_variables(cls),
        app=values.get("app"),
        name=task_name,
    )(handler)
    cls.connector_spec = spec
    cls.celery_task = task
    cls.job_handler = handler
    _REGISTRY[task_name] = cls


def input_variables(cls: type[BaseModel]) -> list[str]:
    """The variables a connector's fields are read from (a field's alias, else its name)."""
    return [info.alias or field for field, info in cls.model_fields.items()]


def _return_annotation(cls: type, run: Callable[..., Any]) -> Any:
    owner = cls.__qualname__
    try:
        hints = typing.get_type_hints(run)
    except (NameError, TypeError) as exc:
        raise TypeError(f"connector {owner}: cannot resolve the annotations of run: {exc}") from None
    if "return" not in hints:
        raise TypeError(
            f"connector {owner}: run must be annotated with its return type (None, a model or a simple type)"
        )
    returns = hints["return"]
    if returns is type(None) or returns in _SIMPLE_RESULTS:
        return returns
    if inspect.isclass(returns) and issubclass(returns, BaseModel):
        return returns
    if returns is dict or typing.get_origin(returns) is dict:
        return returns
    raise TypeError(
        f"connector {owner}: run returns {returns!r}; it must return None, a pydantic model, dict, int, float, str "
        "or bool"
    )


def _handler(cls: type[OutboundConnector], spec: ConnectorSpec) -> Callable[[Job], Any]:
    check = TypeAdapter(spec.returns, config=None if _is_model(spec.returns) else ConfigDict(strict=True))

    def prepare(job: Job) -> tuple[OutboundConnector, RunConfig]:
        try:
            connector = cls.model_validate(job.variables)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(x) for x in e['loc']) or '(value)'}: {e['msg']}" for e in exc.errors(include_url=False)
            )
            raise HandlerInputError(f"invalid input of connector {spec.name!r}: {problems}") from None
        return connector, RunConfig(name=spec.name, type=spec.type, timeout=spec.timeout, job=job)

    def finish(job: Job, result: Any) -> dict[str, Any] | None:
        try:
            checked = check.validate_python(result, strict=True)
        except ValidationError:
            got, want = type(result).__name__, _describe(spec.returns)
            raise ConnectorResultError(f"connector {spec.name!r} returned {got}, but run is annotated {want}") from None
        try:
            return results.output_variables(checked, job.custom_headers)
        except results.ResultMappingError as exc:
            raise ConnectorResultError(f"connector {spec.name!r}: {exc}") from None

    if spec.is_async:

        async def handle_async(job: Job) -> dict[str, Any] | None:
            connector, config = prepare(job)
            return finish(job, await connector.run(config))

        return handle_async

    def handle(job: Job) -> dict[str, Any] | None:
        connector, config = prepare(job)
        return finish(job, connector.run(config))

    return handle


def _is_model(annotation: Any) -> bool:
    return inspect.isclass(annotation) and issubclass(annotation, BaseModel)


def _describe(annotation: Any) -> str:
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", None) or repr(annotation)
