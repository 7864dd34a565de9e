"""Job streams as Zeebe pushes to them: each open StreamActivatedJobs call has a buffer that pushed jobs wait
in until its thread writes them to the wire, where HTTP/2 flow control holds them while the client reads
slowly or not at all.

A push fails when the stream is ending or its buffer is full; Zeebe's gateway refuses a push the same way
once gRPC reports the call not ready (``ServerCallStreamObserver.isReady``, false past grpc-java's 32 KiB
of unsent messages), and the broker then yields the job back to polling. A stream that is busy writing a job
still takes pushes while its buffer has room.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from zeebe_celery.engine.state import Job, JobState

__all__ = ["STREAM_BUFFER_BYTES", "Activated", "JobStream", "pushed_size"]

Activated = tuple[Job, str]  # the job and its variables as a JSON document

# A stream takes pushes while its buffer holds less than this: a stream nobody reads keeps at most this much,
# plus the one job it is writing and what the HTTP/2 window holds. It is grpc-java's on-ready threshold,
# which decides when Zeebe's gateway stops pushing to a stream. An empty buffer takes any one job, however
# large, so a big job is still pushed.
STREAM_BUFFER_BYTES = 32 * 1024
# What an ActivatedJob carries besides its variables and headers: keys, ids, names, deadline and worker.
_JOB_OVERHEAD_BYTES = 256


def pushed_size(job: Job, variables: str) -> int:
    """About how many bytes ``job`` takes on the wire with ``variables``: what it counts against a buffer."""
    return len(variables) + len(job.custom_headers) + _JOB_OVERHEAD_BYTES


@dataclass(eq=False)
class JobStream:
    """An open StreamActivatedJobs call: pushed jobs wait in its buffer until its thread writes them."""

    job_type: str
    worker: str
    timeout: int
    fetch: tuple[str, ...]
    tenant_ids: frozenset[str]
    # Each pushed job with the deadline it was activated with and its size.
    pending: deque[tuple[Job, str, int, int]] = field(default_factory=deque)
    buffered: int = 0
    closed: bool = False

    @property
    def ready(self) -> bool:
        """Whether a push to this stream succeeds now: it is open and its buffer has room."""
        return not self.closed and self.buffered < STREAM_BUFFER_BYTES

    def serves(self, job: Job) -> bool:
        """Whether ``job`` is one this stream asked for (its tenants; the type is the caller's)."""
        return not self.tenant_ids or job.tenant_id in self.tenant_ids

    def put(self, activated: Activated, *, counted: bool = False) -> None:
        """Buffer a pushed job; ``counted``: its size is in :attr:`buffered` already (the push counted it)."""
        job, variables = activated
        size = pushed_size(job, variables)
        self.pending.append((job, variables, job.deadline, size))
        if not counted:
            self.buffered += size

    def take(self) -> Activated | None:
        """The next pushed job that is still activated for this push, or None when the buffer is empty.

        A job that timed out (or ended) while it waited is dropped: it was handed to someone else meanwhile,
        and writing it out would only give the worker a job it can no longer complete.
        """
        while self.pending:
            job, variables, deadline, size = self.pending.popleft()
            self.buffered -= size
            if job.state is JobState.ACTIVATED and job.deadline == deadline:
                return job, variables
        return None

    def drain(self) -> list[Job]:
        """Empty the buffer; the jobs it held that are still activated for their push."""
        held = [
            job for job, _, deadline, _ in self.pending if job.state is JobState.ACTIVATED and job.deadline == deadline
        ]
        self.pending.clear()
        self.buffered = 0
        return held
