"""How a job ended on a worker: the one vocabulary of the worker's return value, its span and its metrics."""

from __future__ import annotations

import enum

__all__ = ["ERROR_OUTCOMES", "REPORTED_OUTCOMES", "Outcome"]


class Outcome(enum.StrEnum):
    """The end of one job run; the value is what a task returns and what the span and metrics carry."""

    COMPLETED = "completed"  # CompleteJob was accepted
    FAILED = "failed"  # FailJob with retries - 1
    THROWN = "thrown"  # ThrowError for a BpmnError
    INCIDENT = "incident"  # FailJob with no retries left: the input or output cannot work on a retry
    GONE = "gone"  # the report was refused: the job timed out, was cancelled or completed elsewhere
    UNREPORTED = "unreported"  # no report got through before the deadline
    EXPIRED = "expired"  # not run: its deadline had passed


# The outcomes a report is counted under in zeebe_celery_jobs_reported.
REPORTED_OUTCOMES = frozenset({Outcome.COMPLETED, Outcome.FAILED, Outcome.THROWN, Outcome.INCIDENT})
# The outcomes that mark a job's span as an error.
ERROR_OUTCOMES = frozenset({Outcome.FAILED, Outcome.INCIDENT, Outcome.UNREPORTED})
