"""Process helpers every launcher shares: free ports, a service in its own session, readiness, stopping.

A launched service runs in its own session, so a signal to its process group reaches every process it
started and never the test runner; its output goes to one log file, whose tail goes into every error.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, Self

from zeebe_celery.errors import StackError

__all__ = [
    "LOOPBACK",
    "POLL_INTERVAL",
    "PORT_ATTEMPTS",
    "Launch",
    "PortClash",
    "StackError",
    "await_ready",
    "free_ports",
    "launch",
    "log_tail",
    "looks_like_port_clash",
    "make_workdir",
    "pid_alive",
    "remaining",
    "remove_workdir",
    "stop_pid",
    "terminate",
]

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"

# Enough of a log to show the cause of a failed start without burying it.
_TAIL_LINES = 40
_MAX_CAUSES = 8
# A port picked free can be taken by someone else before our service binds it; that is worth only a few
# fresh draws, after which something else is wrong.
PORT_ATTEMPTS = 3
# How often a starting service is asked whether it is ready: short against startups of seconds, long
# enough that asking costs the service nothing.
POLL_INTERVAL = 0.25


class PortClash(StackError):
    """A service exited at startup because another process holds one of its ports."""


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """Return ``count`` distinct ports that were free on ``host`` a moment ago.

    All sockets stay open until every port is drawn, so the ports differ from each other. Another process
    can still take one before the service binds it: callers retry a start that fails on a port clash.
    """
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in sockets:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def make_workdir(prefix: str) -> Path:
    """Create a fresh private temporary directory for one run of a service."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def remove_workdir(path: Path) -> None:
    """Remove a run's directory; a leftover is logged, never raised, because it only costs disk."""
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        logger.warning("Could not remove %s", path)


class Launch:
    """One running service process together with its log file and private directory."""

    def __init__(self, process: subprocess.Popen[bytes], workdir: Path, log_path: Path) -> None:
        self.process = process
        self.workdir = workdir
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None


def launch(argv: Sequence[str], *, env: Mapping[str, str], workdir: Path, log_path: Path) -> Launch:
    """Start ``argv`` in a new session with stdout and stderr appended to ``log_path``.

    Raises StackError if the program cannot be executed at all.
    """
    try:
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                list(argv),
                env=dict(env),
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: Ctrl-C in the terminal reaches the test runner only, which then stops
                # the service in order, and killpg() reaches the JVM behind the broker's shell script.
                start_new_session=True,
            )
    except OSError as exc:
        raise StackError(f"Cannot execute {argv[0]}: {exc}") from exc
    logger.debug("Started %s as pid %s, logging to %s", argv[0], process.pid, log_path)
    return Launch(process, workdir, log_path)


def terminate(launched: Launch, grace: float) -> None:
    """Stop the service's process group: SIGTERM, then SIGKILL after ``grace`` seconds; wait for it.

    Safe to call on a process that already exited; never raises for a process that is gone.
    """
    process = launched.process
    if process.poll() is not None:
        return
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        logger.warning("pid %s ignored SIGTERM for %.0fs; killing it", process.pid, grace)
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` is running; reaps it when it is our exited child."""
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_pid(pid: int, *, grace: float) -> bool:
    """Stop a process that is not our Popen child: SIGTERM, then SIGKILL after ``grace`` seconds.

    Returns True when it stopped within ``grace``; never raises for a process that is gone.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pid_alive(pid):
        if time.monotonic() > deadline:
            logger.warning("pid %s ignored SIGTERM for %.0fs; killing it", pid, grace)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            return False
        time.sleep(POLL_INTERVAL)
    return True


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def log_tail(path: Path, lines: int = _TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file, or a note that there is none."""
    tail = _read(path).splitlines()[-lines:]
    return "\n".join(tail) if tail else "(nothing)"


def looks_like_port_clash(log_text: str) -> bool:
    """Whether a service's log says one of its ports was taken (Redis, Netty and Spring Boot wording)."""
    return "already in use" in log_text


def remaining(deadline: float) -> float:
    """Seconds left until a ``time.monotonic()`` deadline, never negative."""
    return max(0.0, deadline - time.monotonic())


def await_ready(
    launched: Launch,
    probe: Callable[[float], bool],
    *,
    name: str,
    timeout: float,
    fatal_markers: Sequence[str] = (),
) -> None:
    """Call ``probe(seconds_left)`` until it returns True, watching the process meanwhile.

    The probe must check that the answer comes from *this* process, not from another one that holds the
    port. ``fatal_markers`` are log lines that mean startup failed even though the process lives on.
    Raises PortClash if startup failed because a port was taken, StackError if it failed otherwise or
    was not ready within ``timeout`` seconds; each message carries the causes and tail of the log.
    """
    deadline = time.monotonic() + timeout
    watch = _LogWatch(launched.log_path, fatal_markers)
    while True:
        exit_code = launched.process.poll()
        if exit_code is not None:
            _raise_failed(launched, f"{name} exited with code {exit_code} while starting")
        if probe(remaining(deadline)):
            return
        marker = watch.find()
        if marker is not None:
            _raise_failed(launched, f"{name} failed to start ({marker!r} in its log)")
        left = remaining(deadline)
        if left <= 0:
            raise StackError(f"{name} was not ready after {timeout:.0f}s; {_log_report(launched.log_path)}")
        # Waiting on the process rather than sleeping notices its death at once.
        with contextlib.suppress(subprocess.TimeoutExpired):
            launched.process.wait(timeout=min(POLL_INTERVAL, left))


def _raise_failed(launched: Launch, what: str) -> NoReturn:
    text = _read(launched.log_path)
    error = PortClash if looks_like_port_clash(text) else StackError
    raise error(f"{what}; {_log_report(launched.log_path)}")


def _log_report(path: Path) -> str:
    # A JVM's shutdown after a failed start pushes the cause out of any short tail, so the distinct
    # "Caused by" lines come first.
    causes = list(dict.fromkeys(line.strip() for line in _read(path).splitlines() if "Caused by:" in line))
    report = "causes in its log:\n  " + "\n  ".join(causes[:_MAX_CAUSES]) + "\n" if causes else ""
    return f"{report}its log ({path}) ends with:\n{log_tail(path)}"


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


class _LogWatch:
    """Reads a growing log from where it left off and reports the first of some markers it sees."""

    def __init__(self, path: Path, markers: Sequence[str]) -> None:
        self._path = path
        self._markers = tuple(markers)
        self._offset = 0
        self._carry = ""

    def find(self) -> str | None:
        if not self._markers:
            return None
        try:
            with self._path.open("rb") as log:
                log.seek(self._offset)
                chunk = log.read()
        except OSError:
            return None
        self._offset += len(chunk)
        text = self._carry + chunk.decode(errors="replace")
        # Keep the unfinished last line: a marker may be cut in two between reads.
        self._carry = text[text.rfind("\n") + 1 :]
        return next((marker for marker in self._markers if marker in text), None)


class Service:
    """A service process a test starts and stops: the lifecycle RedisServer and ZeebeBroker share.

    A subclass's :meth:`start` sets ``_launched`` and ``_finalizer`` (which stops the process and removes
    its directory, also when the object is collected or the interpreter exits).
    """

    _launched: Launch | None = None
    _finalizer: weakref.finalize[Any, Any] | None = None

    def start(self) -> Self:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self._launched is not None and self._launched.alive()

    @property
    def log_path(self) -> Path | None:
        """The log (stdout and stderr) of the current run; None when stopped, because stop() removes it."""
        return self._launched.log_path if self._launched is not None else None

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after the stop timeout) and remove its directory.

        Safe to call twice, or on a service that never started. Its ports are kept for the next start().
        """
        finalizer, self._finalizer, self._launched = self._finalizer, None, None
        if finalizer is not None:
            finalizer()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
