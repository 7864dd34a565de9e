"""Real jobs on the unit lane's shared engine: each test deploys a one-task process for a job type no
other test uses, creates instances of it, and activates their jobs through the engine's runtime (so no
ActivateJobs call shows up among the calls a test inspects)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.server import activated_job
from zeebe_celery.engine.state import JobState
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.job import Job

ONE_TASK = (Path(__file__).resolve().parent.parent / "bpmn" / "one_task.bpmn").read_text(encoding="utf-8")
WORKER = "unit-tests"
STRAIGHT_THROUGH = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://t">
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


class EngineJobs:
    """Deploys, creates and activates on ``engine``; every job type gets its own process."""

    def __init__(self, engine: ZeebeEngine) -> None:
        self.engine = engine
        self.runtime = engine.runtime

    def new_type(self, prefix: str = "work", *, retries: int = 3, headers: Mapping[str, str] | None = None) -> str:
        """A job type no other test uses, with a one-task process for it deployed."""
        job_type = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.deploy(job_type, retries=retries, headers=headers)
        return job_type

    @staticmethod
    def process_of(job_type: str) -> str:
        """The id of the process deployed for ``job_type``."""
        return f"process-{job_type}"

    def deploy_straight_through(self) -> str:
        """Deploy a process that ends as soon as it starts; return its id."""
        process_id = f"straight-{uuid.uuid4().hex[:8]}"
        with self.runtime.lock:
            self.runtime.deploy([(f"{process_id}.bpmn", STRAIGHT_THROUGH.format(process_id=process_id).encode())])
        return process_id

    def deploy(self, job_type: str, *, retries: int = 3, headers: Mapping[str, str] | None = None) -> str:
        """Deploy the one-task process whose task makes jobs of ``job_type``; return its process id.

        ``headers`` replace the task's own (``tier: gold``); deploying again with others makes a new
        version, whose instances the next :meth:`create` starts."""
        process_id = self.process_of(job_type)
        bpmn = (
            ONE_TASK.replace('"one-task"', f'"{process_id}"')
            .replace('"test-work"', f'"{job_type}"')
            .replace('retries="3"', f'retries="{retries}"')
        )
        if headers is not None:
            entries = "".join(f"<zeebe:header key={quoteattr(k)} value={quoteattr(v)} />" for k, v in headers.items())
            bpmn = re.sub(
                r"<zeebe:taskHeaders>.*?</zeebe:taskHeaders>",
                lambda _: f"<zeebe:taskHeaders>{entries}</zeebe:taskHeaders>",
                bpmn,
            )
        with self.runtime.lock:
            self.runtime.deploy([(f"{process_id}.bpmn", bpmn.encode())])
        return process_id

    def create(self, job_type: str, count: int = 1, variables: Mapping[str, Any] | None = None) -> list[int]:
        """Start ``count`` instances whose task waits with an activatable job; return their keys."""
        with self.runtime.lock:
            definition = self.runtime.find_definition(process_id=self.process_of(job_type))
            return [self.runtime.create_instance(definition, dict(variables or {})).key for _ in range(count)]

    def activate(
        self,
        job_type: str,
        count: int = 1,
        *,
        timeout_ms: int = 60_000,
        fetch: Sequence[str] = (),
        retries: int | None = None,
    ) -> list[pb.ActivatedJob]:
        """Activate exactly ``count`` of the activatable jobs of ``job_type`` for ``timeout_ms``; with
        ``retries``, their retries are updated to that first, as an operator would."""
        with self.runtime.lock:
            activated = self.runtime.activate_jobs(
                job_type, worker=WORKER, timeout=timeout_ms, max_jobs=count, fetch=list(fetch)
            )
            if retries is not None:
                for job, _ in activated:
                    self.runtime.update_job_retries(job.key, retries)
        assert len(activated) == count, f"{len(activated)} of {count} jobs of {job_type!r} were activatable"
        return [activated_job(job, variables) for job, variables in activated]

    def activated(
        self, job_type: str, variables: Mapping[str, Any] | None = None, *, count: int = 1, timeout_ms: int = 60_000
    ) -> list[Job]:
        """``count`` new instances' jobs, activated for ``timeout_ms``, as a worker receives them (the oldest
        activatable jobs of ``job_type``: these, unless the test left others waiting)."""
        self.create(job_type, count, variables)
        return [Job.from_activated(job) for job in self.activate(job_type, count, timeout_ms=timeout_ms)]

    def one(self, job_type: str, variables: Mapping[str, Any] | None = None, *, timeout_ms: int = 60_000) -> Job:
        """A new instance's job, activated for ``timeout_ms``."""
        (job,) = self.activated(job_type, variables, timeout_ms=timeout_ms)
        return job

    def activatable(self, job_type: str) -> int:
        """How many jobs of ``job_type`` wait to be activated."""
        with self.runtime.lock:
            return len(self.runtime.activatable.get(job_type, {}))

    def keys_of(self, job_type: str) -> list[int]:
        """The keys of the jobs of ``job_type`` that exist, in whatever state, oldest first."""
        with self.runtime.lock:
            return sorted(key for key, job in self.runtime.jobs.items() if job.type == job_type)

    def job_of(self, process_instance_key: int) -> int:
        """The key of the one job of the instance."""
        with self.runtime.lock:
            (key,) = [
                k for k, j in self.runtime.jobs.items() if j.instance.process_instance_key == process_instance_key
            ]
            return key

    def state(self, key: int) -> JobState | None:
        """The job's state, or None once it is gone (completed, or its task ended)."""
        with self.runtime.lock:
            job = self.runtime.jobs.get(key)
            return job.state if job is not None else None

    def job_retries(self, key: int) -> int:
        """The retries the job has left."""
        with self.runtime.lock:
            return self.runtime.jobs[key].retries

    def complete(self, key: int) -> None:
        """Complete the job as another worker would, so a later report of it finds it gone."""
        with self.runtime.lock:
            self.runtime.complete_job(key, {})

    def fail(self, key: int, *, retries: int = 0) -> None:
        """Fail the job as another worker would; with no retries left it raises an incident."""
        with self.runtime.lock:
            self.runtime.fail_job(key, retries=retries, error_message="failed by the test", backoff=0, variables={})

    def completed_variables(self, key: int) -> dict[str, Any]:
        """The variables the job's completion set on its instance, read from the engine's records; fails
        the test unless the job completed exactly once."""
        records = self.engine.records
        done = [r for r in records.find("JOB", "COMPLETED") if r["key"] == key]
        assert len(done) == 1, f"job {key} completed {len(done)} times"
        instance = done[0]["value"]["processInstanceKey"]
        return {
            r["value"]["name"]: json.loads(r["value"]["value"])
            for r in records.since(done[0]["position"])
            if r["valueType"] == "VARIABLE" and r["value"]["processInstanceKey"] == instance
        }

    def failures(self, key: int) -> list[dict[str, Any]]:
        """The values of the job's FAILED records (``retries``, ``errorMessage``, ...), oldest first."""
        return [r["value"] for r in self.engine.records.find("JOB", "FAILED") if r["key"] == key]

    def incident(self, key: int) -> dict[str, Any]:
        """The one open incident of the job (``errorType``, ``errorMessage``, ...); fails the test without one."""
        found = [i for i in self.engine.incidents() if i["jobKey"] == key]
        assert len(found) == 1, f"job {key} has {len(found)} open incidents"
        return found[0]

    def wait_for_stream(self, job_type: str, *, within: float = 5.0) -> None:
        """Wait until a job stream of ``job_type`` is open and ready for the next job pushed to it."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with self.runtime.lock:
                if any(s.ready and not s.pending for s in self.runtime.streams.get(job_type, [])):
                    return
            time.sleep(0.005)
        raise AssertionError(f"no job stream of {job_type!r} became ready within {within}s")
