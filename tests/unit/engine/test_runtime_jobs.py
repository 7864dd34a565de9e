"""Jobs as Zeebe handles them: activation, deadlines, failure with retries and back-off, incidents when
retries run out, thrown errors, and the codes of commands that come too late or in the wrong state."""

from __future__ import annotations

import json

import pytest

from tests.unit.engine.bpmn_builders import (
    boundary,
    end_event,
    flow,
    flows,
    process,
    service_task,
    start_event,
    sub_process,
)
from tests.unit.engine.harness import Harness
from zeebe_celery.engine.errors import FailedPrecondition, InvalidArgument, NotFound
from zeebe_celery.engine.jobs import MAX_MESSAGE_BYTES
from zeebe_celery.engine.state import JobState

ONE_TASK = process(
    "one", start_event(), service_task("task", "work", retries="3"), end_event(), flows("start", "task", "end")
)


@pytest.fixture
def one(engine: Harness) -> Harness:
    engine.deploy(ONE_TASK)
    return engine


def test_a_completed_job_moves_the_instance_on_and_its_variables_reach_the_root(one: Harness) -> None:
    key = one.start("one", {"a": 1})
    job = one.one_job("work")
    one.complete(job, {"b": 2})
    assert one.completed(key)
    assert one.records("VARIABLE", name="b", scopeKey=key)
    assert key not in one.runtime.instances


def test_activation_honours_the_maximum_amount_and_hands_each_job_out_once(one: Harness) -> None:
    for _ in range(3):
        one.start("one")
    first = one.activate("work", max_jobs=2)
    second = one.activate("work", max_jobs=2)
    assert len(first) == 2
    assert len(second) == 1
    assert one.activate("work") == []
    assert {j.key for j in first}.isdisjoint({j.key for j in second})


def test_activation_sets_the_deadline_and_worker_and_fetches_only_the_named_variables(one: Harness) -> None:
    one.start("one", {"a": 1, "b": 2, "c": 3})
    [(job, variables)] = one.activate_with_variables("work", worker="w1", timeout=5_000, fetch=["a", "c", "missing"])
    assert variables == {"a": 1, "c": 3}
    assert job.worker == "w1"
    assert job.deadline == one.clock.now + 5_000


def test_activation_without_fetch_variables_gets_every_visible_variable(one: Harness) -> None:
    one.start("one", {"a": 1, "b": [1, 2]})
    [(_, variables)] = one.activate_with_variables("work")
    assert variables == {"a": 1, "b": [1, 2]}


def test_jobs_of_another_type_are_not_activated(one: Harness) -> None:
    one.start("one")
    assert one.activate("other") == []
    assert len(one.activate("work")) == 1


@pytest.mark.parametrize(
    ("job_type", "worker", "timeout", "amount", "complaint"),
    [
        ("  ", "w", 1000, 1, "type"),
        ("work", "", 1000, 1, "worker"),
        ("work", "w", 0, 1, "timeout"),
        ("work", "w", 1000, 0, "1 job"),
    ],
)
def test_activation_refuses_a_blank_type_or_worker_a_timeout_under_1_or_an_amount_under_1(
    one: Harness, job_type: str, worker: str, timeout: int, amount: int, complaint: str
) -> None:
    with pytest.raises(InvalidArgument, match=complaint):
        one.activate(job_type, worker=worker, timeout=timeout, max_jobs=amount)


def test_a_job_past_its_deadline_is_activatable_again_with_its_retries_unchanged(one: Harness) -> None:
    one.start("one")
    job = one.one_job("work", timeout=1_000)
    one.advance(999)
    assert one.activate("work") == []
    one.advance(1)
    again = one.one_job("work")
    assert again.key == job.key
    assert again.retries == 3
    assert one.records("JOB", "TIMED_OUT", elementId="task")


def test_a_job_whose_timeout_was_updated_does_not_time_out_at_the_old_deadline(one: Harness) -> None:
    one.start("one")
    job = one.one_job("work", timeout=1_000)
    with one.runtime.lock:
        one.runtime.update_job_timeout(job.key, 10_000)
    one.advance(5_000)
    assert one.activate("work") == []
    one.advance(5_000)
    assert one.one_job("work").key == job.key


def test_a_job_completed_by_another_worker_is_not_found_for_the_late_one(one: Harness) -> None:
    one.start("one")
    job = one.one_job("work", timeout=1_000)
    one.advance(1_000)
    one.complete(one.one_job("work"))
    with pytest.raises(NotFound):
        one.complete(job)
    with pytest.raises(NotFound):
        one.fail(job, retries=1)
    with pytest.raises(NotFound):
        one.throw(job, "E")


def test_a_failed_job_with_retries_left_is_activatable_again_with_the_retries_given(one: Harness) -> None:
    one.start("one")
    one.fail(one.one_job("work"), retries=2, message="boom")
    again = one.one_job("work")
    assert again.retries == 2
    assert one.records("JOB", "FAILED", retries=2, errorMessage="boom")


def test_a_failed_job_is_held_back_for_its_retry_back_off(one: Harness) -> None:
    one.start("one")
    job = one.one_job("work")
    one.fail(job, retries=1, backoff=30_000)
    one.advance(29_999)
    assert one.activate("work") == []
    one.advance(1)
    assert one.one_job("work").key == job.key
    assert one.records("JOB", "RECURRED_AFTER_BACKOFF")


def test_completing_a_job_in_its_back_off_is_a_failed_precondition(one: Harness) -> None:
    one.start("one")
    job = one.one_job("work")
    one.fail(job, retries=1, backoff=30_000)
    with pytest.raises(FailedPrecondition, match="FAILED"):
        one.complete(job)


def test_a_job_out_of_retries_raises_an_incident_carrying_its_error_message(one: Harness) -> None:
    key = one.start("one")
    job = one.one_job("work")
    one.fail(job, retries=0, message="the disk is full")
    [incident] = one.incidents(key)
    assert incident.error_type == "JOB_NO_RETRIES"
    assert incident.error_message == "the disk is full"
    assert one.records("INCIDENT", "CREATED", errorMessage="the disk is full", jobKey=job.key)
    assert one.activate("work") == []


def test_completing_a_failed_job_is_a_failed_precondition(one: Harness) -> None:
    one.start("one")
    job = one.one_job("work")
    one.fail(job, retries=0, message="no")
    with pytest.raises(FailedPrecondition, match="FAILED"):
        one.complete(job)


def test_resolving_the_incident_after_updating_the_retries_makes_the_job_activatable(one: Harness) -> None:
    key = one.start("one")
    job = one.one_job("work")
    one.fail(job, retries=0, message="no")
    [incident] = one.incidents(key)
    with one.runtime.lock:
        one.runtime.update_job_retries(job.key, 2)
    assert one.activate("work") == []
    one.resolve(incident)
    again = one.one_job("work")
    assert again.retries == 2
    one.complete(again)
    assert one.completed(key)
    assert one.records("INCIDENT", "RESOLVED", jobKey=job.key)


def test_resolving_the_incident_without_new_retries_raises_it_again(one: Harness) -> None:
    key = one.start("one")
    job = one.one_job("work")
    one.fail(job, retries=0, message="no")
    [incident] = one.incidents(key)
    one.resolve(incident)
    [again] = one.incidents(key)
    assert again.key != incident.key
    assert again.error_message == "no"
    assert one.activate("work") == []


def test_updating_retries_to_less_than_one_is_refused(one: Harness) -> None:
    one.start("one")
    job = one.one_job("work")
    with one.runtime.lock, pytest.raises(InvalidArgument):
        one.runtime.update_job_retries(job.key, 0)


def test_the_job_of_a_cancelled_instance_is_gone(one: Harness) -> None:
    key = one.start("one")
    job = one.one_job("work")
    with one.runtime.lock:
        one.runtime.cancel_instance(key)
    with pytest.raises(NotFound):
        one.complete(job)
    assert one.records("JOB", "CANCELED", elementId="task")
    assert not one.is_running(key)


def test_job_type_and_retries_may_be_feel_expressions(engine: Harness) -> None:
    engine.deploy(
        process(
            "dyn",
            start_event(),
            service_task("task", '="work-" + kind', retries="=tries + 1"),
            end_event(),
            flows("start", "task", "end"),
        )
    )
    engine.start("dyn", {"kind": "fast", "tries": 4})
    job = engine.one_job("work-fast")
    assert job.retries == 5


def test_custom_headers_are_carried_by_the_job(engine: Harness) -> None:
    engine.deploy(
        process(
            "h",
            start_event(),
            service_task("task", "work", headers={"method": "POST", "url": "/x"}),
            end_event(),
            flows("start", "task", "end"),
        )
    )
    engine.start("h")
    assert json.loads(engine.one_job("work").custom_headers) == {"method": "POST", "url": "/x"}


ERRORS = process(
    "errors",
    start_event(),
    service_task("task", "work"),
    boundary("on-e1", "task", error="E1"),
    boundary("on-any", "task", catch_all_errors=True),
    end_event("end"),
    end_event("e1-end"),
    end_event("any-end"),
    flows("start", "task", "end"),
    flow("on-e1", "e1-end"),
    flow("on-any", "any-end"),
    errors=["E1"],
)


def test_a_thrown_error_is_caught_by_the_boundary_with_its_code(engine: Harness) -> None:
    engine.deploy(ERRORS)
    key = engine.start("errors")
    engine.throw(engine.one_job("work"), "E1", variables={"why": "x"})
    assert engine.completed(key)
    assert {"on-e1", "e1-end"} <= set(engine.elements("ELEMENT_COMPLETED", key))
    assert "any-end" not in engine.elements("ELEMENT_COMPLETED", key)
    assert engine.records("VARIABLE", name="why", scopeKey=key)


def test_a_thrown_error_without_a_matching_code_is_caught_by_the_catch_all(engine: Harness) -> None:
    engine.deploy(ERRORS)
    key = engine.start("errors")
    engine.throw(engine.one_job("work"), "OTHER")
    assert engine.completed(key)
    assert "any-end" in engine.elements("ELEMENT_COMPLETED", key)
    assert "e1-end" not in engine.elements("ELEMENT_COMPLETED", key)


def test_an_error_is_caught_by_a_boundary_on_an_enclosing_sub_process(engine: Harness) -> None:
    engine.deploy(
        process(
            "nested",
            start_event(),
            sub_process(
                "sub",
                start_event("s-start"),
                service_task("task", "work"),
                end_event("s-end"),
                flows("s-start", "task", "s-end"),
            ),
            boundary("caught", "sub", error="E1"),
            end_event(),
            end_event("handled"),
            flows("start", "sub", "end"),
            flow("caught", "handled"),
            errors=["E1"],
        )
    )
    key = engine.start("nested")
    engine.throw(engine.one_job("work"), "E1")
    assert engine.completed(key)
    assert "handled" in engine.elements("ELEMENT_COMPLETED", key)
    assert "sub" in engine.elements("ELEMENT_TERMINATED", key)


def test_an_uncaught_error_raises_zeebes_not_caught_incident(one: Harness) -> None:
    key = one.start("one")
    job = one.one_job("work")
    one.throw(job, "NOPE", "it broke")
    [incident] = one.incidents(key)
    assert incident.error_type == "UNHANDLED_ERROR_EVENT"
    assert incident.error_message == (
        "Expected to throw an error event with the code 'NOPE' with message 'it broke', but it was not caught. "
        "No error events are available in the scope."
    )
    assert one.runtime.jobs[job.key].state is JobState.ERROR_THROWN
    assert one.is_running(key)


def test_completed_jobs_leave_no_pile_of_stale_timeouts_in_the_due_heap(engine: Harness) -> None:
    engine.deploy(process("p", start_event(), service_task("task", "heap"), end_event(), flows("start", "task", "end")))
    # Sustained load: 30 rounds of 1,000 jobs activated with a 10-minute timeout and completed at once.
    for _ in range(30):
        for _ in range(1_000):
            engine.start("p")
        for job in engine.activate("heap", timeout=600_000, max_jobs=1_000):
            engine.complete(job)

    # Each activation put its timeout on the heap, and none of them is live any more: the heap stays near
    # its compaction floor instead of holding all 30,000.
    assert len(engine.runtime._heap) <= 11_000
    engine.advance(600_000)
    assert engine.runtime.next_due() is None


def test_a_job_too_large_to_hand_out_is_an_incident_and_the_rest_of_the_batch_goes_out(engine: Harness) -> None:
    engine.deploy(
        process("big", start_event(), service_task("work", "work"), end_event(), flows("start", "work", "end"))
    )
    small = engine.start("big", {"note": "x"})
    large = engine.start("big", {"blob": "x" * MAX_MESSAGE_BYTES})

    jobs = engine.activate("work")
    assert [j.instance.process_instance_key for j in jobs] == [small]
    (incident,) = engine.incidents(large)
    assert incident.error_type == "MESSAGE_SIZE_EXCEEDED"
    assert "larger than the configured message size" in incident.error_message
    # Fetching fewer variables is the way out: with retries again, it goes out without the blob.
    with engine.runtime.lock:
        engine.runtime.update_job_retries(incident.job.key, 1)  # type: ignore[union-attr]
    engine.resolve(incident)
    (job,) = engine.activate("work", fetch=["note"])
    assert job.instance.process_instance_key == large
