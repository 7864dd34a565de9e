"""The one engine and one Redis of a benchmark run, with what every phase needs from them."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.engine_proc import EngineProcess
from benchmarks.load import Load
from benchmarks.records import RecordLog, http_source
from zeebe_celery.stack.fleet import stack_env
from zeebe_celery.stack.redis import RedisServer

__all__ = ["PYZEEBE_PYTHON", "Stack", "open_stack", "say"]

HERE = Path(__file__).resolve().parent
PYZEEBE_PYTHON = HERE / ".venv-pyzeebe" / "bin" / "python"
STARTED = time.monotonic()


def say(message: str) -> None:
    """A progress line on stderr, with the seconds since the run began."""
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


@dataclass
class Stack:
    engine: EngineProcess
    redis: RedisServer
    load: Load
    records: RecordLog

    def env(self, **bridge: str) -> dict[str, str]:
        """The environment of a poller or worker on this stack, with bridge options as ZEEBE_CELERY_*."""
        return stack_env(zeebe_address=self.engine.address, redis_url=self.redis.url, **bridge)

    def wait_completed(self, job_type: str, count: int, *, timeout: float) -> bool:
        """Follow the engine's records until ``count`` jobs of ``job_type`` completed; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            self.records.poll()
            if self.records.completed_count(job_type) >= count:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)


@contextlib.contextmanager
def open_stack() -> Iterator[Stack]:
    """Start the engine (its own process) and Redis, and set up pyzeebe's venv meanwhile."""
    setup = subprocess.Popen(
        ["bash", str(HERE / "setup_pyzeebe.sh")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    say("starting the engine and Redis (and pyzeebe's venv)")
    with EngineProcess() as engine, RedisServer() as redis:
        output, _ = setup.communicate()
        if setup.returncode != 0:
            raise RuntimeError(f"benchmarks/setup_pyzeebe.sh failed:\n{output}")
        load = Load(engine.address)
        try:
            say(f"engine at {engine.address} (pid {engine.pid}), Redis at {redis.url}; {output.strip()}")
            yield Stack(engine, redis, load, RecordLog(http_source(engine.monitor_url)))
        finally:
            load.close()
