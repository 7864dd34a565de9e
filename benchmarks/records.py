"""Engine-side timestamps of every job, read from the broker's DebugLogExporter log.

The broker logs each record it writes as one JSON line. Three kinds matter here: a job's CREATED event,
the JOB_BATCH ACTIVATED event that handed it to a worker, and its COMPLETED event. Their ``timestamp``
fields are the broker's own clock (epoch ms), so activation -> completion is measured the same way for
every contender, without touching any of them.
"""

from __future__ import annotations

import json
import math
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["EXPORTER_ENV", "JobTimes", "RecordLog"]

EXPORTER_ENV = {
    "ZEEBE_BROKER_EXPORTERS_DEBUG_CLASSNAME": "io.camunda.zeebe.broker.exporter.debug.DebugLogExporter",
    "ZEEBE_BROKER_EXPORTERS_DEBUG_ARGS_LOGLEVEL": "info",
    "ZEEBE_BROKER_EXPORTERS_DEBUG_ARGS_PRETTYPRINT": "false",
}

_JOB = b'"valueType":"JOB",'
_BATCH = b'"valueType":"JOB_BATCH",'
_CREATED = b'"intent":"CREATED"'
_ACTIVATED = b'"intent":"ACTIVATED"'
_COMPLETED = b'"intent":"COMPLETED"'
_EVENT = b'"recordType":"EVENT"'


@dataclass(frozen=True, slots=True)
class JobTimes:
    """One completed job: broker timestamps in epoch ms."""

    key: int
    created: int | None
    activated: int | None
    completed: int

    @property
    def active_ms(self) -> int | None:
        """Activation -> completion."""
        return None if self.activated is None else self.completed - self.activated


@dataclass
class RecordLog:
    """Follows the broker log; call :meth:`poll` to read what was appended since the last call."""

    path: Path
    _offset: int = 0
    _partial: bytes = b""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    created: dict[int, int] = field(default_factory=dict)
    activated: dict[int, int] = field(default_factory=dict)
    completed: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    batches: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))
    """(timestamp, jobs) of every non-empty activation, by job type."""

    def poll(self) -> None:
        with self._lock, self.path.open("rb") as log:
            log.seek(self._offset)
            chunk = log.read()
            self._offset += len(chunk)
        if not chunk:
            return
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            self.feed(line)

    def feed(self, line: bytes) -> None:
        """Take one log line; lines that are not job events are skipped cheaply."""
        if _EVENT not in line:
            return
        if _JOB in line:
            if _COMPLETED in line:
                record = _record(line)
                self.completed[record["value"]["type"]][record["key"]] = record["timestamp"]
            elif _CREATED in line:
                record = _record(line)
                self.created[record["key"]] = record["timestamp"]
        elif _BATCH in line and _ACTIVATED in line:
            record = _record(line)
            keys = record["value"]["jobKeys"]
            if keys:
                self.batches[record["value"]["type"]].append((record["timestamp"], len(keys)))
            for key in keys:
                # A job activated again after a timeout keeps its latest activation.
                self.activated[key] = record["timestamp"]

    def completed_count(self, job_type: str) -> int:
        return len(self.completed.get(job_type, {}))

    def mean_batch(self, job_type: str, start_ms: float, end_ms: float) -> float:
        """Jobs per non-empty activation of ``job_type`` between two broker times; NaN for none."""
        sizes = [n for at, n in self.batches.get(job_type, []) if start_ms <= at <= end_ms]
        return sum(sizes) / len(sizes) if sizes else math.nan

    def jobs(self, job_type: str) -> list[JobTimes]:
        """The completed jobs of ``job_type``, by completion time."""
        done = self.completed.get(job_type, {})
        times = [JobTimes(key, self.created.get(key), self.activated.get(key), at) for key, at in done.items()]
        return sorted(times, key=lambda t: t.completed)


def _record(line: bytes) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(line[line.index(b"{") :])
    return record
