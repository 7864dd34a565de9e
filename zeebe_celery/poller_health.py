"""The poller's health check: whether the gateway and the Celery broker answer, and the gauges of each type."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from zeebe_celery import metrics
from zeebe_celery.dispatch import Dispatcher
from zeebe_celery.errors import GatewayError
from zeebe_celery.flow import InflightStore
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.http import PollerHealth

__all__ = ["probe_health"]

logger = logging.getLogger(__name__)


def probe_health(
    client: ZeebeClient, dispatcher: Dispatcher | None, inflight: InflightStore, job_types: Iterable[str]
) -> PollerHealth:
    """Ask the gateway and the Celery broker whether they answer; refreshes the queue-depth and in-flight
    gauges of ``job_types`` too (best effort)."""
    details: dict[str, str] = {}
    try:
        topology = client.topology(timeout=2.0, retry=False)
        gateway = topology.is_healthy
        if not gateway:
            details["gateway"] = "a partition has no healthy leader"
    except GatewayError as exc:
        gateway = False
        details["gateway"] = str(exc)
    broker = dispatcher.ping() if dispatcher is not None else False
    if not broker:
        details["broker"] = "the Celery broker does not answer"
    health = PollerHealth(gateway=gateway, broker=broker, checked_at=time.time(), details=details)
    if broker and dispatcher is not None:
        for job_type in job_types:
            try:
                depth = dispatcher.queue_depth(job_type)
                if depth is not None:
                    metrics.QUEUE_DEPTH.labels(job_type).set(depth)
                metrics.INFLIGHT.labels(job_type).set(inflight.in_flight(job_type))
            except Exception:  # gauges are best effort
                logger.debug("could not refresh the gauges of %s", job_type, exc_info=True)
    return health
