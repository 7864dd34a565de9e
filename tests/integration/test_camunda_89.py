"""Camunda 8.8-8.9 behaviour through the gateway, as Zeebe 8.9 answers it: native user tasks with task
listeners (their jobs, corrections and denials), conditional events, tags and business ids, runtime
instructions and move instructions.

Only gRPC is used, so this lane runs against a real Zeebe 8.9 as well: what the REST API shows of user
tasks is the REST lane's."""

from __future__ import annotations

import pytest

from zeebe_celery.errors import AlreadyExistsError, InvalidArgumentError, NotFoundError
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.gateway.instructions import MoveInstruction
from zeebe_celery.job import JobKind, ListenerEventType
from zeebe_celery.results import Corrections, Deny

pytestmark = pytest.mark.integration

LISTENER_TYPES = ("on-creating", "on-assigning", "on-assigning-2")


def deploy_review(client: ZeebeClient, unique) -> str:
    client.deploy_resource(unique.resource("user_task_listeners.bpmn", "review-order", *LISTENER_TYPES))
    return unique("review-order")


def test_task_listeners_run_in_order_see_the_task_and_a_correction_reaches_the_next_one(
    zeebe_client: ZeebeClient, unique, jobs
) -> None:
    process = deploy_review(zeebe_client, unique)
    zeebe_client.create_process_instance(process, variables={"owner": "ann"}, tags=["order:7"])

    creating = jobs.activate_one(unique("on-creating"))
    assert (creating.kind, creating.listener_event_type) == (JobKind.TASK_LISTENER, ListenerEventType.CREATING)
    assert list(creating.tags) == ["order:7"]
    task = creating.user_task
    assert task is not None
    assert task.assignee is None  # the model's assignee is given by an assignment once the task is created
    assert task.candidate_groups == ("sales", "managers")
    assert task.due_date == "2030-01-31T12:00:00Z"
    assert task.priority == 60
    zeebe_client.complete_job(creating.key, result=Corrections(priority=80))

    assigning = jobs.activate_one(unique("on-assigning"))
    assert assigning.listener_event_type == ListenerEventType.ASSIGNING
    assert assigning.user_task is not None
    assert assigning.user_task.assignee == "ann"
    assert assigning.user_task.priority == 80
    assert assigning.user_task.user_task_key == task.user_task_key
    assert "assignee" in assigning.user_task.changed_attributes
    assert (
        zeebe_client.activate_jobs(unique("on-assigning-2"), worker="w", timeout=60, max_jobs=1, request_timeout=-1)
        == []
    )
    zeebe_client.complete_job(assigning.key, result=Corrections(assignee="bob"))

    second = jobs.activate_one(unique("on-assigning-2"))
    assert second.user_task is not None
    assert second.user_task.assignee == "bob"


def test_a_denied_assignment_runs_no_later_listener(zeebe_client: ZeebeClient, unique, jobs) -> None:
    process = deploy_review(zeebe_client, unique)
    created = zeebe_client.create_process_instance(process, variables={"owner": "mallory"})
    zeebe_client.complete_job(jobs.activate_one(unique("on-creating")).key)

    zeebe_client.complete_job(jobs.activate_one(unique("on-assigning")).key, result=Deny(reason="not mallory"))

    assert (
        zeebe_client.activate_jobs(unique("on-assigning-2"), worker="w", timeout=60, max_jobs=1, request_timeout=0.5)
        == []
    )
    zeebe_client.cancel_process_instance(created.process_instance_key)


def test_a_creating_listener_cannot_deny_nor_complete_with_variables(zeebe_client: ZeebeClient, unique, jobs) -> None:
    process = deploy_review(zeebe_client, unique)
    zeebe_client.create_process_instance(process, variables={"owner": "ann"})
    creating = jobs.activate_one(unique("on-creating"))

    with pytest.raises(InvalidArgumentError, match="Denying result is not supported for 'CREATING'"):
        zeebe_client.complete_job(creating.key, result=Deny(reason="no"))
    with pytest.raises(InvalidArgumentError, match="variables payload provided is not yet supported"):
        zeebe_client.complete_job(creating.key, {"x": 1})
    zeebe_client.complete_job(creating.key)


def test_tags_and_business_ids(zeebe_client: ZeebeClient, unique, jobs) -> None:
    zeebe_client.deploy_resource(unique.resource("one_task.bpmn", "one-task", "test-work"))
    business_id = unique("order")
    created = zeebe_client.create_process_instance(
        unique("one-task"), tags=["vip", "region:eu"], business_id=business_id
    )
    assert list(created.tags) == ["vip", "region:eu"]
    assert created.business_id == business_id
    with pytest.raises(AlreadyExistsError):
        zeebe_client.create_process_instance(unique("one-task"), business_id=business_id)
    job = jobs.activate_one(unique("test-work"))
    assert list(job.tags) == ["vip", "region:eu"]
    zeebe_client.complete_job(job.key)


def test_conditional_start_catch_and_boundary_events(zeebe_client: ZeebeClient, unique, jobs) -> None:
    deployment = zeebe_client.deploy_resource(
        unique.resource("conditional_events.bpmn", "ship-order", "ship-work", "apply-work")
    )
    definition_key = deployment.processes[0].process_definition_key

    evaluation = zeebe_client.evaluate_conditional(
        {"orderReceived": True, "inventoryReserved": False}, process_definition_key=definition_key
    )
    (started,) = evaluation.process_instances
    instance = started.process_instance_key
    assert (
        zeebe_client.activate_jobs(unique("ship-work"), worker="w", timeout=60, max_jobs=1, request_timeout=0.3) == []
    )

    zeebe_client.set_variables(instance, {"inventoryReserved": True})
    shipping = jobs.activate_one(unique("ship-work"))

    zeebe_client.set_variables(instance, {"addressChanged": True})
    applying = jobs.activate_one(unique("apply-work"))
    assert applying.process_instance_key == instance
    with pytest.raises(NotFoundError):  # the interrupted task's job is gone
        zeebe_client.complete_job(shipping.key)
    zeebe_client.complete_job(applying.key)


def test_a_runtime_instruction_terminates_the_instance_after_its_element(
    zeebe_client: ZeebeClient, unique, jobs
) -> None:
    zeebe_client.deploy_resource(unique.resource("two_tasks.bpmn", "two-tasks", "first-work", "second-work"))
    zeebe_client.create_process_instance(unique("two-tasks"), terminate_after=["first"])
    zeebe_client.complete_job(jobs.activate_one(unique("first-work")).key)
    assert (
        zeebe_client.activate_jobs(unique("second-work"), worker="w", timeout=60, max_jobs=1, request_timeout=0.5) == []
    )


def test_a_move_instruction_moves_the_task(zeebe_client: ZeebeClient, unique, jobs) -> None:
    zeebe_client.deploy_resource(unique.resource("two_tasks.bpmn", "two-tasks", "first-work", "second-work"))
    created = zeebe_client.create_process_instance(unique("two-tasks"))
    zeebe_client.modify_process_instance(
        created.process_instance_key,
        move=[MoveInstruction(target_element_id="second", source_element_id="first", variables={"": {"moved": 1}})],
    )
    moved = jobs.activate_one(unique("second-work"))
    assert moved.variables["moved"] == 1
    assert (
        zeebe_client.activate_jobs(unique("first-work"), worker="w", timeout=60, max_jobs=1, request_timeout=0.3) == []
    )
