"""``@zeebe_task``: a Celery task that runs one Zeebe job type's handler.

The decorator reads the handler's signature once (see :mod:`zeebe_celery.handler`) and records the job
type's :class:`~zeebe_celery.spec.ZeebeTaskSpec`. The Celery task it registers takes the job as JSON,
runs the handler and reports the outcome to Zeebe (see :mod:`zeebe_celery.worker`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from celery import Celery, shared_task

from zeebe_celery import worker
from zeebe_celery.batch import run_batch as batch_run
from zeebe_celery.config import parse_duration
from zeebe_celery.errors import HandlerInputError
from zeebe_celery.handler import Handler, output_variables
from zeebe_celery.spec import MAX_BATCH, TenantFilterName, ZeebeTaskSpec, register, spec_for, zeebe_task_specs
from zeebe_celery.worker import ZeebeJobTask

# HandlerInputError, ZeebeTaskSpec, output_variables, spec_for and zeebe_task_specs are re-exported for the
# code that imported them from here.
__all__ = [
    "HandlerInputError",
    "ZeebeTaskSpec",
    "output_variables",
    "spec_for",
    "zeebe_task",
    "zeebe_task_specs",
]

_F = TypeVar("_F", bound=Callable[..., Any])


def _task_options(celery_options: Mapping[str, Any]) -> dict[str, Any]:
    # The queue is not a task attribute (Celery deprecates that): the poller routes every message of the
    # type to its queue explicitly.
    options = {"ignore_result": True, "serializer": "json", **{k: v for k, v in celery_options.items() if k != "bind"}}
    # Every zeebe task's class is a ZeebeJobTask, whose binding to an app adds the worker's boot step.
    base = options.get("base")
    if base is None:
        options["base"] = ZeebeJobTask
    elif not issubclass(base, ZeebeJobTask):
        options["base"] = type(base.__name__, (ZeebeJobTask, base), {})
    return options


def zeebe_task(
    job_type: str,
    *,
    timeout: str | float | None = None,
    retry_backoff: str | float | None = None,
    max_jobs: int | None = None,
    fetch_variables: Sequence[str] | None = None,
    queue: str | None = None,
    tenant_ids: Sequence[str] = (),
    tenant_filter: TenantFilterName | None = None,
    batch: int | None = None,
    batch_threads: int = 1,
    app: Celery | None = None,
    **celery_options: Any,
) -> Callable[[_F], Any]:
    """Register the decorated function as the handler of Zeebe jobs of ``job_type``.

    Like ``@shared_task`` (or ``app.task`` with ``app=``) it returns a Celery task; Celery's own options
    (``rate_limit``, ``time_limit``, ``bind`` ...) pass through. ``timeout`` is the job activation
    timeout, ``retry_backoff`` the wait before a failed job is retried, ``max_jobs`` this type's bound
    of jobs queued or running, ``fetch_variables`` overrides the list derived from the signature and
    ``queue`` the routed queue. ``tenant_ids`` are the tenants whose jobs to activate, or, with
    ``tenant_filter="assigned"`` (Camunda 8.9), every tenant the client is assigned to; unset, the
    bridge's ``ZEEBE_CELERY_TENANT_FILTER`` applies. ``batch`` is how many jobs of one activation travel in
    one Celery message (unset, ``ZEEBE_CELERY_BATCH_SIZE``; 1 sends each alone); in a batch, async handlers
    run concurrently and sync ones one after another, or on ``batch_threads`` threads. Raises TypeError for
    a signature that cannot be bound, ValueError for an unknown tenant filter or a batch out of range.
    """
    if not job_type or not job_type.strip():
        raise ValueError("a zeebe_task needs a non-empty job type")
    if max_jobs is not None and max_jobs < 1:
        raise ValueError(f"max_jobs must be at least 1, got {max_jobs}")
    if batch is not None and not 1 <= batch <= MAX_BATCH:
        raise ValueError(f"batch is 1 to {MAX_BATCH} jobs, got {batch}")
    if batch_threads < 1:
        raise ValueError(f"batch_threads must be at least 1, got {batch_threads}")
    if tenant_filter not in (None, "provided", "assigned"):
        raise ValueError(f"tenant_filter is 'provided' or 'assigned', not {tenant_filter!r}")
    if tenant_filter == "assigned" and tenant_ids:
        raise ValueError("tenant_filter='assigned' takes the client's assigned tenants: give no tenant_ids")
    timeout_s = parse_duration(timeout) if timeout is not None else None
    backoff_s = parse_duration(retry_backoff) if retry_backoff is not None else None
    if timeout_s is not None and timeout_s < 1:
        raise ValueError(f"the job timeout must be at least 1s, got {timeout!r}")

    def decorate(fn: _F) -> Any:
        handler = Handler(fn, bind=bool(celery_options.get("bind")))
        options = _task_options(celery_options)

        def run(self: Any, job: dict[str, Any] | list[Any]) -> str | list[str]:
            # A batch message carries a list of jobs (see zeebe_celery.batch).
            if isinstance(job, list):
                return list(batch_run(self, handler, job))
            return worker.run_job(self, handler, job)

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
            tenant_filter=tenant_filter,
            batch=batch,
            batch_threads=batch_threads,
        )
        register(spec)
        task.zeebe_function = fn  # what element templates read the parameters of
        return task

    return decorate
