"""Durability: with a data directory the engine's state survives a restart, and the restarted engine
resumes: activated jobs keep their deadlines, due timers fire, buffered messages still correlate, and
incidents, variables and deployments are all still there."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.engine.bpmn_builders import (
    end_event,
    flows,
    message_catch,
    process,
    service_task,
    start_event,
    timer_catch,
)
from tests.unit.engine.harness import FakeClock, Harness
from zeebe_celery.engine.runtime import Runtime
from zeebe_celery.engine.state import JobState
from zeebe_celery.engine.store import Store

DMN = Path(__file__).resolve().parents[2] / "bpmn" / "discount.dmn"


class Restartable(Harness):
    """A harness whose runtime keeps its state in a data directory and can be restarted on it."""

    def __init__(self, data_dir: Path, clock: FakeClock | None = None) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.clock = clock or self.clock
        self.store = Store(data_dir)
        self.runtime = Runtime(clock=self.clock)
        self.store.load(self.runtime)
        self.runtime.persistence = self.store

    def restart(self) -> Restartable:
        """A new runtime on the same directory and clock, as after the process was killed."""
        self.store.close()
        return Restartable(self.data_dir, self.clock)


@pytest.fixture
def engine(tmp_path: Path) -> Restartable:
    return Restartable(tmp_path)


def one_task() -> bytes:
    return process("p", start_event(), service_task("work", "w"), end_event(), flows("start", "work", "end"))


def test_an_activated_job_keeps_its_deadline_across_a_restart_and_times_out_on_it(engine: Restartable) -> None:
    engine.deploy(one_task())
    key = engine.start("p", {"order": 7})
    job = engine.one_job("w", timeout=30_000)

    engine = engine.restart()

    restored = engine.runtime.jobs[job.key]
    assert (restored.state, restored.deadline, restored.worker) == (JobState.ACTIVATED, job.deadline, "tester")
    assert engine.variables(key) == {"order": 7}
    assert engine.activate("w") == []
    engine.advance(30_000)
    [again] = engine.activate("w")
    assert (again.key, again.retries) == (job.key, 3)
    engine.complete(again)
    assert engine.completed(key)


def test_a_timer_that_fell_due_while_the_engine_was_down_fires_after_the_restart(engine: Restartable) -> None:
    engine.deploy(
        process("t", start_event(), timer_catch("nap", duration="PT1M"), end_event(), flows("start", "nap", "end"))
    )
    key = engine.start("t")

    engine = engine.restart()
    engine.advance(60_000)

    assert engine.completed(key)


def test_a_buffered_message_still_correlates_after_a_restart(engine: Restartable) -> None:
    engine.deploy(
        process(
            "m",
            start_event(),
            message_catch("wait", "paid"),
            end_event(),
            flows("start", "wait", "end"),
            messages={"paid": "=orderId"},
        )
    )
    engine.publish("paid", "o-1", ttl=60_000, message_id="once", variables={"amount": 5})

    engine = engine.restart()
    key = engine.start("m", {"orderId": "o-1"})

    assert engine.completed(key)
    assert engine.records("PROCESS_MESSAGE_SUBSCRIPTION", "CORRELATED", processInstanceKey=key)
    with pytest.raises(Exception, match="already published"):
        engine.publish("paid", "o-1", ttl=60_000, message_id="once")


def test_a_subscription_opened_before_a_restart_correlates_a_message_published_after_it(engine: Restartable) -> None:
    engine.deploy(
        process(
            "m",
            start_event(),
            message_catch("wait", "paid"),
            end_event(),
            flows("start", "wait", "end"),
            messages={"paid": "=orderId"},
        )
    )
    key = engine.start("m", {"orderId": "o-2"})

    engine = engine.restart()
    engine.publish("paid", "o-2", variables={"amount": 9})

    assert engine.completed(key)


def test_an_incident_and_its_failed_job_survive_a_restart_and_resolve_after_it(engine: Restartable) -> None:
    engine.deploy(one_task())
    key = engine.start("p")
    job = engine.one_job("w")
    engine.fail(job, retries=0, message="bad input")

    engine = engine.restart()
    [incident] = engine.incidents(key)
    assert (incident.error_type, incident.error_message, incident.job) == (
        "JOB_NO_RETRIES",
        "bad input",
        engine.runtime.jobs[job.key],
    )
    with engine.runtime.lock:
        engine.runtime.update_job_retries(job.key, 2)
    engine.resolve(incident)

    assert engine.one_job("w").retries == 2


def test_deployments_keep_their_keys_and_versions_and_new_keys_never_repeat_old_ones(engine: Restartable) -> None:
    [v1] = engine.deploy(one_task())
    [v2] = engine.deploy(one_task().replace(b'type="w"', b'type="w2"'))
    with engine.runtime.lock:
        decisions = engine.runtime.deploy([("discount.dmn", DMN.read_bytes())]).decisions
    last_key = engine.runtime.keys.last

    engine = engine.restart()

    with engine.runtime.lock:
        assert engine.runtime.find_definition(process_id="p").key == v2.key
        assert engine.runtime.find_definition(process_id="p", version=1).key == v1.key
        assert engine.runtime.find_decision(decision_id="discount").key == decisions[0].key
    assert engine.start("p") > last_key
    assert engine.one_job("w2").key > last_key


def test_a_finished_instance_is_removed_from_the_store(engine: Restartable) -> None:
    engine.deploy(one_task())
    key = engine.start("p")
    engine.complete(engine.one_job("w"))

    engine = engine.restart()

    assert not engine.is_running(key)
    assert engine.runtime.instances == {}


def test_a_deleted_version_is_never_given_again_after_a_restart(engine: Restartable) -> None:
    engine.deploy(one_task())
    [v2] = engine.deploy(one_task().replace(b'type="w"', b'type="w2"'))
    with engine.runtime.lock:
        engine.runtime.delete_resource(v2.key)

    engine = engine.restart()
    [v3] = engine.deploy(one_task().replace(b'type="w"', b'type="w3"'))

    assert v3.version == 3


def test_keys_handed_out_with_nothing_else_changed_are_not_handed_out_again_after_a_restart(
    engine: Restartable,
) -> None:
    with engine.runtime.lock:
        signal_key = engine.runtime.broadcast_signal("nobody-listens", variables={}, tenant_id="<default>")

    engine = engine.restart()

    assert engine.runtime.keys.next() > signal_key
