"""``@zeebe_task``: a Celery task that runs one Zeebe job type's handler.

The decorator reads the handler's signature once: each parameter names a process variable (the list
becomes ``fetchVariables``), a parameter typed ``Job`` receives the job, ``**variables`` receives all of
them. Annotations are validated with pydantic, so a parameter typed with a model gets that variable
validated as the model. The Celery task it registers takes the job as JSON, runs the handler and
reports the outcome to Zeebe (see :mod:`zeebe_celery.worker`).
"""

from __future__ import annotations

import asyncio
import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from celery import Celery, shared_task
from pydantic import BaseModel, TypeAdapter, ValidationError

from zeebe_celery.config import parse_duration
from zeebe_celery.job import Job

__all__ = ["HandlerInputError", "ZeebeTaskSpec", "zeebe_task", "zeebe_task_specs"]

_F = TypeVar("_F", bound=Callable[..., Any])

SPEC_ATTRIBUTE = "zeebe_spec"


class HandlerInputError(Exception):
    """The job's variables do not fit the handler's parameters; retrying cannot help."""


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    kind: str  # "job", "variable", "all", "task"
    adapter: TypeAdapter[Any] | None
    default: Any
    required: bool


@dataclass(frozen=True, slots=True)
class ZeebeTaskSpec:
    """What the poller and the worker need to know about one job type's handler."""

    job_type: str
    task_name: str
    timeout: float | None
    retry_backoff: float | None
    max_jobs: int | None
    fetch_variables: tuple[str, ...] | None
    queue: str | None
    tenant_ids: tuple[str, ...]


class _Handler:
    """The user's function with its parameters resolved; calls it with a job's variables."""

    def __init__(self, fn: Callable[..., Any], *, bind: bool) -> None:
        self.fn = fn
        self.is_async = inspect.iscoroutinefunction(fn)
        self.params = _read_signature(fn, bind=bind)

    @property
    def fetch_variables(self) -> tuple[str, ...] | None:
        """The variables to fetch, or None for all of them (``**variables`` asks for all)."""
        if any(p.kind == "all" for p in self.params):
            return None
        return tuple(p.name for p in self.params if p.kind == "variable")

    def arguments(self, job: Job, task: Any) -> tuple[list[Any], dict[str, Any]]:
        """Bind the job to the parameters. Raises HandlerInputError naming the variable and field."""
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        variables = job.variables
        named = {p.name for p in self.params}
        for p in self.params:
            if p.kind == "task":
                args.append(task)
            elif p.kind == "job":
                kwargs[p.name] = job
            elif p.kind == "all":
                kwargs.update({k: v for k, v in variables.items() if k not in named})
            elif p.name in variables:
                kwargs[p.name] = _validate(p, variables[p.name])
            elif p.required:
                raise HandlerInputError(f"invalid input: variable {p.name!r} is missing")
        return args, kwargs

    def __call__(self, job: Job, task: Any) -> Any:
        args, kwargs = self.arguments(job, task)
        if self.is_async:
            return _event_loop().run_until_complete(self.fn(*args, **kwargs))
        return self.fn(*args, **kwargs)


def _validate(param: _Param, value: Any) -> Any:
    if param.adapter is None:
        return value
    try:
        return param.adapter.validate_python(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc']) or '(value)'}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise HandlerInputError(f"invalid input: variable {param.name!r}: {problems}") from None


_loop: asyncio.AbstractEventLoop | None = None


def _event_loop() -> asyncio.AbstractEventLoop:
    # One loop per worker process, reused by every async handler it runs.
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
    return _loop


def _read_signature(fn: Callable[..., Any], *, bind: bool) -> tuple[_Param, ...]:
    try:
        hints = typing.get_type_hints(fn)
    except (NameError, TypeError) as exc:
        raise TypeError(f"cannot resolve the annotations of {fn.__qualname__}: {exc}") from None
    params: list[_Param] = []
    for index, p in enumerate(inspect.signature(fn).parameters.values()):
        if bind and index == 0:
            params.append(_Param(p.name, "task", None, None, True))
            continue
        hint = hints.get(p.name, inspect.Parameter.empty)
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            params.append(_Param(p.name, "all", None, None, False))
        elif p.kind is inspect.Parameter.VAR_POSITIONAL:
            raise TypeError(f"{fn.__qualname__}: *{p.name} cannot be bound to process variables")
        elif hint is Job:
            params.append(_Param(p.name, "job", None, None, True))
        else:
            adapter = None if hint is inspect.Parameter.empty or hint is Any else TypeAdapter(hint)
            required = p.default is inspect.Parameter.empty
            params.append(_Param(p.name, "variable", adapter, None if required else p.default, required))
    return tuple(params)


def _task_options(celery_options: Mapping[str, Any]) -> dict[str, Any]:
    # The queue is not a task attribute (Celery deprecates that): the poller routes every message of the
    # type to its queue explicitly.
    return {"ignore_result": True, "serializer": "json", **{k: v for k, v in celery_options.items() if k != "bind"}}


def zeebe_task(
    job_type: str,
    *,
    timeout: str | float | None = None,
    retry_backoff: str | float | None = None,
    max_jobs: int | None = None,
    fetch_variables: Sequence[str] | None = None,
    queue: str | None = None,
    tenant_ids: Sequence[str] = (),
    app: Celery | None = None,
    **celery_options: Any,
) -> Callable[[_F], Any]:
    """Register the decorated function as the handler of Zeebe jobs of ``job_type``.

    Like ``@shared_task`` (or ``app.task`` with ``app=``) it returns a Celery task; Celery's own options
    (``rate_limit``, ``time_limit``, ``bind`` ...) pass through. ``timeout`` is the job activation
    timeout, ``retry_backoff`` the wait before a failed job is retried, ``max_jobs`` this type's bound
    of jobs queued or running, ``fetch_variables`` overrides the list derived from the signature and
    ``queue`` the routed queue. Raises TypeError for a signature that cannot be bound.
    """
    if not job_type or not job_type.strip():
        raise ValueError("a zeebe_task needs a non-empty job type")
    if max_jobs is not None and max_jobs < 1:
        raise ValueError(f"max_jobs must be at least 1, got {max_jobs}")
    timeout_s = parse_duration(timeout) if timeout is not None else None
    backoff_s = parse_duration(retry_backoff) if retry_backoff is not None else None
    if timeout_s is not None and timeout_s < 1:
        raise ValueError(f"the job timeout must be at least 1s, got {timeout!r}")

    def decorate(fn: _F) -> Any:
        from zeebe_celery.worker import run_job

        handler = _Handler(fn, bind=bool(celery_options.get("bind")))
        options = _task_options(celery_options)

        def run(self: Any, job: dict[str, Any]) -> str:
            return run_job(self, handler, job)

        run.__name__ = fn.__name__
        run.__qualname__ = fn.__qualname__
        run.__module__ = fn.__module__
        run.__doc__ = fn.__doc__
        options.setdefault("name", f"{fn.__module__}.{fn.__qualname__}")
        # With app=, the task belongs to that app only (Celery's app.task would share it with every app).
        task = (
            app.task(bind=True, shared=False, **options)(run)
            if app is not None
            else shared_task(bind=True, **options)(run)
        )
        spec = ZeebeTaskSpec(
            job_type=job_type,
            task_name=options["name"],
            timeout=timeout_s,
            retry_backoff=backoff_s,
            max_jobs=max_jobs,
            fetch_variables=tuple(fetch_variables) if fetch_variables is not None else handler.fetch_variables,
            queue=queue,
            tenant_ids=tuple(tenant_ids),
        )
        _SPECS[spec.task_name] = spec
        task.zeebe_function = fn  # what element templates read the parameters of
        return task

    return decorate


_SPECS: dict[str, ZeebeTaskSpec] = {}


def spec_for(task_name: str) -> ZeebeTaskSpec:
    """The spec of the zeebe task registered under ``task_name``. Raises KeyError for others."""
    return _SPECS[task_name]


def zeebe_task_specs(app: Celery) -> dict[str, ZeebeTaskSpec]:
    """The job types the app's registered tasks handle, by job type.

    Raises ValueError when two tasks claim the same job type.
    """
    app.loader.import_default_modules()
    found: dict[str, ZeebeTaskSpec] = {}
    for name in list(app.tasks.keys()):
        spec = _SPECS.get(name)
        if spec is None:
            continue
        other = found.get(spec.job_type)
        if other is not None and other.task_name != spec.task_name:
            raise ValueError(f"job type {spec.job_type!r} has two handlers: {other.task_name} and {spec.task_name}")
        found[spec.job_type] = spec
    return found


def output_variables(result: Any) -> dict[str, Any] | None:
    """What a handler's return value means for CompleteJob. Raises TypeError for other values."""
    if result is None:
        return None
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, Mapping):
        return dict(result)
    raise TypeError(f"a handler must return a dict, a pydantic model or None, not {type(result).__name__}")
