"""Job push as Zeebe does it, on the runtime: a new job goes to an open stream of its type in turn, busy or
not, and waits in that stream's buffer; only a push that fails (the stream is ending, or its buffer is full)
yields the job back to polling, with Zeebe's JOB YIELDED record."""

from __future__ import annotations

import json

import pytest

from tests.unit.engine.bpmn_builders import end_event, flows, process, service_task, start_event
from tests.unit.engine.harness import Harness
from zeebe_celery.engine.state import Job, JobState
from zeebe_celery.engine.streams import STREAM_BUFFER_BYTES, JobStream

ONE_TASK = process("one", start_event(), service_task("task", "work"), end_event(), flows("start", "task", "end"))


@pytest.fixture
def one(engine: Harness) -> Harness:
    engine.deploy(ONE_TASK)
    return engine


def open_stream(engine: Harness, worker: str = "streamer", *, tenants: tuple[str, ...] = ()) -> JobStream:
    stream = JobStream(job_type="work", worker=worker, timeout=60_000, fetch=(), tenant_ids=frozenset(tenants))
    with engine.runtime.lock:
        engine.runtime.open_stream(stream)
    return stream


def buffered(stream: JobStream) -> list[int]:
    """The process instance keys of the jobs waiting in the stream's buffer, in order."""
    return [job.instance.process_instance_key for job, *_ in stream.pending]


def sent(engine: Harness, stream: JobStream) -> Job | None:
    """What the stream's thread would write to the wire next."""
    with engine.runtime.lock:
        taken = engine.runtime.job_behavior.take_pushed(stream)
    return taken[0] if taken else None


def test_a_busy_stream_still_gets_every_new_job_and_polling_gets_none(one: Harness) -> None:
    stream = open_stream(one)

    keys = [one.start("one") for _ in range(3)]

    # The first job is still waiting to be written: the next ones join it in the buffer.
    assert buffered(stream) == keys
    pushed = [job.key for job, *_ in stream.pending]
    assert one.activate("work") == []
    # Each push is an activation, recorded as Zeebe records it.
    assert [r["value"]["jobKeys"] for r in one.records("JOB_BATCH", "ACTIVATED")] == [[key] for key in pushed]
    job = sent(one, stream)
    assert job is not None
    assert job.key == pushed[0]
    assert job.state is JobState.ACTIVATED
    assert job.worker == "streamer"


def test_new_jobs_go_round_robin_to_the_open_streams(one: Harness) -> None:
    first, second = open_stream(one, "a"), open_stream(one, "b")

    keys = [one.start("one") for _ in range(4)]

    assert buffered(first) == [keys[0], keys[2]]
    assert buffered(second) == [keys[1], keys[3]]
    assert [r["value"]["worker"] for r in one.records("JOB_BATCH", "ACTIVATED")] == ["a", "b", "a", "b"]


def test_a_stream_gets_only_jobs_of_its_tenants(engine: Harness) -> None:
    engine.deploy(ONE_TASK, tenant_id="blue")
    engine.deploy(ONE_TASK, tenant_id="green")
    blue = open_stream(engine, "blue-only", tenants=("blue",))

    blue_key = engine.start("one", tenant_id="blue")
    green_key = engine.start("one", tenant_id="green")

    assert buffered(blue) == [blue_key]
    [polled] = engine.activate("work", tenant_ids=["green"])
    assert polled.instance.process_instance_key == green_key


def test_a_full_buffer_refuses_the_push_and_the_next_stream_in_turn_gets_the_job(one: Harness) -> None:
    big = {"blob": "x" * STREAM_BUFFER_BYTES}
    first, second = open_stream(one, "a"), open_stream(one, "b")
    first_key = one.start("one", big)  # to a: its buffer is now past the bound

    keys = [one.start("one") for _ in range(3)]

    # An empty buffer takes any one job, however large; past the bound, a skips its turns.
    assert buffered(first) == [first_key]
    assert buffered(second) == keys
    assert first.buffered >= STREAM_BUFFER_BYTES
    assert not one.records("JOB", "YIELDED")


def test_when_every_stream_is_full_the_push_fails_and_the_job_is_yielded_to_polling(one: Harness) -> None:
    stream = open_stream(one)
    one.start("one", {"blob": "x" * STREAM_BUFFER_BYTES})

    key = one.start("one")

    # As in Zeebe: activated for the stream, the push failed, and the job was yielded back.
    [yielded] = one.records("JOB", "YIELDED")
    assert yielded["value"]["processInstanceKey"] == key
    [pushed] = [r for r in one.records("JOB_BATCH", "ACTIVATED") if r["value"]["jobKeys"] == [yielded["key"]]]
    assert pushed["value"]["worker"] == "streamer"
    assert len(stream.pending) == 1
    [polled] = one.activate("work", worker="poller")
    assert polled.key == yielded["key"]
    assert polled.worker == "poller"


def test_a_stream_that_writes_its_buffer_out_takes_pushes_again(one: Harness) -> None:
    stream = open_stream(one)
    one.start("one", {"blob": "x" * STREAM_BUFFER_BYTES})
    assert not stream.ready

    assert sent(one, stream) is not None

    assert stream.ready
    key = one.start("one")
    assert buffered(stream) == [key]


def test_an_ending_stream_yields_what_it_holds_to_polling_and_pushes_it_nowhere(one: Harness) -> None:
    ending, other = open_stream(one, "ending"), open_stream(one, "other")
    keys = [one.start("one") for _ in range(4)]
    held = [job.key for job, *_ in ending.pending]

    with one.runtime.lock:
        one.runtime.close_stream(ending)

    # Zeebe yields a job whose push failed back to polling only; the other stream keeps just its own.
    assert sorted(r["key"] for r in one.records("JOB", "YIELDED")) == sorted(held)
    assert buffered(other) == [keys[1], keys[3]]
    assert sorted(job.key for job in one.activate("work", worker="poller")) == sorted(held)
    # Streams left open get new jobs as before.
    later = one.start("one")
    assert buffered(other)[-1] == later


def test_a_closed_stream_is_skipped_and_a_job_goes_to_the_next_one(one: Harness) -> None:
    closing, other = open_stream(one, "closing"), open_stream(one, "other")
    closing.closed = True  # its call ended; the thread has not removed it yet

    key = one.start("one")

    assert buffered(closing) == []
    assert buffered(other) == [key]


def test_a_job_that_timed_out_while_buffered_is_not_written_and_is_pushed_anew(one: Harness) -> None:
    stream = open_stream(one)
    key = one.start("one")
    [(job, *_)] = stream.pending

    one.advance(60_001)  # its activation ran out before the stream wrote it

    assert one.records("JOB", "TIMED_OUT")
    # Timed out, it was pushed again (Zeebe pushes timed-out jobs), to the same one open stream.
    assert buffered(stream) == [key, key]
    written = sent(one, stream)
    assert written is job
    assert sent(one, stream) is None
    assert written.deadline == one.clock.now + 60_000


def test_a_job_whose_instance_was_cancelled_while_buffered_is_not_written(one: Harness) -> None:
    stream = open_stream(one)
    key = one.start("one")

    with one.runtime.lock:
        one.runtime.cancel_instance(key)

    assert sent(one, stream) is None


def test_pushed_jobs_carry_the_stream_fetch_variables(one: Harness) -> None:
    stream = JobStream(job_type="work", worker="s", timeout=1_000, fetch=("a",), tenant_ids=frozenset())
    with one.runtime.lock:
        one.runtime.open_stream(stream)

    one.start("one", {"a": 1, "b": 2})

    [(job, variables, deadline, _)] = stream.pending
    assert json.loads(variables) == {"a": 1}
    assert deadline == job.deadline == one.clock.now + 1_000
