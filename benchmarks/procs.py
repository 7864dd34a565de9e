"""The contenders' processes: each runs in its own session with its output in a log file."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from zeebe_celery.stack.fleet import CeleryWorker, PollerProcess, _Process

__all__ = ["APP", "REPO", "CeleryWorker", "Program", "poller_launcher", "poller_process"]

REPO = Path(__file__).resolve().parent.parent
APP = "benchmarks.bench_app"


class Program(_Process):
    """Any command, ready when ``ready_marker`` shows in its output."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        ready_marker: str,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = REPO,
    ) -> None:
        super().__init__(argv, env=dict(os.environ if env is None else env), cwd=cwd)
        self.name = name
        self.ready_marker = ready_marker


def poller_launcher() -> str:
    """``cli`` when the ``zeebe-celery poller`` command exists, else ``runner`` (benchmarks.poller_runner)."""
    return "cli" if importlib.util.find_spec("zeebe_celery.cli") is not None else "runner"


def poller_process(env: Mapping[str, str]) -> _Process:
    """The poller of the bench app, started the way users start it when the command exists."""
    if poller_launcher() == "cli":
        return PollerProcess(APP, env=env, cwd=REPO)
    return Program("poller", [sys.executable, "-m", "benchmarks.poller_runner", APP], ready_marker="polling ", env=env)
