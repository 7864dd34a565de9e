"""Direct publishing to Redis writes the very message kombu would, so Celery workers run it unchanged."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import Celery

from tests.unit import builders
from zeebe_celery.config import BridgeSettings
from zeebe_celery.dispatch import CeleryDispatcher
from zeebe_celery.errors import ConfigurationError
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.job import Job
from zeebe_celery.spec import resolve, zeebe_task_specs
from zeebe_celery.task import zeebe_task


def make_job(key: int, deadline: int = 4_102_444_800_000) -> Job:
    return builders.make_job(
        key,
        "direct-t",
        custom_headers={"h": "v"},
        deadline=deadline,
        variables={"amount": 1.5, "name": "Zoë", "nested": {"a": [1, 2]}},
    )


@pytest.fixture
def app(redis_url: str) -> Celery:
    app = Celery("direct", broker=redis_url, set_as_current=False)

    @zeebe_task("direct-t", app=app)
    def handler(amount: float) -> None:
        return None

    return app


@pytest.fixture
def store(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.delete("zeebe.direct-t")
    yield client
    client.delete("zeebe.direct-t")
    client.close()


def published(app: Celery, store: redis.Redis, *, direct: bool, jobs: list[Job]) -> list[dict[str, Any]]:
    bridge = BridgeSettings()
    dispatcher = CeleryDispatcher(app, resolve(zeebe_task_specs(app), bridge), bridge, direct=direct)
    try:
        dispatcher.publish("direct-t", jobs)
    finally:
        dispatcher.close()
    # BRPOP takes from the right: read in the order workers receive the messages.
    raw = list(reversed(store.lrange("zeebe.direct-t", 0, -1)))
    store.delete("zeebe.direct-t")
    return [json.loads(m) for m in raw]


def test_direct_message_matches_what_kombu_publishes(app: Celery, store: redis.Redis) -> None:
    job = make_job(11)
    (kombu,) = published(app, store, direct=False, jobs=[job])
    (direct,) = published(app, store, direct=True, jobs=[job])
    assert set(direct) == set(kombu)
    assert base64.b64decode(direct["body"]) == base64.b64decode(kombu["body"])
    assert set(direct["headers"]) >= set(kombu["headers"]) - {"argsrepr"}
    for name in ("lang", "task", "id", "root_id", "expires", "retries", "timelimit", "eta", "group"):
        assert direct["headers"][name] == kombu["headers"][name], name
    for name in ("content-type", "content-encoding"):
        assert direct[name] == kombu[name]
    assert direct["properties"]["delivery_info"] == kombu["properties"]["delivery_info"]
    assert direct["properties"]["body_encoding"] == "base64"
    # The variables stay out of the repr that monitoring tools show.
    assert "Zoë" not in direct["headers"]["argsrepr"]


def test_direct_batch_keeps_the_order_of_the_jobs(app: Celery, store: redis.Redis) -> None:
    jobs = [make_job(100 + i) for i in range(5)]
    messages = published(app, store, direct=True, jobs=jobs)
    assert [m["headers"]["id"] for m in messages] == [f"zeebe-{100 + i}-4102444800000" for i in range(5)]


def test_direct_message_runs_on_a_celery_worker_path(app: Celery, store: redis.Redis) -> None:
    # What a worker does with a received message: decode the body as Celery's JSON protocol 2.
    (message,) = published(app, store, direct=True, jobs=[make_job(5)])
    args, kwargs, embed = json.loads(base64.b64decode(message["body"]))
    assert Job.model_validate(args[0]) == make_job(5)
    assert kwargs == {}
    assert embed == {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def test_direct_publishing_is_refused_where_kombu_decides_the_key(redis_url: str) -> None:
    app = Celery("prefixed", broker=redis_url, set_as_current=False)
    app.conf.broker_transport_options = {"global_keyprefix": "tenant-a:"}

    @zeebe_task("direct-p", app=app)
    def handler() -> None:
        return None

    specs = resolve(zeebe_task_specs(app), BridgeSettings())
    assert CeleryDispatcher(app, specs, BridgeSettings())._direct is False
    with pytest.raises(ConfigurationError, match="direct publishing"):
        CeleryDispatcher(app, specs, BridgeSettings(), direct=True)


def activated(key: int, **fields: Any) -> Any:
    values: dict[str, Any] = {
        "key": key,
        "type": "direct-t",
        "processInstanceKey": key + 1,
        "bpmnProcessId": 'p "quoted" \\ ü',
        "processDefinitionVersion": 2,
        "processDefinitionKey": 7,
        "elementId": "task",
        "elementInstanceKey": key + 2,
        "customHeaders": '{"h":"v"}',
        "worker": "w",
        "retries": 3,
        "deadline": 4_102_444_800_123,
        "variables": '{"amount":1.5,"name":"Zo\\u00eb","nested":{"a":[1,2]}}',
        "tenantId": "<default>",
    }
    values.update(fields)
    return pb.ActivatedJob(**values)


def test_protobuf_jobs_are_forwarded_as_the_same_message_without_parsing(app: Celery, store: redis.Redis) -> None:
    raw = [activated(21), activated(22, variables="", customHeaders="")]
    from_protobuf = published(app, store, direct=True, jobs=raw)
    parsed = [Job.from_activated(job) for job in raw]
    from_jobs = published(app, store, direct=True, jobs=parsed)
    for fast, slow in zip(from_protobuf, from_jobs, strict=True):
        fast["properties"].pop("delivery_tag")
        slow["properties"].pop("delivery_tag")
        assert json.loads(base64.b64decode(fast.pop("body"))) == json.loads(base64.b64decode(slow.pop("body")))
        assert fast == slow
    args, _, _ = json.loads(base64.b64decode(published(app, store, direct=True, jobs=raw[1:])[0]["body"]))
    assert args[0]["variables"] == {}
    assert args[0]["custom_headers"] == {}
    assert Job.model_validate(args[0]) == parsed[1]


def test_delivery_tags_are_unique(app: Celery, store: redis.Redis) -> None:
    messages = published(app, store, direct=True, jobs=[activated(30 + i) for i in range(20)])
    assert len({m["properties"]["delivery_tag"] for m in messages}) == 20


def test_each_jobs_message_holds_its_own_fields_when_jobs_share_an_element(app: Celery, store: redis.Redis) -> None:
    # The poller encodes the fields an element's jobs share once per element: every job must still carry
    # its own, and jobs of another element, with tags, or with user-task properties, their own too.
    raw = [
        activated(41, variables='{"n":1}', retries=1, deadline=4_102_444_800_001),
        activated(42, variables='{"n":2}', retries=2, deadline=4_102_444_800_002),
        activated(43, elementId="other", customHeaders='{"pct":"100%d %s"}', bpmnProcessId="p%s"),
        activated(44, tags=["vip", "eu"]),
        activated(45, kind=pb.ActivatedJob.TASK_LISTENER, userTask=pb.UserTaskProperties(assignee="ann")),
        activated(46, variables='{"n":6}', processInstanceKey=99, elementInstanceKey=98),
    ]
    for _ in range(2):  # the second time every element's text is already made
        messages = published(app, store, direct=True, jobs=raw)
        for job, message in zip(raw, messages, strict=True):
            args, _, _ = json.loads(base64.b64decode(message["body"]))
            assert Job.model_validate(args[0]) == Job.from_activated(job)
            assert message["headers"]["expires"] == Job.from_activated(job).deadline_at.isoformat()
