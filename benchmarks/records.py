"""Engine-side timestamps of every job, read from the engine's exported records.

The engine keeps the records Zeebe would export and serves them on its inspection port
(``GET /records?valueType=JOB&since=<position>``). Three kinds matter here: a job's CREATED event, the
JOB_BATCH ACTIVATED event that handed it to a worker, and its COMPLETED event. Their ``timestamp`` fields
are the engine's own clock (epoch ms), so activation -> completion is measured the same way for every
contender, without touching any of them.
"""

from __future__ import annotations

import json
import math
import threading
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["JobTimes", "RecordLog", "http_source"]

Fetch = Callable[[str, int], list[dict[str, Any]]]
"""(query, since position) -> the records after that position, oldest first."""

# What is fetched on each poll: every JOB event, and the activations.
QUERIES = ("valueType=JOB", "valueType=JOB_BATCH&intent=ACTIVATED")


def http_source(monitor_url: str) -> Fetch:
    """Records from the engine's inspection port at ``monitor_url``."""

    def fetch(query: str, since: int) -> list[dict[str, Any]]:
        # The URL is the engine's own http:// address, never one from outside.
        with urllib.request.urlopen(  # noqa: S310
            f"{monitor_url}/records?{query}&since={since}", timeout=60
        ) as response:
            records: list[dict[str, Any]] = json.load(response)
        return records

    return fetch


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
    """Follows the engine's records; call :meth:`poll` to take what was exported since the last call.

    Each query keeps its own position, so no record is read twice or missed. The engine retains a
    bounded number of records: a poll must come before they fall off (every 0.2 s does, by far).
    """

    fetch: Fetch
    _since: dict[str, int] = field(default_factory=lambda: dict.fromkeys(QUERIES, 0))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    created: dict[int, int] = field(default_factory=dict)
    activated: dict[int, int] = field(default_factory=dict)
    completed: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    batches: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))
    """(timestamp, jobs) of every non-empty activation, by job type."""

    def poll(self) -> None:
        with self._lock:
            for query in QUERIES:
                records = self.fetch(query, self._since[query])
                if records:
                    self._since[query] = records[-1]["position"]
                for record in records:
                    self.feed(record)

    def feed(self, record: dict[str, Any]) -> None:
        """Take one exported record; those that are not job events are skipped."""
        if record.get("recordType", "EVENT") != "EVENT":
            return
        kind, intent, value = record["valueType"], record["intent"], record["value"]
        if kind == "JOB":
            if intent == "COMPLETED":
                self.completed[value["type"]][record["key"]] = record["timestamp"]
            elif intent == "CREATED":
                self.created[record["key"]] = record["timestamp"]
        elif kind == "JOB_BATCH" and intent == "ACTIVATED":
            keys = value["jobKeys"]
            if keys:
                self.batches[value["type"]].append((record["timestamp"], len(keys)))
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
