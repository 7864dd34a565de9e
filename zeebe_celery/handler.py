"""Binding a job to its handler's signature, and what a handler's return value means.

The signature is read once: each parameter names a process variable (the list becomes ``fetchVariables``),
a parameter typed ``Job`` receives the job, ``**variables`` receives all of them, and with ``bind=True``
the first parameter receives the Celery task. Annotations are validated with pydantic, so a parameter typed
with a model gets that variable validated as the model.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from zeebe_celery.errors import HandlerInputError
from zeebe_celery.job import Job

__all__ = ["Handler", "event_loop", "output_variables"]


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    kind: str  # "job", "variable", "all", "task"
    adapter: TypeAdapter[Any] | None
    default: Any
    required: bool


class Handler:
    """The user's function with its parameters resolved; calls it with a job's variables."""

    def __init__(self, fn: Callable[..., Any], *, bind: bool) -> None:
        """Raises TypeError for a signature that cannot be bound to process variables."""
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
            return event_loop().run_until_complete(self.fn(*args, **kwargs))
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


# One loop per thread: a thread pool (celery worker -P threads) runs async handlers on several threads at once,
# and a loop runs on one thread at a time.
_loops = threading.local()


def event_loop() -> asyncio.AbstractEventLoop:
    """This thread's event loop, reused by every async handler the thread runs: one per pool process, or one
    per thread of a thread pool."""
    loop: asyncio.AbstractEventLoop | None = getattr(_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = _loops.loop = asyncio.new_event_loop()
    return loop


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


def output_variables(result: Any) -> dict[str, Any] | None:
    """What a handler's return value means for CompleteJob. Raises TypeError for other values."""
    if result is None:
        return None
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, Mapping):
        return dict(result)
    raise TypeError(f"a handler must return a dict, a pydantic model or None, not {type(result).__name__}")
