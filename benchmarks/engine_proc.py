"""The project's engine in a process of its own, so its CPU and memory can be read from /proc apart, and
so it can be killed and started again on its data directory.

``python -m benchmarks.engine_proc [--records-limit N] [--port P] [--monitoring-port M] [--data-dir DIR]
[--faults-port F]`` starts a :class:`ZeebeEngine` with its inspection port and prints
``bench engine ready ADDRESS MONITOR_PORT``; it serves until SIGTERM. :class:`EngineProcess` starts it and
reads the address back. The engine is what ``zeebe-celery engine`` runs; this script adds
``--records-limit``, which the memory figures need, and ``--faults-port``, the engine's fault injection
over HTTP (:mod:`benchmarks.fault_control`), which the chaos scenarios need.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Self

from benchmarks.fault_control import FaultControl
from benchmarks.procs import REPO, Program
from zeebe_celery.engine import ZeebeEngine

__all__ = ["DEFAULT_RECORDS_LIMIT", "EngineProcess"]

_READY = re.compile(r"bench engine ready (\S+) (\d+)")
# The engine's own default retention of exported records.
DEFAULT_RECORDS_LIMIT = 100_000


class EngineProcess(Program):
    """The engine as a subprocess; ``address`` (gRPC) and ``monitor_url`` (HTTP) once started.

    With fixed ports and a ``data_dir`` it can be started again after a kill, where clients expect it.
    """

    def __init__(
        self,
        *,
        records_limit: int = DEFAULT_RECORDS_LIMIT,
        port: int = 0,
        monitoring_port: int = 0,
        data_dir: Path | None = None,
        faults_port: int | None = None,
        cwd: Path = REPO,
    ) -> None:
        """``cwd``: the source tree the engine runs from (``-m`` puts it first on the path)."""
        argv = [sys.executable, "-m", "benchmarks.engine_proc", "--records-limit", str(records_limit)]
        # Only what differs from the defaults: an older tree's engine_proc (benchmarks/engine_redesign.py runs
        # one) knows no more than --records-limit.
        if port:
            argv += ["--port", str(port)]
        if monitoring_port:
            argv += ["--monitoring-port", str(monitoring_port)]
        if data_dir is not None:
            argv += ["--data-dir", str(data_dir)]
        if faults_port is not None:
            argv += ["--faults-port", str(faults_port)]
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
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--monitoring-port", type=int, default=0)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--faults-port", type=int)
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    engine = ZeebeEngine(
        port=args.port,
        monitoring_port=args.monitoring_port,
        records_limit=args.records_limit,
        data_dir=args.data_dir,
    )
    with engine:
        control = FaultControl(engine.faults, args.faults_port) if args.faults_port is not None else None
        print(f"bench engine ready {engine.address} {engine.monitoring_port}", flush=True)
        stop.wait()
        if control is not None:
            control.stop()


if __name__ == "__main__":
    main()
