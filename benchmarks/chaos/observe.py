"""What a chaos scenario watches while it runs, and reads afterwards.

:class:`Observer` follows the engine's exported records (instances ended, jobs completed and timed out;
after the engine restarts, its record log starts again from nothing, and so does the follower) and samples
the flow-control set in Redis. A slot is *leaked* when it is still held :data:`LEAK_GRACE` seconds after the
task that ran its job was over (report sent or given up, as the journal's ``R`` line says; with one report
in flight per process, the default, the slot is freed before the task ends): nobody will free it before its
deadline, so it is capacity lost.
:func:`read_journal` reads the runs the handler wrote down (:mod:`benchmarks.chaos.app`).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from benchmarks.chaos.stack import ChaosStack

__all__ = ["LEAK_GRACE", "Observer", "Run", "read_journal"]

# A slot is freed before the task is over; the grace covers the sampling and a busy machine.
LEAK_GRACE = 2.0
_INTERVAL = 0.25


@dataclass(frozen=True, slots=True)
class Run:
    """One run of the handler, as the journal has it (epoch seconds); ``end`` is None for a run that was
    killed."""

    key: int
    n: int
    pid: int
    start: float
    end: float | None
    deadline: float

    @property
    def overrun(self) -> float:
        """Seconds the run went on past its job's deadline (negative: it ended before; 0 if it never ended)."""
        return 0.0 if self.end is None else self.end - self.deadline


def read_journal(directory: Path) -> list[Run]:
    """Every run the journal under ``directory`` records, finished or not."""
    runs: dict[tuple[int, int, float], Run] = {}
    for path in sorted(directory.glob("runs-*.log")):
        for line in path.read_text().splitlines():
            parts = line.split()
            if parts[:1] == ["S"] and len(parts) == 6:
                key, n, pid, start, deadline = int(parts[1]), int(parts[2]), int(parts[3]), parts[4], parts[5]
                runs.setdefault((pid, key, float(start)), Run(key, n, pid, float(start), None, float(deadline)))
            elif parts[:1] == ["E"] and len(parts) == 7:
                key, n, pid = int(parts[1]), int(parts[2]), int(parts[3])
                start, end, deadline = float(parts[4]), float(parts[5]), float(parts[6])
                runs[(pid, key, start)] = Run(key, n, pid, start, end, deadline)
            # anything else is a line cut short by a kill
    return list(runs.values())


@dataclass
class Observer:
    stack: ChaosStack
    ended: set[int] = field(default_factory=set)
    """Process instances the engine completed."""
    jobs_completed: dict[int, float] = field(default_factory=dict)
    """Job key -> when the engine completed it (epoch seconds)."""
    timed_out: list[tuple[int, float]] = field(default_factory=list)
    leaked: dict[str, float] = field(default_factory=dict)
    """Slot member -> when it was first seen held by a completed job."""
    samples: int = 0
    tasks_over: dict[str, float] = field(default_factory=dict)
    """Slot member (``key:deadline_ms``) -> when the task that ran it was over."""
    _offsets: dict[Path, int] = field(default_factory=dict)
    _since: dict[str, int] = field(default_factory=dict)
    _generation: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _redis: redis.Redis | None = None

    def _queries(self) -> dict[str, str]:
        plan = self.stack.plan
        return {
            "jobs": f"valueType=JOB&type={plan.job_type}",
            "ended": f"valueType=PROCESS_INSTANCE&intent=ELEMENT_COMPLETED&bpmnElementType=PROCESS"
            f"&bpmnProcessId={plan.job_type}",
        }

    def start(self) -> Observer:
        self._redis = self.stack.redis_client()
        self._thread = threading.Thread(target=self._run, name="observer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        with contextlib.suppress(Exception):
            self.poll()
        if self._redis is not None:
            self._redis.close()

    def _run(self) -> None:
        while not self._stop.wait(_INTERVAL):
            with contextlib.suppress(Exception):
                self.poll()

    def poll(self) -> None:
        self.follow_records()
        self.sample_slots()

    def follow_records(self) -> None:
        if self._generation != self.stack.engine_generation:
            # A restarted engine numbers its records from the start again.
            self._generation = self.stack.engine_generation
            self._since = {}
        for name, query in self._queries().items():
            records = self._get(f"/records?{query}&since={self._since.get(name, 0)}")
            if not records:
                continue
            self._since[name] = records[-1]["position"]
            for record in records:
                self._feed(record)

    def _feed(self, record: dict[str, Any]) -> None:
        if record.get("recordType", "EVENT") != "EVENT":
            return
        value, intent, at = record["value"], record["intent"], record["timestamp"] / 1000
        if record["valueType"] == "PROCESS_INSTANCE":
            self.ended.add(int(value["processInstanceKey"]))
        elif intent == "COMPLETED":
            self.jobs_completed[int(record["key"])] = at
        elif intent == "TIMED_OUT":
            self.timed_out.append((int(record["key"]), at))

    def sample_slots(self) -> None:
        assert self._redis is not None
        try:
            members = self._redis.zrange(self.stack.inflight_key, 0, -1, withscores=True)
        except redis.RedisError:
            return
        self._read_tasks_over()
        now = time.time()
        self.samples += 1
        for raw, score in members:
            member = raw.decode()
            if member.startswith("r:") or score <= now * 1000:
                continue
            over = self.tasks_over.get(member)
            if over is not None and now > over + LEAK_GRACE:
                self.leaked.setdefault(member, now)

    def _read_tasks_over(self) -> None:
        """Take the journal's new ``R`` lines (tasks over), reading each file from where it was left."""
        for path in self.stack.journal.glob("runs-*.log"):
            with path.open("rb") as journal:
                journal.seek(self._offsets.get(path, 0))
                chunk = journal.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self._offsets[path] = self._offsets.get(path, 0) + len(complete)
            for line in complete.decode().splitlines():
                parts = line.split()
                if parts[:1] == ["R"] and len(parts) == 5:
                    self.tasks_over[f"{parts[1]}:{parts[2]}"] = float(parts[4])

    def live_slots(self) -> list[tuple[str, float]]:
        """The members of the flow-control set whose time has not passed: (member, score in epoch seconds)."""
        assert self._redis is not None
        now_ms = time.time() * 1000
        members = self._redis.zrangebyscore(self.stack.inflight_key, f"({now_ms}", "+inf", withscores=True)
        return [(raw.decode(), score / 1000) for raw, score in members]

    def still_active(self, instance_key: int) -> bool:
        """Whether the engine still has the instance (it forgets an instance once it ended)."""
        try:
            self._get(f"/instances/{instance_key}")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return False
            raise
        return True

    def incidents(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._get("/incidents")
        return [i for i in found if i.get("bpmnProcessId") == self.stack.plan.job_type]

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.stack.monitor_url}{path}", timeout=10) as response:  # noqa: S310
            return json.load(response)
