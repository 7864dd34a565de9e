"""Native user tasks (zeebe:userTask) as Zeebe 8.9 runs them: created with their assignment, schedule,
priority and form link, completed, assigned, unassigned and updated through the runtime's commands with
Zeebe's rejections, cancelled with their element, and written as USER_TASK records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.engine.bpmn_builders import boundary, end_event, flow, flows, native_user_task, process, start_event
from tests.unit.engine.harness import Harness
from zeebe_celery.engine.errors import EngineError, FailedPrecondition, InvalidArgument, NotFound


def deploy_task(engine: Harness, **task: Any) -> None:
    engine.deploy(
        process("p", start_event(), native_user_task("review", **task), end_event(), flows("start", "review", "end"))
    )


def intents(engine: Harness) -> list[str]:
    return [r["intent"] for r in engine.records("USER_TASK")]


def test_a_native_user_task_waits_with_its_attributes_and_is_no_job() -> None:
    engine = Harness()
    deploy_task(
        engine,
        candidate_groups="sales, managers",
        candidate_users="=users",
        due_date="2025-06-01T12:00:00Z",
        follow_up_date='=date and time("2025-05-30T09:00:00+02:00")',
        priority="=70",
        external_reference='="https://forms.example/" + id',
    )
    key = engine.start("p", {"users": ["ann", "bob"], "id": "42"})
    task = engine.user_task_of(key)
    assert task.state == "CREATED"
    assert task.values == {
        "assignee": "",
        "candidateGroupsList": ["sales", "managers"],
        "candidateUsersList": ["ann", "bob"],
        "dueDate": "2025-06-01T12:00:00Z",
        "followUpDate": "2025-05-30T09:00:00+02:00",
        "priority": 70,
    }
    assert task.external_form_reference == "https://forms.example/42"
    assert engine.runtime.jobs == {}
    assert intents(engine) == ["CREATING", "CREATED"]
    created = engine.records("USER_TASK", "CREATED")[0]["value"]
    assert created["userTaskKey"] == task.key
    assert created["candidateGroupsList"] == ["sales", "managers"]
    assert created["elementId"] == "review"
    assert created["priority"] == 70


def test_priority_defaults_to_50_and_an_assignee_of_the_model_is_assigned_after_creation() -> None:
    engine = Harness()
    deploy_task(engine, assignee="=owner")
    key = engine.start("p", {"owner": "demo"})
    task = engine.user_task_of(key)
    assert task.values["priority"] == 50
    assert task.values["assignee"] == "demo"
    assert intents(engine) == ["CREATING", "CREATED", "ASSIGNING", "ASSIGNED"]
    assert engine.records("USER_TASK", "CREATING")[0]["value"]["assignee"] == ""
    assert engine.records("USER_TASK", "ASSIGNED")[0]["value"]["changedAttributes"] == ["assignee"]


def test_completing_the_task_completes_its_element_with_the_variables() -> None:
    engine = Harness()
    deploy_task(engine)
    key = engine.start("p")
    task = engine.user_task_of(key)
    outcomes: list[EngineError | None] = []
    with engine.runtime.lock:
        engine.runtime.complete_user_task(task.key, {"approved": True}, waiter=outcomes.append)
    assert outcomes == [None]
    assert engine.completed(key)
    assert engine.records("VARIABLE", "CREATED", name="approved", processInstanceKey=key)
    assert intents(engine)[-2:] == ["COMPLETING", "COMPLETED"]
    completed = engine.records("USER_TASK", "COMPLETED")[0]["value"]
    assert completed["variables"] == {"approved": True}
    assert completed["action"] == "complete"
    assert engine.runtime.user_tasks == {}


def test_assign_unassign_and_claim_follow_zeebes_rules() -> None:
    engine = Harness()
    deploy_task(engine)
    key = engine.start("p")
    task = engine.user_task_of(key)
    runtime = engine.runtime
    with runtime.lock:
        runtime.assign_user_task(task.key, "ann")
        assert task.values["assignee"] == "ann"
        with pytest.raises(FailedPrecondition, match="but it has already been assigned"):
            runtime.assign_user_task(task.key, "bob", allow_override=False)
        runtime.assign_user_task(task.key, "ann", allow_override=False)  # a claim by the assignee is fine
        runtime.assign_user_task(task.key, "bob")
        assert task.values["assignee"] == "bob"
        runtime.unassign_user_task(task.key)
    assert task.values["assignee"] == ""
    actions = [r["value"]["action"] for r in engine.records("USER_TASK", "ASSIGNED")]
    assert actions == ["assign", "claim", "assign", "unassign"]


def test_update_changes_the_given_attributes_only() -> None:
    engine = Harness()
    deploy_task(engine, candidate_groups="a")
    key = engine.start("p")
    task = engine.user_task_of(key)
    with engine.runtime.lock:
        engine.runtime.update_user_task(task.key, {"priority": 90, "dueDate": "2030-01-01T00:00:00Z"})
    assert task.values["priority"] == 90
    assert task.values["dueDate"] == "2030-01-01T00:00:00Z"
    assert task.values["candidateGroupsList"] == ["a"]
    updated = engine.records("USER_TASK", "UPDATED")[0]["value"]
    assert updated["changedAttributes"] == ["dueDate", "priority"]


def test_commands_on_a_missing_task_are_not_found() -> None:
    engine = Harness()
    with (
        engine.runtime.lock,
        pytest.raises(NotFound, match="Expected to complete user task with key '7', but no such user task was found"),
    ):
        engine.runtime.complete_user_task(7, {})
    with engine.runtime.lock, pytest.raises(NotFound):
        engine.runtime.assign_user_task(7, "x")
    with engine.runtime.lock, pytest.raises(NotFound):
        engine.runtime.update_user_task(7, {"priority": 1})


def test_a_terminated_user_task_is_cancelled() -> None:
    engine = Harness()
    engine.deploy(
        process(
            "p",
            start_event(),
            native_user_task("review"),
            boundary("later", "review", duration="PT1M"),
            end_event(),
            end_event("timed-out"),
            flows("start", "review", "end"),
            flow("later", "timed-out"),
        )
    )
    key = engine.start("p")
    engine.advance(60_000)
    assert engine.completed(key)
    assert intents(engine)[-2:] == ["CANCELING", "CANCELED"]
    assert engine.runtime.user_tasks == {}


def test_a_bad_expression_is_an_incident_and_the_task_is_created_when_it_is_resolved() -> None:
    engine = Harness()
    deploy_task(engine, candidate_groups="=groups")
    key = engine.start("p", {"groups": 5})
    (incident,) = engine.incidents(key)
    assert incident.error_type == "EXTRACT_VALUE_ERROR"
    assert engine.runtime.user_tasks == {}
    with engine.runtime.lock:
        engine.runtime.set_variables(key, {"groups": ["g"]}, local=False)
    engine.resolve(incident)
    assert engine.user_task_of(key).values["candidateGroupsList"] == ["g"]


@pytest.mark.parametrize(
    ("extension", "message"),
    [
        ('<zeebe:formDefinition formId="f" bindingType="deployment"/>', "bindingType"),
        ('<zeebe:formDefinition formKey="camunda-forms:bpmn:f"/>', "not 'formKey'"),
        ('<zeebe:priorityDefinition priority="101"/>', "Priority must be a number between 0 and 100"),
        ('<zeebe:taskSchedule dueDate="tomorrow"/>', "Expected a valid date-time"),
        ('<zeebe:taskListeners><zeebe:taskListener eventType="whenever" type="x"/></zeebe:taskListeners>', "eventType"),
        (
            '<zeebe:taskListeners><zeebe:taskListener eventType="canceling" type="x"/></zeebe:taskListeners>',
            "canceling task listeners are not supported",
        ),
    ],
)
def test_what_the_engine_cannot_run_on_a_user_task_is_refused_at_deploy(extension: str, message: str) -> None:
    body = (
        f'<bpmn:userTask id="review"><bpmn:extensionElements><zeebe:userTask/>{extension}'
        "</bpmn:extensionElements></bpmn:userTask>"
    )
    with pytest.raises(InvalidArgument, match=message):
        Harness().deploy(process("p", start_event(), body, end_event(), flows("start", "review", "end")))


def test_task_listeners_on_other_elements_are_refused() -> None:
    body = (
        '<bpmn:serviceTask id="review"><bpmn:extensionElements><zeebe:taskDefinition type="t"/>'
        '<zeebe:taskListeners><zeebe:taskListener eventType="creating" type="x"/></zeebe:taskListeners>'
        "</bpmn:extensionElements></bpmn:serviceTask>"
    )
    with pytest.raises(InvalidArgument, match="only supported on native user tasks"):
        Harness().deploy(process("p", start_event(), body, end_event(), flows("start", "review", "end")))


def test_a_linked_form_gives_the_task_its_latest_key_and_is_form_not_found_until_deployed() -> None:
    engine = Harness()
    body = (
        '<bpmn:userTask id="review"><bpmn:extensionElements><zeebe:userTask/>'
        '<zeebe:formDefinition formId="order"/></bpmn:extensionElements></bpmn:userTask>'
    )
    engine.deploy(process("p", start_event(), body, end_event(), flows("start", "review", "end")))
    key = engine.start("p")
    (incident,) = engine.incidents(key)
    assert incident.error_type == "FORM_NOT_FOUND"
    with engine.runtime.lock:
        engine.runtime.deploy([("order.form", deploy_form_content("order"))])
        (form,) = engine.runtime.deploy([("order.form", deploy_form_content("order", "v2"))]).forms
    engine.resolve(incident)
    task = engine.user_task_of(key)
    assert task.form_key == form.key
    assert engine.records("USER_TASK", "CREATED")[0]["value"]["formKey"] == form.key


def deploy_form_content(form_id: str, label: str = "v1") -> bytes:
    return json.dumps({"id": form_id, "components": [{"type": "textfield", "key": "x", "label": label}]}).encode()
