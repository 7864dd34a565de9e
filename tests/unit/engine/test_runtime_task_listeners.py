"""Task listeners as Zeebe 8.9 runs them: TASK_LISTENER jobs of each event type, one at a time in the
model's order, that may correct the task or deny the operation; their rules for CompleteJob, their
incidents, and what happens to an operation's caller."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.engine.bpmn_builders import end_event, flows, native_user_task, process, service_task, start_event
from tests.unit.engine.harness import Harness
from tests.unit.engine.test_store import Restartable
from zeebe_celery.engine.errors import EngineError, FailedPrecondition, InvalidArgument
from zeebe_celery.engine.state import JobKind, JobResult


def started(engine: Harness, listeners: list[tuple[str, str]], **task: str) -> int:
    engine.deploy(
        process(
            "p",
            start_event(),
            native_user_task("review", listeners=listeners, **task),
            end_event(),
            flows("start", "review", "end"),
        )
    )
    return engine.start("p", {"x": 1})


def intents(engine: Harness) -> list[str]:
    return [r["intent"] for r in engine.records("USER_TASK")]


def test_creating_listeners_run_in_order_before_the_task_is_created() -> None:
    engine = Harness()
    key = started(engine, [("creating", "first"), ("creating", "second")])
    task = engine.user_task_of(key)
    assert task.state == "CREATING"
    assert engine.activate("second") == []
    first = engine.one_job("first")
    assert first.kind == JobKind.TASK_LISTENER
    assert first.listener_event_type == "CREATING"
    engine.complete(first)
    assert task.state == "CREATING"
    engine.complete(engine.one_job("second"))
    assert task.state == "CREATED"
    assert intents(engine) == ["CREATING", "CREATED"]
    job_record = engine.records("JOB", "CREATED", type="first")[0]["value"]
    assert job_record["jobKind"] == "TASK_LISTENER"
    assert job_record["jobListenerEventType"] == "CREATING"


def test_a_listener_job_carries_the_task_in_its_headers_and_sees_the_variables() -> None:
    engine = Harness()
    key = started(engine, [("assigning", "check")], assignee="ann", candidate_groups="g1,g2", priority="60")
    ((job, variables),) = engine.activate_with_variables("check")
    headers = json.loads(job.custom_headers)
    task = engine.user_task_of(key)
    assert headers == {
        "io.camunda.zeebe:assignee": "ann",
        "io.camunda.zeebe:candidateGroups": '["g1", "g2"]',
        "io.camunda.zeebe:changedAttributes": '["assignee"]',
        "io.camunda.zeebe:priority": "60",
        "io.camunda.zeebe:userTaskKey": str(task.key),
    }
    assert variables == {"x": 1}
    assert task.state == "ASSIGNING"
    assert task.values["assignee"] == ""


def test_corrections_are_applied_and_recorded() -> None:
    engine = Harness()
    key = started(engine, [("completing", "audit"), ("completing", "last")])
    task = engine.user_task_of(key)
    with engine.runtime.lock:
        engine.runtime.complete_user_task(task.key, {"ok": True})
    engine.complete_with(
        engine.one_job("audit"),
        JobResult(corrections={"assignee": "boss", "priority": 99, "candidateUsersList": ["u"]}),
    )
    corrected = engine.records("USER_TASK", "CORRECTED")[0]["value"]
    assert corrected["changedAttributes"] == ["assignee", "candidateUsersList", "priority"]
    last = engine.one_job("last")
    assert json.loads(last.custom_headers)["io.camunda.zeebe:assignee"] == "boss"
    engine.complete(last)
    completed = engine.records("USER_TASK", "COMPLETED")[0]["value"]
    assert completed["assignee"] == "boss"
    assert completed["priority"] == 99
    assert engine.completed(key)


def test_a_denied_completion_leaves_the_task_created_and_tells_the_caller() -> None:
    engine = Harness()
    key = started(engine, [("completing", "four-eyes"), ("completing", "never")])
    task = engine.user_task_of(key)
    outcomes: list[EngineError | None] = []
    with engine.runtime.lock:
        engine.runtime.complete_user_task(task.key, {"ok": True}, waiter=outcomes.append)
    assert outcomes == []
    engine.complete_with(engine.one_job("four-eyes"), JobResult(denied=True, denied_reason="needs a second look"))
    assert task.state == "CREATED"
    assert engine.activate("never") == []
    assert intents(engine)[-2:] == ["COMPLETING", "COMPLETION_DENIED"]
    assert engine.records("USER_TASK", "COMPLETION_DENIED")[0]["value"]["deniedReason"] == "needs a second look"
    (outcome,) = outcomes
    assert isinstance(outcome, FailedPrecondition)
    assert str(outcome) == (
        "Command 'COMPLETE' rejected with code 'INVALID_STATE': Completion of the User Task with key "
        f"'{task.key}' was denied by Task Listener. Reason to deny: 'needs a second look'"
    )
    assert engine.is_running(key)
    # The next completion runs every listener again, from the first.
    with engine.runtime.lock:
        engine.runtime.complete_user_task(task.key, {})
    engine.complete(engine.one_job("four-eyes"))
    engine.complete(engine.one_job("never"))
    assert engine.completed(key)


def test_a_denied_assignment_keeps_the_assignee() -> None:
    engine = Harness()
    key = started(engine, [("assigning", "gate")])
    task = engine.user_task_of(key)
    with engine.runtime.lock:
        engine.runtime.assign_user_task(task.key, "mallory")
    engine.complete_with(engine.one_job("gate"), JobResult(denied=True, denied_reason="no"))
    assert task.values["assignee"] == ""
    assert intents(engine)[-1] == "ASSIGNMENT_DENIED"


def test_an_update_waits_for_its_listeners_and_other_operations_are_refused_meanwhile() -> None:
    engine = Harness()
    key = started(engine, [("updating", "gate")])
    task = engine.user_task_of(key)
    with engine.runtime.lock:
        engine.runtime.update_user_task(task.key, {"priority": 10})
        with pytest.raises(FailedPrecondition, match="but it is in state 'UPDATING'"):
            engine.runtime.complete_user_task(task.key, {})
    assert task.values["priority"] == 50
    engine.complete(engine.one_job("gate"))
    assert task.values["priority"] == 10
    assert intents(engine)[-2:] == ["UPDATING", "UPDATED"]


@pytest.mark.parametrize(
    ("event", "result", "variables", "message"),
    [
        ("creating", JobResult(denied=True), {}, "Denying result is not supported for 'CREATING' task listener jobs"),
        ("completing", JobResult(denied=True, corrections={"priority": 1}), {}, "The corrections would be reverted"),
        ("completing", None, {"v": 1}, "Task Listener job completion with variables payload"),
    ],
)
def test_completions_that_break_zeebes_rules_are_rejected(
    event: str, result: JobResult | None, variables: dict[str, int], message: str
) -> None:
    engine = Harness()
    key = started(engine, [(event, "l")])
    if event == "completing":
        with engine.runtime.lock:
            engine.runtime.complete_user_task(engine.user_task_of(key).key, {})
    job = engine.one_job("l")
    with engine.runtime.lock, pytest.raises(InvalidArgument, match=message):
        engine.runtime.complete_job(job.key, variables, result=result)
    assert job.key in engine.runtime.jobs


def test_a_result_for_another_kind_of_job_is_ignored_as_zeebe_ignores_it() -> None:
    engine = Harness()
    engine.deploy(process("p", start_event(), service_task("work", "w"), end_event(), flows("start", "work", "end")))
    key = engine.start("p")
    engine.complete_with(engine.one_job("w"), JobResult(denied=True, activate_elements=(("x", {}),)))
    assert engine.completed(key)


def test_a_creating_listener_cannot_correct_an_assignee_of_the_model() -> None:
    engine = Harness()
    key = started(engine, [("creating", "l")], assignee="ann")
    job = engine.one_job("l")
    with engine.runtime.lock, pytest.raises(InvalidArgument, match="correcting the assignee on 'CREATING'"):
        engine.runtime.complete_job(job.key, {}, result=JobResult(corrections={"assignee": "bob"}))
    engine.complete_with(job, JobResult(corrections={"priority": 5}))
    assert engine.user_task_of(key).values == {**engine.user_task_of(key).values, "assignee": "ann", "priority": 5}


def test_a_listener_out_of_retries_is_an_incident_that_resumes_the_listener() -> None:
    engine = Harness()
    key = started(engine, [("creating", "l")])
    engine.fail(engine.one_job("l"), retries=0, message="down")
    (incident,) = engine.incidents(key)
    assert incident.error_type == "TASK_LISTENER_NO_RETRIES"
    with engine.runtime.lock:
        engine.runtime.update_job_retries(incident.job.key if incident.job else 0, 1)
    engine.resolve(incident)
    engine.complete(engine.one_job("l"))
    assert engine.user_task_of(key).state == "CREATED"


def test_cancelling_the_instance_cancels_the_listener_job_and_answers_the_waiting_caller() -> None:
    engine = Harness()
    key = started(engine, [("completing", "l")])
    task = engine.user_task_of(key)
    outcomes: list[EngineError | None] = []
    with engine.runtime.lock:
        engine.runtime.complete_user_task(task.key, {}, waiter=outcomes.append)
        engine.runtime.cancel_instance(key)
    assert engine.runtime.jobs == {}
    assert [type(o).__name__ for o in outcomes] == ["NotFound"]
    assert engine.records("JOB", "CANCELED", type="l")


def test_a_user_task_and_its_operation_under_way_survive_a_restart(tmp_path: Path) -> None:
    engine = Restartable(tmp_path)
    key = started(engine, [("completing", "l1"), ("completing", "l2")], assignee="ann", due_date="2030-01-01T00:00:00Z")
    task_key = engine.user_task_of(key).key
    with engine.runtime.lock:
        engine.runtime.complete_user_task(task_key, {"ok": 1})
    engine.complete_with(engine.one_job("l1"), JobResult(corrections={"priority": 3}))
    engine = engine.restart()
    task = engine.user_task_of(key)
    assert task.key == task_key
    assert task.state == "COMPLETING"
    assert task.values["assignee"] == "ann"
    assert task.values["dueDate"] == "2030-01-01T00:00:00Z"
    job = engine.one_job("l2")
    assert job.kind == JobKind.TASK_LISTENER
    assert job.listener_event_type == "COMPLETING"
    engine.complete(job)
    assert engine.completed(key)
    assert engine.records("USER_TASK", "COMPLETED")[0]["value"]["priority"] == 3
    engine.store.close()


def test_variables_set_on_the_task_scope_wait_for_its_updating_listeners() -> None:
    engine = Harness()
    key = started(engine, [("updating", "gate")])
    task = engine.user_task_of(key)
    outcomes: list[EngineError | None] = []
    with engine.runtime.lock:
        engine.runtime.set_variables(task.instance.key, {"note": "hi"}, local=True, waiter=outcomes.append)
    assert task.state == "UPDATING"
    assert "note" not in task.instance.variables
    job = engine.one_job("gate")
    assert json.loads(job.custom_headers)["io.camunda.zeebe:changedAttributes"] == '["variables"]'
    engine.complete(job)
    assert outcomes == [None]
    assert task.instance.variables == {"note": "hi"}
    assert intents(engine)[-2:] == ["UPDATING", "UPDATED"]
    assert engine.records("USER_TASK", "UPDATED")[0]["value"]["changedAttributes"] == ["variables"]


def test_a_denied_variable_update_sets_nothing_and_tells_the_caller() -> None:
    engine = Harness()
    key = started(engine, [("updating", "gate")])
    task = engine.user_task_of(key)
    outcomes: list[EngineError | None] = []
    with engine.runtime.lock:
        engine.runtime.set_variables(task.instance.key, {"note": "hi"}, local=False, waiter=outcomes.append)
    engine.complete_with(engine.one_job("gate"), JobResult(denied=True, denied_reason="read-only"))
    (outcome,) = outcomes
    assert isinstance(outcome, FailedPrecondition)
    assert f"Variable update for user task instance with key '{task.instance.key}' was denied" in str(outcome)
    assert "note" not in engine.variables(key)
    assert task.state == "CREATED"


def test_variables_set_on_a_task_without_updating_listeners_are_set_at_once_as_an_update() -> None:
    engine = Harness()
    key = started(engine, [])
    task = engine.user_task_of(key)
    with engine.runtime.lock:
        engine.runtime.set_variables(task.instance.key, {"note": "hi"}, local=False)
    assert engine.variables(key)["note"] == "hi"
    assert intents(engine)[-2:] == ["UPDATING", "UPDATED"]
    with engine.runtime.lock:
        engine.runtime.set_variables(key, {"other": 1}, local=False)  # the instance's scope: no update of the task
    assert intents(engine)[-1] == "UPDATED"
    assert len(engine.records("USER_TASK", "UPDATED")) == 1
