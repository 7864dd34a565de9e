"""What ``@zeebe_task`` declares for one job type, the registry of those declarations, and their settled form.

A :class:`ZeebeTaskSpec` holds what the decorator was given; options it was not given are None. Its
:meth:`~ZeebeTaskSpec.resolve` merges them with the bridge's defaults, once, into a :class:`JobTypeSpec`:
the queue, timeout, bound, back-off, fetch list, tenants, tenant filter and batch size every stage (poller,
dispatcher, worker, CLI) uses. A new per-type option is a field of both classes and a line of ``resolve``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from zeebe_celery.config import BridgeSettings
from zeebe_celery.errors import DuplicateHandlerError

if TYPE_CHECKING:
    from celery import Celery

__all__ = [
    "MAX_BATCH",
    "JobTypeSpec",
    "TenantFilterName",
    "ZeebeTaskSpec",
    "register",
    "resolve",
    "spec_for",
    "zeebe_task_specs",
]


TenantFilterName = Literal["provided", "assigned"]

# The most jobs one Celery message may carry (``batch=``); the poison guard refuses larger batches.
MAX_BATCH = 1000


@dataclass(frozen=True, slots=True)
class JobTypeSpec:
    """One job type's settled options: the handler's own where it set them, else the bridge's defaults."""

    job_type: str
    task_name: str
    queue: str
    timeout: float
    max_jobs: int
    retry_backoff: float
    fetch_variables: tuple[str, ...] | None
    tenant_ids: tuple[str, ...]
    tenant_filter: TenantFilterName = "provided"
    batch: int = 1
    batch_threads: int = 1


@dataclass(frozen=True, slots=True)
class ZeebeTaskSpec:
    """What ``@zeebe_task`` was told about one job type's handler; None means the bridge's default."""

    job_type: str
    task_name: str
    timeout: float | None
    retry_backoff: float | None
    max_jobs: int | None
    fetch_variables: tuple[str, ...] | None
    queue: str | None
    tenant_ids: tuple[str, ...]
    tenant_filter: TenantFilterName | None = None
    batch: int | None = None
    batch_threads: int = 1

    def resolve(self, bridge: BridgeSettings) -> JobTypeSpec:
        """The settled options of this job type under ``bridge``: the one place they meet the defaults."""
        return JobTypeSpec(
            job_type=self.job_type,
            task_name=self.task_name,
            queue=self.queue or f"{bridge.queue_prefix}{self.job_type}",
            timeout=self.timeout or bridge.job_timeout,
            max_jobs=self.max_jobs or bridge.max_jobs,
            retry_backoff=self.retry_backoff if self.retry_backoff is not None else bridge.retry_backoff,
            fetch_variables=self.fetch_variables,
            tenant_ids=self.tenant_ids,
            # A handler that names its tenants keeps them under a bridge-wide "assigned".
            tenant_filter=self.tenant_filter or ("provided" if self.tenant_ids else bridge.tenant_filter),
            batch=self.batch or bridge.batch_size,
            batch_threads=self.batch_threads,
        )


def resolve(specs: Mapping[str, ZeebeTaskSpec], bridge: BridgeSettings) -> dict[str, JobTypeSpec]:
    """Settle every spec of ``specs`` (by job type) under ``bridge``."""
    return {job_type: spec.resolve(bridge) for job_type, spec in specs.items()}


_SPECS: dict[str, ZeebeTaskSpec] = {}


def register(spec: ZeebeTaskSpec) -> None:
    """Record the spec of the task named ``spec.task_name``; a later one of the same name replaces it."""
    _SPECS[spec.task_name] = spec


def spec_for(task_name: str) -> ZeebeTaskSpec:
    """The spec of the zeebe task registered under ``task_name``. Raises KeyError for others."""
    return _SPECS[task_name]


def zeebe_task_specs(app: Celery) -> dict[str, ZeebeTaskSpec]:
    """The job types the app's registered tasks handle, by job type.

    Raises DuplicateHandlerError when two tasks claim the same job type.
    """
    app.loader.import_default_modules()
    found: dict[str, ZeebeTaskSpec] = {}
    for name in list(app.tasks.keys()):
        spec = _SPECS.get(name)
        if spec is None:
            continue
        other = found.get(spec.job_type)
        if other is not None and other.task_name != spec.task_name:
            raise DuplicateHandlerError(
                f"job type {spec.job_type!r} has two handlers: {other.task_name} and {spec.task_name}"
            )
        found[spec.job_type] = spec
    return found
