"""Real Celery workers and pollers as subprocesses, the way users run them, for tests, the demo and benchmarks.

::

    env = stack_env(zeebe_address=broker.address, redis_url=redis.url)
    with CeleryWorker("examples.app", ["zeebe.charge-card"], env=env) as worker, PollerProcess(
        "examples.app", env=env
    ):
        ...

Each process runs in its own session with its output in a log file, and is stopped (SIGTERM, then
SIGKILL) on exit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from zeebe_celery.stack.process import Launch, StackError, launch, log_tail, make_workdir, remove_workdir, terminate

__all__ = ["CeleryWorker", "PollerProcess", "stack_env"]

# Startup of a Python process that imports Celery, the app and grpc: a few seconds on a busy machine.
_STARTUP_TIMEOUT = 60.0


def stack_env(
    *,
    zeebe_address: str,
    redis_url: str,
    base: Mapping[str, str] | None = None,
    pythonpath: Sequence[str | os.PathLike[str]] = (),
    **bridge: str,
) -> dict[str, str]:
    """The environment of a worker or poller on this stack: the gateway, the broker, and bridge options.

    ``bridge`` keys are BridgeSettings fields (``max_jobs="8"``) and become ``ZEEBE_CELERY_*`` variables.
    """
    env = dict(os.environ if base is None else base)
    for name in [n for n in env if n.startswith(("ZEEBE_", "CAMUNDA_"))]:
        del env[name]
    env.update(
        {
            "ZEEBE_ADDRESS": zeebe_address,
            "ZEEBE_CELERY_BROKER_URL": redis_url,
            "ZEEBE_CELERY_REDIS_URL": redis_url,
            "PYTHONUNBUFFERED": "1",
        }
    )
    paths = [str(p) for p in pythonpath] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update({f"ZEEBE_CELERY_{key.upper()}": str(value) for key, value in bridge.items()})
    return env


class _Process:
    """One subprocess with a log file, ready when a marker appears in its log."""

    name = "process"
    ready_marker = ""

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: str | os.PathLike[str] | None) -> None:
        self._argv = list(argv)
        self._env = dict(env)
        self._cwd = Path(cwd) if cwd is not None else Path.cwd()
        self._workdir: Path | None = None
        self._launched: Launch | None = None

    @property
    def log_path(self) -> Path:
        if self._launched is None:
            raise StackError(f"{self.name} has not started")
        return self._launched.log_path

    @property
    def pid(self) -> int:
        if self._launched is None:
            raise StackError(f"{self.name} has not started")
        return self._launched.pid

    @property
    def process(self) -> subprocess.Popen[bytes]:
        if self._launched is None:
            raise StackError(f"{self.name} has not started")
        return self._launched.process

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def start(self, *, wait: bool = True) -> Self:
        self._workdir = make_workdir(f"zeebe-celery-{self.name}-")
        log_path = self._workdir / f"{self.name}.log"
        # launch() runs the command in its work directory; the app module is found from the caller's cwd.
        env = dict(self._env)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(self._cwd), env.get("PYTHONPATH", "")) if p)
        self._launched = launch(self._argv, env=env, workdir=self._workdir, log_path=log_path)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = _STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while self.ready_marker not in self.log():
            code = self.process.poll()
            if code is not None:
                raise StackError(
                    f"{self.name} exited with code {code} while starting; its log:\n{log_tail(self.log_path)}"
                )
            if time.monotonic() > deadline:
                raise StackError(f"{self.name} was not ready after {timeout:.0f}s; its log:\n{log_tail(self.log_path)}")
            time.sleep(0.1)

    def signal(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit and return its code. Raises subprocess.TimeoutExpired."""
        return self.process.wait(timeout=timeout)

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM the process group, SIGKILL after ``grace`` seconds. Safe to call twice."""
        if self._launched is not None:
            terminate(self._launched, grace)

    def cleanup(self) -> None:
        self.stop()
        if self._workdir is not None:
            remove_workdir(self._workdir)
            self._workdir = None

    def __enter__(self) -> Self:
        if self._launched is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cleanup()


class CeleryWorker(_Process):
    """``celery -A APP worker -Q QUEUES`` with the prefork pool: a main process and ``concurrency`` children."""

    name = "celery-worker"
    ready_marker = " ready."

    def __init__(
        self,
        app: str,
        queues: Sequence[str],
        *,
        env: Mapping[str, str],
        concurrency: int = 2,
        pool: str = "prefork",
        loglevel: str = "INFO",
        node_name: str | None = None,
        cwd: str | os.PathLike[str] | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            app,
            "worker",
            "-Q",
            ",".join(queues),
            "-P",
            pool,
            "-c",
            str(concurrency),
            "-l",
            loglevel,
            "-n",
            node_name or f"w-{uuid.uuid4().hex[:8]}@%h",
            # Gossip, mingle and heartbeats are cluster chatter the bridge does not need.
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            *extra_args,
        ]
        super().__init__(argv, env=env, cwd=cwd)

    def child_pids(self) -> list[int]:
        """The pool's worker processes (children of the main process)."""
        pids: list[int] = []
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{self.pid}/task").iterdir():
                text = (task / "children").read_text()
                pids.extend(int(p) for p in text.split())
        return pids


class PollerProcess(_Process):
    """``zeebe-celery poller -A APP`` with optional arguments (``--types``, ``--stream``, ``--http-port``)."""

    name = "poller"
    ready_marker = "polling "

    def __init__(
        self,
        app: str,
        *,
        env: Mapping[str, str],
        args: Sequence[str] = (),
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        argv = [sys.executable, "-m", "zeebe_celery.cli", "poller", "-A", app, *args]
        super().__init__(argv, env=env, cwd=cwd)
