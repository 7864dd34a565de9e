"""The 8.8 job fields on the bridge: a listener's or an ad-hoc sub-process's job keeps its kind, listener event
type, user task, tags and tenant from the gateway's message, through the Celery message on a real Redis
broker (both publishing paths), to the handler's ``Job`` parameter.

The engine does not hand out listener or ad-hoc jobs yet, so these jobs are built as an 8.8 gateway sends
them (``pb.ActivatedJob``) and with the unit lane's Job builder.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import Celery

from tests.unit.builders import make_job
from zeebe_celery.config import BridgeSettings
from zeebe_celery.dispatch import CeleryDispatcher
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.handler import Handler
from zeebe_celery.job import Job, JobKind, ListenerEventType, UserTaskProperties
from zeebe_celery.spec import resolve, zeebe_task_specs
from zeebe_celery.task import zeebe_task

pytestmark = pytest.mark.usefixtures("clean_env")

USER_TASK = UserTaskProperties(
    action="assign",
    assignee="ann",
    candidate_groups=("sales",),
    candidate_users=("ann", "bob"),
    changed_attributes=("assignee",),
    due_date="2026-12-24T12:00:00Z",
    form_key=77,
    priority=60,
    user_task_key=2_251_799_813_685_300,
)


def listener_job_pb(**overrides: Any) -> pb.ActivatedJob:
    """A task-listener job as an 8.8+ gateway sends it."""
    values: dict[str, Any] = {
        "key": 2_251_799_813_685_249,
        "type": "check-assignee",
        "processInstanceKey": 2_251_799_813_685_200,
        "bpmnProcessId": "approval",
        "processDefinitionVersion": 1,
        "processDefinitionKey": 2_251_799_813_685_100,
        "elementId": "review",
        "elementInstanceKey": 2_251_799_813_685_248,
        "customHeaders": "{}",
        "worker": "w",
        "retries": 3,
        "deadline": 4_102_444_800_000,
        "variables": '{"amount":10}',
        "tenantId": "tenant-a",
        "kind": pb.ActivatedJob.TASK_LISTENER,
        "listenerEventType": pb.ActivatedJob.ASSIGNING,
        "userTask": pb.UserTaskProperties(**USER_TASK.pb_fields()),
        "tags": ["vip", "region:eu"],
    }
    values.update(overrides)
    return pb.ActivatedJob(**values)


# -- from and to the gateway's message -----------------------------------------------------------------


def test_a_task_listener_job_keeps_kind_event_user_task_tags_and_tenant() -> None:
    job = Job.from_activated(listener_job_pb())

    assert job.kind is JobKind.TASK_LISTENER
    assert job.listener_event_type is ListenerEventType.ASSIGNING
    assert job.user_task == USER_TASK
    assert job.user_task is not None
    assert job.user_task.follow_up_date is None
    assert job.tags == ("vip", "region:eu")
    assert job.tenant_id == "tenant-a"
    assert Job.from_activated(job.to_activated()) == job


def test_an_older_gateways_job_reads_as_a_bpmn_element_job_without_a_listener_event() -> None:
    # The fields an 8.5 gateway does not send: the proto's default listener event (0) is ASSIGNING.
    job = Job.from_activated(
        listener_job_pb(kind=pb.ActivatedJob.BPMN_ELEMENT, listenerEventType=0, userTask=None, tags=[])
    )

    assert (job.kind, job.listener_event_type, job.user_task, job.tags) == (
        JobKind.BPMN_ELEMENT,
        ListenerEventType.UNSPECIFIED,
        None,
        (),
    )


@pytest.mark.parametrize(
    ("kind", "event"),
    [
        (pb.ActivatedJob.EXECUTION_LISTENER, pb.ActivatedJob.START),
        (pb.ActivatedJob.EXECUTION_LISTENER, pb.ActivatedJob.END),
        (pb.ActivatedJob.TASK_LISTENER, pb.ActivatedJob.COMPLETING),
        (pb.ActivatedJob.AD_HOC_SUB_PROCESS, pb.ActivatedJob.UNSPECIFIED),
    ],
)
def test_each_kind_and_event_reads_as_the_proto_names_it(kind: int, event: int) -> None:
    job = Job.from_activated(listener_job_pb(kind=kind, listenerEventType=event, userTask=None))

    assert job.kind.value == pb.ActivatedJob.JobKind.Name(kind)  # type: ignore[arg-type]
    assert job.listener_event_type.value == pb.ActivatedJob.ListenerEventType.Name(event)  # type: ignore[arg-type]


def test_the_enums_list_the_protos_values_in_its_order() -> None:
    assert [k.value for k in JobKind] == list(pb.ActivatedJob.JobKind.keys())
    assert [e.value for e in ListenerEventType] == list(pb.ActivatedJob.ListenerEventType.keys())


# -- through a real Celery message ---------------------------------------------------------------------


@pytest.fixture
def job_type() -> str:
    return f"check-assignee-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def app(redis_url: str, job_type: str) -> Iterator[Celery]:
    app = Celery("job-kinds", broker=redis_url, set_as_current=False)

    @zeebe_task(job_type, app=app, name=f"approval.{job_type}")
    def check(job: Job) -> None:
        return None

    yield app
    app.close()


def received(app: Celery, job_type: str, jobs: list[Any], *, direct: bool) -> list[Job]:
    """Publish ``jobs`` as the poller does, take each message off the queue as a Celery worker does (kombu
    decodes it), and bind it to a handler's ``Job`` parameter."""
    bridge = BridgeSettings()
    dispatcher = CeleryDispatcher(app, resolve(zeebe_task_specs(app), bridge), bridge, direct=direct)
    try:
        dispatcher.publish(job_type, jobs)
    finally:
        dispatcher.close()

    def handler(job: Job) -> None:
        return None

    bound = Handler(handler, bind=False)
    seen: list[Job] = []
    with app.connection_for_read() as connection:
        queue = connection.SimpleQueue(f"zeebe.{job_type}", no_ack=True)
        try:
            for _ in jobs:
                message = queue.get(timeout=5)
                assert message.headers["task"] == f"approval.{job_type}"
                args, kwargs, _embed = message.decode()
                assert kwargs == {}
                _, handler_kwargs = bound.arguments(Job.model_validate(args[0]), task=None)
                seen.append(handler_kwargs["job"])
        finally:
            queue.close()
    return seen


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "kombu"])
def test_the_new_fields_travel_in_the_celery_message_to_the_handler(
    app: Celery, raw: redis.Redis, job_type: str, direct: bool
) -> None:
    sent = [
        listener_job_pb(type=job_type),
        listener_job_pb(
            key=7,
            type=job_type,
            kind=pb.ActivatedJob.AD_HOC_SUB_PROCESS,
            listenerEventType=pb.ActivatedJob.UNSPECIFIED,
            userTask=None,
            tags=[],
        ),
    ]

    listener, ad_hoc = received(app, job_type, sent, direct=direct)

    assert listener == Job.from_activated(sent[0])
    assert listener.user_task == USER_TASK
    assert (listener.kind, listener.listener_event_type, listener.tags) == (
        JobKind.TASK_LISTENER,
        ListenerEventType.ASSIGNING,
        ("vip", "region:eu"),
    )
    assert (ad_hoc.kind, ad_hoc.user_task, ad_hoc.tags) == (JobKind.AD_HOC_SUB_PROCESS, None, ())
    assert raw.llen(f"zeebe.{job_type}") == 0


def test_the_forwarded_protobuf_and_the_parsed_job_make_the_same_message_body(
    app: Celery, raw: redis.Redis, job_type: str
) -> None:
    pushed = listener_job_pb(type=job_type)
    built = make_job(
        pushed.key,
        job_type,
        process_instance_key=pushed.processInstanceKey,
        bpmn_process_id="approval",
        process_definition_key=pushed.processDefinitionKey,
        element_id="review",
        element_instance_key=pushed.elementInstanceKey,
        worker="w",
        deadline=pushed.deadline,
        variables={"amount": 10},
        tenant_id="tenant-a",
        kind=JobKind.TASK_LISTENER,
        listener_event_type=ListenerEventType.ASSIGNING,
        user_task=USER_TASK,
        tags=("vip", "region:eu"),
    )

    from_pb, from_builder = received(app, job_type, [pushed, built], direct=True)

    assert from_pb == from_builder == built
    assert json.loads(built.model_dump_json())["user_task"]["candidate_users"] == ["ann", "bob"]
