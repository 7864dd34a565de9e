"""Native user tasks through Camunda's official Python SDK: searched and read, assigned (an assigning task
listener, run by the SDK's job worker, corrects the assignee), updated, unassigned and completed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from camunda_orchestration_sdk import CamundaClient, JobCompletionRequest
from camunda_orchestration_sdk.errors import ConflictError
from camunda_orchestration_sdk.models import (
    ProcessCreationById,
    UserTaskAssignmentRequest,
    UserTaskCompletionRequest,
    UserTaskSearchQuery,
    UserTaskUpdateRequest,
)

from tests.integration.conftest import UniqueNames
from tests.integration.rest.conftest import Workers, bpmn_file, until

pytestmark = pytest.mark.integration


def test_listener_corrects_the_assignee_and_the_task_is_completed(
    camunda: CamundaClient, workers: Workers, unique: UniqueNames, tmp_path: Path
) -> None:
    camunda.deploy_resources_from_files([bpmn_file(tmp_path, unique, "review_task.bpmn", "review", "review-assigning")])
    heard: list[dict[str, Any]] = []

    async def assigning(job: Any) -> JobCompletionRequest:
        task = job.user_task
        heard.append({"kind": job.kind.value, "event": job.listener_event_type.value, "assignee": task.assignee})
        # Requests for "bob" go to his deputy.
        corrections = {"assignee": "alice"} if task.assignee == "bob" else {}
        return JobCompletionRequest.from_dict({"result": {"type": "userTask", "corrections": corrections}})

    workers.handle(unique("review-assigning"), assigning)
    workers.start()
    created = camunda.create_process_instance(
        data=ProcessCreationById.from_dict({"processDefinitionId": unique("review"), "variables": {"order": 7}})
    )
    query = UserTaskSearchQuery.from_dict(
        {"filter": {"processInstanceKey": created.process_instance_key, "state": "CREATED"}}
    )
    task = until(lambda: camunda.search_user_tasks(data=query).items, what="the user task")[0]
    assert (task.name, task.element_id, task.priority) == ("Review the order", "review-task", 60)
    assert task.candidate_groups == ["reviewers"]
    assert task.assignee is None

    in_group = camunda.search_user_tasks(
        data=UserTaskSearchQuery.from_dict(
            {"filter": {"candidateGroup": "reviewers", "processDefinitionId": unique("review")}}
        )
    )
    assert [t.user_task_key for t in in_group.items] == [task.user_task_key]

    camunda.assign_user_task(user_task_key=task.user_task_key, data=UserTaskAssignmentRequest(assignee="bob"))
    assigned = camunda.get_user_task(user_task_key=task.user_task_key)
    assert assigned.assignee == "alice"
    assert heard == [{"kind": "TASK_LISTENER", "event": "ASSIGNING", "assignee": "bob"}]

    camunda.update_user_task(
        user_task_key=task.user_task_key,
        data=UserTaskUpdateRequest.from_dict({"changeset": {"priority": 80, "candidateUsers": ["carol"]}}),
    )
    updated = camunda.get_user_task(user_task_key=task.user_task_key)
    assert (updated.priority, updated.candidate_users, updated.assignee) == (80, ["carol"], "alice")

    camunda.unassign_user_task(user_task_key=task.user_task_key)
    assert camunda.get_user_task(user_task_key=task.user_task_key).assignee is None
    assert [h["assignee"] for h in heard] == ["bob", None]

    camunda.assign_user_task(user_task_key=task.user_task_key, data=UserTaskAssignmentRequest(assignee="bob"))
    camunda.complete_user_task(
        user_task_key=task.user_task_key,
        data=UserTaskCompletionRequest.from_dict({"variables": {"approved": True}}),
    )
    done = camunda.get_user_task(user_task_key=task.user_task_key)
    assert (done.state.value, done.assignee) == ("COMPLETED", "alice")
    assert done.completion_date is not None
    instance = camunda.get_process_instance(process_instance_key=created.process_instance_key)
    assert instance.state.value == "COMPLETED"


def test_a_listener_denial_is_the_assignment_s_conflict(
    camunda: CamundaClient, workers: Workers, unique: UniqueNames, tmp_path: Path
) -> None:
    camunda.deploy_resources_from_files([bpmn_file(tmp_path, unique, "review_task.bpmn", "review", "review-assigning")])

    async def assigning(job: Any) -> JobCompletionRequest:
        denied = job.user_task.assignee == "mallory"
        result = {"type": "userTask", "denied": denied, "deniedReason": "not a reviewer" if denied else ""}
        return JobCompletionRequest.from_dict({"result": result})

    workers.handle(unique("review-assigning"), assigning)
    workers.start()
    created = camunda.create_process_instance(
        data=ProcessCreationById.from_dict({"processDefinitionId": unique("review")})
    )
    query = UserTaskSearchQuery.from_dict({"filter": {"processInstanceKey": created.process_instance_key}})
    task = until(lambda: camunda.search_user_tasks(data=query).items, what="the user task")[0]

    with pytest.raises(ConflictError) as denied:
        camunda.assign_user_task(user_task_key=task.user_task_key, data=UserTaskAssignmentRequest(assignee="mallory"))
    assert denied.value.parsed is not None
    assert (denied.value.parsed.status, denied.value.parsed.title) == (409, "INVALID_STATE")
    assert "not a reviewer" in str(denied.value.parsed.detail)
    after = camunda.get_user_task(user_task_key=task.user_task_key)
    assert (after.state.value, after.assignee) == ("CREATED", None)
