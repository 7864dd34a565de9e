"""Prometheus metrics of the poller and the workers. Names and labels are documented in the README."""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "ACTIVATED",
    "ACTIVATION_LATENCY",
    "DISPATCHED",
    "GIVEN_BACK",
    "HANDLER_DURATION",
    "INFLIGHT",
    "JOBS_EXPIRED",
    "JOBS_GONE",
    "JOBS_REPORTED",
    "JOBS_UNREPORTED",
    "MESSAGES_DEAD_LETTERED",
    "POLL_ERRORS",
    "QUEUE_DEPTH",
    "REPORT_RETRIES",
    "STREAMED",
    "observe_handler",
]

# Poller
ACTIVATED = Counter("zeebe_celery_jobs_activated", "Jobs activated from Zeebe", ["type"])
STREAMED = Counter("zeebe_celery_jobs_streamed", "Jobs pushed over StreamActivatedJobs (part of activated)", ["type"])
DISPATCHED = Counter("zeebe_celery_jobs_dispatched", "Jobs published to the Celery broker", ["type"])
GIVEN_BACK = Counter(
    "zeebe_celery_jobs_given_back", "Activated jobs handed back to Zeebe unrun (retries unchanged)", ["type"]
)
POLL_ERRORS = Counter("zeebe_celery_poll_errors", "Failed activation or dispatch attempts", ["type", "error"])
QUEUE_DEPTH = Gauge("zeebe_celery_queue_depth", "Messages waiting in the type's Celery queue", ["type"])
INFLIGHT = Gauge("zeebe_celery_inflight", "Jobs queued or running, counted against the bound", ["type"])
ACTIVATION_LATENCY = Histogram(
    "zeebe_celery_activation_seconds",
    "Duration of ActivateJobs calls that returned jobs",
    ["type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

# Workers
JOBS_REPORTED = Counter(
    "zeebe_celery_jobs_reported", "Jobs reported to Zeebe, by outcome", ["type", "outcome"]
)  # outcome: completed, failed, thrown, incident
JOBS_GONE = Counter(
    "zeebe_celery_jobs_gone", "Reports refused because the job was gone (timed out, cancelled)", ["type"]
)
JOBS_EXPIRED = Counter("zeebe_celery_jobs_expired", "Jobs not run because their deadline had passed", ["type"])
JOBS_UNREPORTED = Counter(
    "zeebe_celery_jobs_unreported", "Jobs whose report could not be delivered before the deadline", ["type"]
)
REPORT_RETRIES = Counter(
    "zeebe_celery_report_retries", "Report attempts retried after a transient error (back-pressure, outage)", ["type"]
)
MESSAGES_DEAD_LETTERED = Counter(
    "zeebe_celery_messages_dead_lettered",
    "Poison messages of a bridge queue set aside on its dead-letter list, by what was wrong",
    ["queue", "kind"],
)  # kind: not_json, bad_envelope, bad_header, bad_body, unknown_task
HANDLER_DURATION = Histogram(
    "zeebe_celery_handler_seconds",
    "Time spent in handlers",
    ["type"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300),
)


def observe_handler(job_type: str, started: float) -> None:
    """Record the handler duration since ``started`` (a perf_counter reading)."""
    HANDLER_DURATION.labels(job_type).observe(time.perf_counter() - started)
