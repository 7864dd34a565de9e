"""The project's engine in a process of its own, so its CPU and memory can be read from /proc apart.

``python -m benchmarks.engine_proc [--records-limit N]`` starts a :class:`ZeebeEngine` with its inspection
port and prints ``bench engine ready ADDRESS MONITOR_PORT``; it serves until SIGTERM. :class:`EngineProcess`
starts it and reads the address back. The in-memory engine is what ``zeebe-celery engine`` runs; this
script only adds ``--records-limit``, which the memory figures need.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Self

from benchmarks.procs import REPO, Program
from zeebe_celery.engine import ZeebeEngine

__all__ = ["DEFAULT_RECORDS_LIMIT", "EngineProcess"]

_READY = re.compile(r"bench engine ready (\S+) (\d+)")
# The engine's own default retention of exported records.
DEFAULT_RECORDS_LIMIT = 100_000


class EngineProcess(Program):
    """The engine as a subprocess; ``address`` (gRPC) and ``monitor_url`` (HTTP) once started."""

    def __init__(self, *, records_limit: int = DEFAULT_RECORDS_LIMIT, cwd: Path = REPO) -> None:
        """``cwd``: the source tree the engine runs from (``-m`` puts it first on the path)."""
        argv = [sys.executable, "-m", "benchmarks.engine_proc", "--records-limit", str(records_limit)]
        super().__init__("engine", argv, ready_marker="bench engine ready", cwd=cwd)
        self.records_limit = records_limit
        self.address = ""
        self.monitor_url = ""

    def start(self, *, wait: bool = True) -> Self:
        super().start(wait=True)
        match = _READY.search(self.log())
        if match is None:
            raise RuntimeError(f"the engine printed no address:\n{self.log()}")
        self.address = match.group(1)
        self.monitor_url = f"http://127.0.0.1:{match.group(2)}"
        return self


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records-limit", type=int, default=DEFAULT_RECORDS_LIMIT)
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with ZeebeEngine(monitoring_port=0, records_limit=args.records_limit) as engine:
        print(f"bench engine ready {engine.address} {engine.monitoring_port}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
