"""Jobs reach workers after the answer of the command that made them available, as on Zeebe.

Zeebe's partition processes commands one after another and answers them in that order; the activation that
hands a new job to a worker is a later command, so its answer always follows the answer of the command that
created the job. A client that acts on that answer (pyzeebe's own suite cancels the instance it has just
created while its worker polls) therefore always comes first. The engine's gRPC threads send answers
independently, so it keeps that order explicitly: each command that makes jobs of a type available holds a
ticket for that type until its answer has gone out, and a hand-out waits for the tickets older than it.

The answer coming first is not enough when the worker is in the client's own process (pyzeebe's suite runs
both on one event loop): the two answers arrive together, and the worker may complete the job before the
client's next call is sent. On Zeebe the job comes later: a parked poll's activation is a new command the
gateway sends once a jobs-available notification reaches it, so the job reaches the worker milliseconds
after the answer. A parked poll here keeps that gateway hop: once it has waited, it takes only jobs that
joined the pool at least :data:`GATEWAY_HOP_SECONDS` ago, until its request timeout is up (then it takes
what there is). A poll that finds jobs as it arrives takes them all at once, as Zeebe hands an activation
every job committed before it, and pushed jobs (``StreamActivatedJobs``) go straight after the commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["GATEWAY_HOP_SECONDS", "AnswerOrder", "Tickets"]

# A notification and an activation command on the log take Zeebe's gateway milliseconds; pyzeebe's client
# turns an answer into its next call in about two, and more on a busy machine.
GATEWAY_HOP_SECONDS = 0.010

Tickets = dict[str, int]  # job type -> the ticket one command holds for it


class AnswerOrder:
    """The tickets of the commands whose jobs wait for their answer; guarded by the runtime's lock."""

    def __init__(self, lock: threading.RLock, condition_for: Callable[[str], threading.Condition]) -> None:
        self._lock = lock
        self._condition_for = condition_for
        self._last = 0
        self._open: dict[str, set[int]] = {}
        # A command runs in one thread, from its start to its answer: its tickets are that thread's.
        self._local = threading.local()

    def begin(self) -> None:
        """A command with an answer starts in this thread: the jobs it makes available wait for that answer."""
        self._local.tickets = {}

    def made_available(self, job_type: str) -> None:
        """The running command made jobs of ``job_type`` activatable (or pushed them); call holding the lock.

        Outside :meth:`begin` and :meth:`take` (a due timer, a stream giving back what it held) there is no
        answer to wait for, and nothing is kept.
        """
        mine: Tickets | None = getattr(self._local, "tickets", None)
        if mine is not None and job_type not in mine:
            self._last += 1
            mine[job_type] = self._last
            self._open.setdefault(job_type, set()).add(self._last)

    def take(self) -> Tickets:
        """End the command this thread runs; its tickets, which the caller passes to :meth:`answered`."""
        mine: Tickets = self._local.__dict__.pop("tickets", {})
        return mine

    def answered(self, tickets: Tickets) -> None:
        """The command holding ``tickets`` has been answered: its jobs may go out, and their waiters wake."""
        if not tickets:
            return
        with self._lock:
            for job_type, ticket in tickets.items():
                open_tickets = self._open.get(job_type)
                if open_tickets is not None:
                    open_tickets.discard(ticket)
                    if not open_tickets:
                        del self._open[job_type]
                self._condition_for(job_type).notify_all()

    def horizon(self) -> int:
        """The newest ticket so far: a hand-out waits for the tickets up to it (see :meth:`wait_answered`)."""
        return self._last

    def answered_up_to(self, job_type: str, horizon: int) -> bool:
        """Whether every command with a ticket for ``job_type`` up to ``horizon`` has been answered."""
        return not any(ticket <= horizon for ticket in self._open.get(job_type, ()))

    def wait_answered(self, job_type: str, horizon: int, timeout: float) -> bool:
        """Wait, holding the lock, until :meth:`answered_up_to`; False if ``timeout`` seconds passed first."""
        return self._condition_for(job_type).wait_for(lambda: self.answered_up_to(job_type, horizon), timeout)
