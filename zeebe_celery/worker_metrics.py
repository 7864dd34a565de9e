"""``/metrics`` of a Celery worker: the job counters of all its pool processes, served by the main process.

Handlers run in prefork pool children, so their counters live there. prometheus_client's multiprocess
mode shares them through files in ``PROMETHEUS_MULTIPROC_DIR``, which must be set (to an empty
directory) before the worker starts, since prometheus_client reads it when first imported. With
``ZEEBE_CELERY_WORKER_METRICS_PORT`` set, the worker's main process serves ``/metrics`` (and a liveness
``/healthz``) on that port once the worker is ready. The worker's boot (:func:`zeebe_celery.worker.worker_init`)
calls :func:`connect` with its settings; nothing happens outside a Celery worker.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import worker_process_shutdown, worker_ready, worker_shutdown
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, values
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from zeebe_celery.http import HealthServer

__all__ = ["MULTIPROC_DIR_ENV", "WorkerMetricsSettings", "connect", "metrics_registry"]

logger = logging.getLogger(__name__)

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


class WorkerMetricsSettings(BaseSettings):
    """Where a Celery worker serves its metrics, from ``ZEEBE_CELERY_WORKER_METRICS_*``; no port means off."""

    model_config = SettingsConfigDict(
        env_prefix="ZEEBE_CELERY_WORKER_METRICS_", env_file=".env", extra="ignore", populate_by_name=True
    )

    port: int | None = Field(default=None, ge=0, le=65535, description="/metrics port of the worker")
    host: str = Field(default="0.0.0.0", description="address to listen on")  # noqa: S104 - scraped from outside


def metrics_registry(multiproc_dir: str | None) -> CollectorRegistry:
    """The registry to expose: every process's metrics from ``multiproc_dir``, else this process's own.

    Raises ValueError when ``multiproc_dir`` is not a directory.
    """
    if not multiproc_dir:
        logger.warning(
            "%s is not set: worker /metrics shows the main process only, not the job counters of prefork "
            "pool processes; set it to an empty directory before the worker starts",
            MULTIPROC_DIR_ENV,
        )
        return REGISTRY
    if values.ValueClass is values.MutexValue:
        logger.warning(
            "%s was set after prometheus_client was imported: pool processes do not write their metrics there",
            MULTIPROC_DIR_ENV,
        )
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=multiproc_dir)  # type: ignore[no-untyped-call]
    return registry


_server: HealthServer | None = None
_settings: WorkerMetricsSettings | None = None


def _alive() -> tuple[bool, dict[str, Any]]:
    return True, {"role": "celery-worker", "pid": os.getpid()}


def _serve(**_: Any) -> None:
    """On worker_ready, in the worker's main process: serve /metrics when a port is configured."""
    global _server
    settings = _settings
    if settings is None or settings.port is None or _server is not None:
        return
    try:
        registry = metrics_registry(os.environ.get(MULTIPROC_DIR_ENV))
        server = HealthServer(_alive, host=settings.host, port=settings.port, registry=registry)
    except (OSError, ValueError) as error:
        logger.error("worker metrics are off: cannot serve on %s:%s: %s", settings.host, settings.port, error)
        return
    server.start()
    _server = server


def _stop(**_: Any) -> None:
    """On worker_shutdown: stop serving."""
    global _server
    if _server is not None:
        _server.stop()
        _server = None


def _process_dead(pid: int | None = None, **_: Any) -> None:
    """On worker_process_shutdown, in the exiting pool process: drop its live gauges from the shared files."""
    if os.environ.get(MULTIPROC_DIR_ENV):
        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]


def connect(settings: WorkerMetricsSettings) -> None:
    """In a Celery worker's main process at boot: serve with ``settings`` once ready, stop at shutdown."""
    global _settings
    _settings = settings
    worker_ready.connect(_serve, weak=False, dispatch_uid="zeebe-celery-worker-metrics-serve")
    worker_shutdown.connect(_stop, weak=False, dispatch_uid="zeebe-celery-worker-metrics-stop")
    worker_process_shutdown.connect(_process_dead, weak=False, dispatch_uid="zeebe-celery-worker-metrics-dead")
