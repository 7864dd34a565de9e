"""Running the engine in the foreground, as ``zeebe-celery engine`` does: it prints its address, serves
until SIGTERM or SIGINT, then stops cleanly."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import IO

from zeebe_celery.engine.engine import ZeebeEngine
from zeebe_celery.engine.feel import FeelLimits

__all__ = ["serve"]


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 26500,
    data_dir: Path | None = None,
    monitoring_port: int | None = None,
    rest_port: int | None = None,
    monitoring_host: str = "127.0.0.1",
    certificate: Path | None = None,
    private_key: Path | None = None,
    token: str | None = None,
    max_in_flight: int | None = None,
    feel_limits: FeelLimits | None = None,
    out: IO[str],
) -> None:
    """Serve until a termination signal arrives. Raises EngineStateError when a port cannot be bound, and
    DataDirectoryInUse (another engine runs on ``data_dir``) or DataDirectoryError."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    engine = ZeebeEngine(
        host=host,
        port=port,
        data_dir=data_dir,
        monitoring_port=monitoring_port,
        rest_port=rest_port,
        monitoring_host=monitoring_host,
        certificate=certificate.read_bytes() if certificate else None,
        private_key=private_key.read_bytes() if private_key else None,
        token=token,
        max_in_flight=max_in_flight,
        feel_limits=feel_limits,
    )
    try:
        with engine:
            line = f"zeebe-celery engine listening on {engine.address}"
            if engine.rest_port is not None:
                line += f" (REST API on {engine.rest_address})"
            if engine.monitoring_port is not None:
                line += f" (inspection on http://{monitoring_host}:{engine.monitoring_port})"
            if data_dir is not None:
                line += f", state in {data_dir}"
            print(line, file=out, flush=True)
            if engine.web_url is not None:
                print(f"web UI: open {engine.web_url} in a browser", file=out, flush=True)
            else:
                print("web UI: start with --monitoring-port N to serve it at http://127.0.0.1:N/", file=out, flush=True)
            stop.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
