"""Durability under kill -9: an engine process with a data directory is killed at random points of a
steady load and restarted on the same directory; every command it answered is there, and nothing else."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from tests.unit.engine.bpmn_builders import end_event, flows, process, service_task, start_event
from zeebe_celery.engine.runtime import Runtime
from zeebe_celery.engine.store import Store
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto import gateway_pb2_grpc

MODEL = process(
    "durable", start_event(), service_task("work", "durable-work"), end_event(), flows("start", "work", "end")
)


@dataclass
class Answered:
    """What the engine answered, and the one command that was in flight when it died."""

    created: set[int] = field(default_factory=set)
    completed: set[int] = field(default_factory=set)  # process instance keys whose job completion was answered
    in_flight_create: bool = False
    in_flight_complete: int | None = None


def _start_engine(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "zeebe_celery.cli", "engine", "--port", "0", "--data-dir", str(data_dir)]
    engine = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert engine.stdout is not None
    line = engine.stdout.readline()
    return engine, line.split(" listening on ")[1].split()[0].rstrip(",")


def _ended(engine: subprocess.Popen[str]) -> None:
    engine.wait(timeout=30)
    if engine.stdout is not None:
        engine.stdout.close()


def _load(address: str, answered: Answered, stop: threading.Event) -> None:
    """Create instances and complete their jobs, one call at a time, until the engine dies."""
    with grpc.insecure_channel(address) as channel:
        gateway = gateway_pb2_grpc.GatewayStub(channel)
        try:
            while not stop.is_set():
                answered.in_flight_create = True
                created = gateway.CreateProcessInstance(
                    pb.CreateProcessInstanceRequest(bpmnProcessId="durable", variables='{"n": 1}'), timeout=5
                )
                answered.created.add(created.processInstanceKey)
                answered.in_flight_create = False
                if created.processInstanceKey % 2:
                    continue
                for response in gateway.ActivateJobs(
                    pb.ActivateJobsRequest(
                        type="durable-work", worker="w", timeout=60_000, maxJobsToActivate=1, requestTimeout=1000
                    ),
                    timeout=5,
                ):
                    for job in response.jobs:
                        answered.in_flight_complete = job.processInstanceKey
                        gateway.CompleteJob(pb.CompleteJobRequest(jobKey=job.key, variables="{}"), timeout=5)
                        answered.completed.add(job.processInstanceKey)
                        answered.in_flight_complete = None
        except grpc.RpcError:
            return  # the engine died under us


def test_every_answered_command_survives_kill_9_at_random_points_and_nothing_else_appears(tmp_path: Path) -> None:
    rng = random.Random(os.environ.get("KILL9_SEED", "zeebe-celery"))
    _deploy(tmp_path)
    answered = Answered()
    uncertain: set[int] = set()  # instances whose create or completion was in flight at a kill
    for _round in range(3):
        engine, address = _start_engine(tmp_path)
        stop = threading.Event()
        load = threading.Thread(target=_load, args=(address, answered, stop))
        load.start()
        threading.Event().wait(rng.uniform(0.3, 1.2))
        os.kill(engine.pid, signal.SIGKILL)
        _ended(engine)
        stop.set()
        load.join(timeout=30)
        if answered.in_flight_complete is not None:
            uncertain.add(answered.in_flight_complete)
        creates_in_flight = answered.in_flight_create
        answered.in_flight_create, answered.in_flight_complete = False, None
        last_answered = max(answered.created, default=0)
        live = _live_instances(tmp_path)
        unexpected = live - answered.created
        if creates_in_flight:
            # The create that was in flight may have committed before the kill: at most that one, newer than
            # every answered create.
            assert len(unexpected) <= 1, unexpected
            assert all(key > last_answered for key in unexpected)
            answered.created |= unexpected
            uncertain |= unexpected
        else:
            assert not unexpected
        assert answered.completed.isdisjoint(live), "an answered completion was lost"
        assert (answered.created - answered.completed - uncertain) <= live, "an answered create was lost"
    assert len(answered.created) > 20, "the load was too small to say anything"


def _deploy(data_dir: Path) -> None:
    """Deploy the model once, on an engine that is stopped cleanly."""
    engine, address = _start_engine(data_dir)
    try:
        with grpc.insecure_channel(address) as channel:
            gateway_pb2_grpc.GatewayStub(channel).DeployResource(
                pb.DeployResourceRequest(resources=[pb.Resource(name="durable.bpmn", content=MODEL)]), timeout=10
            )
    finally:
        engine.send_signal(signal.SIGTERM)
        _ended(engine)


def _live_instances(data_dir: Path) -> set[int]:
    """The process instances the store holds, as a restarted engine loads them."""
    store = Store(data_dir)
    runtime = Runtime(clock=lambda: 0)
    try:
        store.load(runtime)
    finally:
        store.close()
    return {key for key, instance in runtime.instances.items() if instance.parent is None}
