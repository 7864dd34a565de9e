"""CPU time and memory of processes, read from /proc (psutil is not a dependency).

CPU is ``utime + stime`` of a process and its live descendants; memory is ``VmRSS`` and ``VmHWM`` (peak
RSS) from ``/proc/<pid>/status``. A :class:`Sampler` records both over time, so the CPU of any window
(the steady window of a run) can be read afterwards.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Sample", "Sampler", "cpu_seconds", "descendants", "status_kib", "tree_cpu_seconds"]

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds; 0.0 when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # The command name (field 2) may hold spaces and parentheses; the fields after it are plain.
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def descendants(pid: int) -> list[int]:
    """``pid`` and every live process below it."""
    found = [pid]
    index = 0
    while index < len(found):
        current = found[index]
        index += 1
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                found.extend(int(child) for child in (task / "children").read_text().split())
            except OSError:
                continue
    return found


def tree_cpu_seconds(roots: Iterable[int]) -> float:
    return sum(cpu_seconds(pid) for root in roots for pid in descendants(root))


def status_kib(pid: int, key: str) -> int | None:
    """A ``kB`` value of /proc/<pid>/status (``VmRSS``, ``VmHWM``); None when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    """time.time() when taken."""
    cpu: float
    """CPU seconds of the sampled process trees, summed."""
    rss_kib: int | None
    """VmRSS of the watched process (the poller), if one is watched."""
    extra: float | None = None
    """What ``probe`` returned at that moment (e.g. jobs dispatched so far)."""


@dataclass
class Sampler:
    """Samples the CPU of process trees (and the RSS of one process) every ``interval`` seconds."""

    roots: list[int]
    rss_pid: int | None = None
    interval: float = 0.25
    probe: Callable[[], float] | None = None
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> Sample:
        extra = self.probe() if self.probe is not None else None
        taken = Sample(
            at=time.time(),
            cpu=tree_cpu_seconds(self.roots),
            rss_kib=status_kib(self.rss_pid, "VmRSS") if self.rss_pid else None,
            extra=extra,
        )
        self.samples.append(taken)
        return taken

    def start(self) -> Sampler:
        self.sample()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    def cpu_at(self, at: float) -> float:
        return interpolate([(s.at, s.cpu) for s in self.samples], at)

    def cpu_between(self, start: float, end: float) -> float:
        return self.cpu_at(end) - self.cpu_at(start)


def interpolate(points: list[tuple[float, float]], x: float) -> float:
    """Linear interpolation in ``points`` (sorted by x), clamped at both ends."""
    if not points:
        raise ValueError("nothing to interpolate")
    xs = [p[0] for p in points]
    i = bisect.bisect_left(xs, x)
    if i == 0:
        return points[0][1]
    if i >= len(points):
        return points[-1][1]
    (x0, y0), (x1, y1) = points[i - 1], points[i]
    if x1 == x0:
        return y1
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
