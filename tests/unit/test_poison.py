"""Poison messages on a bridge queue: what counts as one, and how the worker's transport sets them aside
before kombu or Celery reads them. Messages come from the real dispatcher and a real Redis; kombu consumes
through the guarded transport as a worker does."""

from __future__ import annotations

import base64
import json
import logging
import ssl
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import Celery
from kombu import Connection
from prometheus_client import REGISTRY
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.unit.builders import make_job
from tests.unit.test_dispatch import BOTH_PATHS, dispatcher_for, spec
from tests.unit.test_job_kinds import USER_TASK, listener_job_pb
from zeebe_celery import transport
from zeebe_celery.config import BridgeSettings
from zeebe_celery.deadletter import DEAD_LETTER_LISTS, DeadLetter, DeadLetters, dead_letter_list
from zeebe_celery.job import JobKind, ListenerEventType
from zeebe_celery.poison import Poison, PoisonKind, inspect
from zeebe_celery.task import zeebe_task
from zeebe_celery.transport import OTHERS_OPTION, PREFIX_OPTION, QUEUES_OPTION, QueueGuard

TASK = "shop.charge"
EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
JOB = make_job(key=42, job_type="charge").model_dump(mode="json")


def encoded(value: Any) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def envelope(body: str | None = None, *, content_type: str = "application/json", **headers: Any) -> dict[str, Any]:
    return {
        "body": encoded([[JOB], {}, EMBED]) if body is None else body,
        "content-encoding": "utf-8",
        "content-type": content_type,
        "headers": {"lang": "py", "task": TASK, "id": "zeebe-42-1", "timelimit": [None, None], **headers},
        "properties": {
            "correlation_id": "zeebe-42-1",
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": "zeebe.charge"},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": "t-1",
        },
    }


def message(value: Any) -> bytes:
    return json.dumps(value).encode()


GOOD = message(envelope())
# Each bad input the issue names, and the others a probe of kombu and Celery found, with what each ends as.
POISON = {
    "garbage": (b"garbage", PoisonKind.NOT_JSON, "the message is not JSON"),
    "json-list": (b"[]", PoisonKind.BAD_ENVELOPE, "the message is a JSON list, not an object"),
    "not-utf8": (b"\xff\xfe\x00garbage", PoisonKind.NOT_JSON, "the message is not JSON"),
    "too-deep": (b"[" * 100_000, PoisonKind.NOT_JSON, "maximum recursion depth"),
    "no-properties": (message({"a": 1}), PoisonKind.BAD_ENVELOPE, "bad envelope: body: Field required"),
    "no-delivery-info": (
        message({**envelope(), "properties": {"delivery_tag": "t", "body_encoding": "base64"}}),
        PoisonKind.BAD_ENVELOPE,
        "bad envelope: properties.delivery_info: Field required",
    ),
    # kombu decodes {"__type__": ..., "__value__": ...} objects, and raises for a type it does not know; so
    # does the guard, however the key is spelled.
    "kombu-unknown-type": (b'{"__type__": "nope", "__value__": 1}', PoisonKind.NOT_JSON, "Unsupported type"),
    "kombu-unknown-type-escaped": (
        b'{"\\u005f_type__": "nope", "__value__": 1}',
        PoisonKind.NOT_JSON,
        "Unsupported type",
    ),
    "body-unknown-type": (
        message(envelope(encoded([[{**JOB, "variables": {"v": {"__type__": "nope", "__value__": 1}}}], {}, EMBED]))),
        PoisonKind.NOT_JSON,
        "the body is not JSON: ('Unsupported type'",
    ),
    "body-not-base64": (message(envelope("!!!not-base64")), PoisonKind.BAD_BODY, "the body is not base64"),
    "body-a-1": (message(envelope(encoded({"a": 1}))), PoisonKind.BAD_BODY, "is not Celery's [args, kwargs, embed]"),
    "body-not-json": (
        message(envelope(base64.b64encode(b"{nope").decode())),
        PoisonKind.NOT_JSON,
        "the body is not JSON",
    ),
    "two-arguments": (
        message(envelope(encoded([[JOB, JOB], {}, EMBED]))),
        PoisonKind.BAD_BODY,
        "the arguments are not exactly one job",
    ),
    "not-a-job": (
        message(envelope(encoded([[{**JOB, "key": "x"}], {}, EMBED]))),
        PoisonKind.BAD_BODY,
        "not a job: key: Input should be a valid integer",
    ),
    "callback": (
        message(envelope(encoded([[JOB], {}, {**EMBED, "callbacks": [{"task": "os.system"}]}]))),
        PoisonKind.BAD_BODY,
        "the body asks Celery to run more than the task: callbacks",
    ),
    "timelimit-x": (
        message(envelope(timelimit=["x", {}])),
        PoisonKind.BAD_HEADER,
        "bad header: headers.timelimit.0: Input should be a valid number",
    ),
    "timelimit-nan": (
        message(envelope(timelimit=[float("nan"), None])),
        PoisonKind.BAD_HEADER,
        "headers.timelimit.0: Input should be a finite number",
    ),
    "expires-not-a-time": (
        message(envelope(expires="soon")),
        PoisonKind.BAD_HEADER,
        "headers.expires: Value error, Invalid isoformat string: 'soon'",
    ),
    "retries-text": (message(envelope(retries="3")), PoisonKind.BAD_HEADER, "headers.retries"),
    "no-task-id": (message(envelope(id="")), PoisonKind.BAD_HEADER, "headers.id"),
    "compressed": (message(envelope(compression="zlib")), PoisonKind.BAD_HEADER, "headers.compression"),
    "unknown-task": (
        message(envelope(task="shop.nope")),
        PoisonKind.UNKNOWN_TASK,
        "task 'shop.nope' is not a @zeebe_task of this queue (it has: shop.charge)",
    ),
    "pickle": (
        message(envelope(base64.b64encode(b"\x80\x04K\x01.").decode(), content_type="application/x-python-serialize")),
        PoisonKind.NOT_JSON,
        "the body is 'application/x-python-serialize', and the bridge's queues take application/json only",
    ),
}


@pytest.mark.parametrize(("raw", "kind", "reason"), POISON.values(), ids=POISON.keys())
def test_poison_is_named_with_its_kind_and_reason(raw: bytes, kind: PoisonKind, reason: str) -> None:
    poison = inspect(raw, tasks={TASK})

    assert poison is not None
    assert poison.kind is kind
    assert reason in poison.reason


def test_a_job_message_is_not_poison() -> None:
    assert inspect(GOOD, tasks={TASK}) is None


def test_another_task_of_the_app_may_use_a_bridge_queue_with_plain_arguments() -> None:
    run = message(envelope(encoded([["activation-1", "token"], {}, EMBED]), task="connectors.run"))
    linked = message(
        envelope(encoded([[], {}, {**EMBED, "chain": [{"task": "x"}]}]), task="connectors.run", eta="2030-01-01T00:00")
    )

    assert inspect(run, tasks={TASK}, others={"connectors.run"}) is None
    assert inspect(run, tasks={TASK}) == Poison(
        PoisonKind.UNKNOWN_TASK, "task 'connectors.run' is not a @zeebe_task of this queue (it has: shop.charge)"
    )
    poison = inspect(linked, tasks={TASK}, others={"connectors.run"})
    assert poison is not None
    assert poison.reason == "the body asks Celery to run more than the task: chain: Input should be None"


@pytest.fixture
def broker_app(redis_url: str) -> Iterator[Celery]:
    app = Celery("poison-dispatch", broker=redis_url, set_as_current=False)
    yield app
    app.close()


@BOTH_PATHS
def test_every_message_the_dispatcher_publishes_passes(broker_app: Celery, raw: redis.Redis, direct: bool) -> None:
    job_type = f"charge-{uuid.uuid4().hex[:8]}"
    dispatcher = dispatcher_for(broker_app, spec(job_type), direct=direct)
    jobs: list[Any] = [make_job(key=k, job_type=job_type, variables={"n": k, "deep": {"a": [1, 2]}}) for k in range(2)]
    # A task listener's job, as an 8.8+ gateway hands it out and as a parsed Job.
    jobs.append(listener_job_pb(type=job_type))
    jobs.append(
        make_job(
            key=9,
            job_type=job_type,
            kind=JobKind.TASK_LISTENER,
            listener_event_type=ListenerEventType.ASSIGNING,
            user_task=USER_TASK,
            tags=("vip", "région:eu"),
            variables={"text": "naïve ☃"},
        )
    )
    dispatcher.publish(job_type, jobs)
    queue = dispatcher.queue(job_type)

    published = raw.lrange(queue, 0, -1)
    raw.delete(queue)

    assert len(published) == 4
    assert [inspect(item, tasks={f"shop.{job_type}"}) for item in published] == [None] * 4


# -- the guard ---------------------------------------------------------------------------------------------


@pytest.fixture
def queue(raw: redis.Redis) -> Iterator[str]:
    name = f"zeebe.poison-{uuid.uuid4().hex[:8]}"
    yield name
    raw.delete(name, dead_letter_list(name), f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")
    raw.srem(DEAD_LETTER_LISTS, name)
    for key in raw.scan_iter(f"shop:*{name}*"):
        raw.delete(key)


def dead_lettered(queue: str, kind: str) -> float:
    return REGISTRY.get_sample_value("zeebe_celery_messages_dead_lettered_total", {"queue": queue, "kind": kind}) or 0


def guard_for(redis_url: str, queue: str) -> QueueGuard:
    return QueueGuard({queue: [TASK]}, prefix="zeebe.", sep="\x06\x16", client=lambda: redis.Redis.from_url(redis_url))


def test_the_guard_sets_poison_aside_logs_it_once_and_counts_it(
    redis_url: str, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    guard = guard_for(redis_url, queue)
    before = dead_lettered(queue, "not_json")

    with caplog.at_level(logging.ERROR, logger="zeebe_celery.transport"):
        assert guard.admit(queue.encode(), b"garbage") is False

    (letter,) = DeadLetters.from_url(redis_url).entries(queue)
    assert (letter.message, letter.kind) == (b"garbage", "not_json")
    assert dead_lettered(queue, "not_json") == before + 1
    assert [r.getMessage() for r in caplog.records] == [
        f"poison message on queue {queue} set aside in {queue}.dead: {letter.reason}"
    ]


def test_poison_that_cannot_be_set_aside_is_logged_whole_and_the_worker_goes_on(
    redis_url: str, queue: str, raw: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    raw.set(dead_letter_list(queue), "a string, not a list")
    guard = guard_for(redis_url, queue)

    with caplog.at_level(logging.ERROR, logger="zeebe_celery.transport"):
        assert guard.admit(queue, b"\xffgarbage") is False

    (record,) = caplog.records
    assert f"poison message on queue {queue} (the message is not JSON" in record.getMessage()
    assert record.getMessage().endswith(base64.b64encode(b"\xffgarbage").decode())


def test_poison_met_while_redis_is_unreachable_is_logged_whole_and_raised_for_kombu_to_reconnect(
    queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    guard = QueueGuard(
        {queue: [TASK]}, prefix="zeebe.", sep="", client=lambda: redis.Redis(port=1, retry=Retry(NoBackoff(), 0))
    )

    with caplog.at_level(logging.ERROR, logger="zeebe_celery.transport"), pytest.raises(redis.ConnectionError):
        guard.admit(queue, b"garbage")

    assert base64.b64encode(b"garbage").decode() in caplog.text


def test_the_guard_lets_job_messages_and_other_queues_through(redis_url: str, queue: str, raw: redis.Redis) -> None:
    guard = guard_for(redis_url, queue)

    assert guard.admit(queue, GOOD) is True
    assert guard.admit("celery", b"garbage") is True  # not a bridge queue: kombu's business
    assert raw.exists(dead_letter_list(queue)) == 0


def test_a_prefixed_queue_of_no_handler_and_a_priority_list_are_guarded(redis_url: str, queue: str) -> None:
    guard = guard_for(redis_url, queue)
    other = f"{queue}-other"

    assert guard.admit(f"{queue}\x06\x163", GOOD) is True
    assert guard.admit(f"{queue}\x06\x163", b"garbage") is False
    assert guard.admit(other, GOOD) is False  # a zeebe.* queue no handler of this worker takes
    letters = DeadLetters.from_url(redis_url)
    assert len(letters.entries(queue)) == 1
    assert letters.entries(other)[0].kind == "unknown_task"
    letters.purge(other, letters.entries(other))


@pytest.mark.parametrize("block", [True, False], ids=["brpop", "rpop"])
def test_kombu_through_the_guarded_transport_never_sees_poison(
    redis_url: str, queue: str, raw: redis.Redis, block: bool
) -> None:
    options = {QUEUES_OPTION: {queue: [TASK]}, PREFIX_OPTION: "zeebe."}
    with Connection(redis_url, transport=transport.Transport, transport_options=options) as connection:
        simple = connection.SimpleQueue(queue)
        raw.lpush(queue, b"garbage", b"[]", message(envelope(timelimit=["x", {}])), GOOD)

        if block:
            got = simple.get(block=True, timeout=5)
        else:
            # Each poll pops one message; a poison one is set aside, and the poll finds nothing.
            for _ in range(3):
                with pytest.raises(simple.Empty):
                    simple.get_nowait()
            got = simple.get_nowait()

        assert got.headers["task"] == TASK
        got.ack()
        simple.close()
    kinds = [letter.kind for letter in DeadLetters.from_url(redis_url).entries(queue)]
    assert kinds == ["not_json", "bad_envelope", "bad_header"]
    assert raw.llen(queue) == 0


def test_the_guard_works_under_a_global_key_prefix(redis_url: str, queue: str, raw: redis.Redis) -> None:
    options = {QUEUES_OPTION: {queue: [TASK]}, PREFIX_OPTION: "zeebe.", "global_keyprefix": "shop:"}
    with Connection(redis_url, transport=transport.Transport, transport_options=options) as connection:
        simple = connection.SimpleQueue(queue)
        raw.lpush(f"shop:{queue}", b"garbage", GOOD)

        got = simple.get(block=True, timeout=5)
        assert got.headers["task"] == TASK
        got.ack()
        simple.close()
    (letter,) = [DeadLetter.parse(item, queue) for item in raw.lrange(f"shop:{queue}.dead", 0, -1)]
    raw.srem(f"shop:{DEAD_LETTER_LISTS}", queue)
    assert letter.message == b"garbage"


# -- install -----------------------------------------------------------------------------------------------


def app_with_task(broker: str) -> Celery:
    app = Celery(f"install-{uuid.uuid4().hex[:6]}", broker=broker, set_as_current=False)

    @zeebe_task("charge", app=app, name="shop.charge")
    def charge() -> None:
        return None

    @app.task(name="shop.plain", shared=False)
    def plain() -> None:
        return None

    return app


def test_install_guards_the_queues_of_the_apps_handlers() -> None:
    app = app_with_task("redis://127.0.0.1:6379/0")
    app.conf.broker_transport_options = {"visibility_timeout": 60}

    assert transport.install(app, BridgeSettings(_env_file=None)) is True

    assert app.conf.broker_transport == "zeebe_celery.transport:Transport"
    options = app.conf.broker_transport_options
    assert options["visibility_timeout"] == 60
    assert options[PREFIX_OPTION] == "zeebe."
    assert options[QUEUES_OPTION] == {"zeebe.charge": ["shop.charge"]}
    assert options[OTHERS_OPTION] == ["shop.plain"]  # neither the job's task nor Celery's own
    assert not app.conf.broker_use_ssl


def test_install_verifies_certificates_of_a_bare_rediss_broker() -> None:
    app = app_with_task("rediss://127.0.0.1:6380/0")

    transport.install(app, BridgeSettings(_env_file=None))

    assert app.conf.broker_use_ssl == {"ssl_cert_reqs": ssl.CERT_REQUIRED}


def test_install_leaves_other_brokers_alone_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    app = app_with_task("amqp://guest@localhost//")

    with caplog.at_level(logging.WARNING, logger="zeebe_celery.transport"):
        assert transport.install(app, BridgeSettings(_env_file=None)) is False

    assert not app.conf.broker_transport
    assert "guarded against poison messages on a redis://, rediss://, sentinel://, amqp:// or amqps:// broker" in (
        caplog.text
    )


def test_install_guards_an_amqp_broker_with_the_dead_letter_lists_in_flow_controls_redis() -> None:
    app = app_with_task("amqp://guest@localhost//")

    assert transport.install(app, BridgeSettings(redis_url="redis://127.0.0.1:6379/3", _env_file=None)) is True

    assert app.conf.broker_transport == transport.AMQP_TRANSPORT
    options = app.conf.broker_transport_options
    assert options[transport.DEAD_LETTER_URL_OPTION] == "redis://127.0.0.1:6379/3"
    assert options[transport.QUEUES_OPTION]
