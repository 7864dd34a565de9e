"""``zeebe-celery dead requeue`` on RabbitMQ: a message set aside in flow control's Redis goes back onto its
queue exactly as it was, with a publisher confirm, and comes off the list only once the broker has it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import amqp
import pytest
import redis
from kombu import Connection

from zeebe_celery.cli import ExitCode, main
from zeebe_celery.deadletter import DeadLetters
from zeebe_celery.stack.rabbitmq import RabbitMQServer
from zeebe_celery.stack.redis import RedisServer
from zeebe_celery.transport_amqp import envelope

pytestmark = pytest.mark.integration


@pytest.fixture
def letters(flow_redis: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[DeadLetters]:
    monkeypatch.setenv("ZEEBE_CELERY_REDIS_URL", flow_redis.url)
    monkeypatch.delenv("ZEEBE_CELERY_BROKER_URL", raising=False)
    store = DeadLetters(redis.Redis.from_url(flow_redis.url))
    yield store
    store.close()


@pytest.fixture
def queue(rabbitmq: RabbitMQServer, queue_type: str) -> Iterator[str]:
    """A queue of the lane's type (classic or quorum), as a worker would have declared it."""
    name = f"zeebe.requeue-{uuid.uuid4().hex[:8]}"
    with Connection(rabbitmq.url) as connection:
        connection.default_channel.queue_declare(
            queue=name, durable=True, auto_delete=False, arguments={"x-queue-type": queue_type}
        )
    yield name
    with Connection(rabbitmq.url) as connection:
        connection.default_channel.queue_delete(queue=name)


def poison(n: int, queue: str) -> amqp.Message:
    """A message as the worker's guard receives one from RabbitMQ."""
    message = amqp.Message(
        f'{{"n": {n}}}'.encode(),
        content_type="application/json",
        content_encoding="utf-8",
        application_headers={"task": "bridge_app.mended", "id": f"task-{n}"},
        correlation_id=f"task-{n}",
        priority=3,
    )
    message.delivery_info = {"exchange": "", "routing_key": queue, "delivery_tag": n}
    return message


def take_all(rabbitmq: RabbitMQServer, queue: str) -> list[amqp.Message]:
    taken = []
    with Connection(rabbitmq.url) as connection:
        channel = connection.default_channel
        while (message := channel.basic_get(queue=queue, no_ack=True)) is not None:
            taken.append(message)
    return taken


def test_requeue_publishes_each_message_back_as_it_was_and_then_takes_it_off_the_list(
    rabbitmq: RabbitMQServer, letters: DeadLetters, queue: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in range(3):
        letters.set_aside(queue, envelope(poison(n, queue)), kind="unknown_task", reason="no such task")
    first = letters.entries(queue)[0]

    assert main(["dead", "requeue", queue, first.id[:10], "--broker", rabbitmq.url]) == ExitCode.OK
    assert main(["dead", "requeue", queue, "--all", "--broker", rabbitmq.url]) == ExitCode.OK

    assert letters.entries(queue) == []
    requeued = capsys.readouterr().out.splitlines()
    assert requeued == [f"requeued 1 message(s) on {queue}", f"requeued 2 message(s) on {queue}"]
    taken = take_all(rabbitmq, queue)
    assert [m.body for m in taken] == ['{"n": 0}', '{"n": 1}', '{"n": 2}']  # py-amqp decodes a utf-8 body
    for n, message in enumerate(taken):
        assert message.properties["content_type"] == "application/json"
        assert message.properties["content_encoding"] == "utf-8"
        headers = message.properties["application_headers"]
        headers.pop("x-delivery-count", None)  # a quorum queue's own, on delivery
        assert headers == {"task": "bridge_app.mended", "id": f"task-{n}"}
        assert (message.properties["correlation_id"], message.properties["priority"]) == (f"task-{n}", 3)
        assert message.properties["delivery_mode"] == 2


def test_a_message_the_broker_refuses_stays_set_aside(
    rabbitmq: RabbitMQServer, letters: DeadLetters, queue: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in range(4):
        letters.set_aside(queue, envelope(poison(n, queue)), kind="unknown_task", reason="no such task")
    # The queue takes one message (a quorum queue may take one more: its limit is checked after the fact), then
    # nacks.
    refusing = '{"max-length": 1, "overflow": "reject-publish"}'
    rabbitmq.ctl("set_policy", "--apply-to", "queues", "one", f"^{queue}$", refusing)
    try:
        code = main(["dead", "requeue", queue, "--all", "--broker", rabbitmq.url])
    finally:
        rabbitmq.ctl("clear_policy", "one")

    assert code == ExitCode.UNAVAILABLE
    assert "the broker did not take every message; those it did not confirm stay set aside" in capsys.readouterr().err
    # What the broker confirmed came off the list, in order; the rest is still there, none in both places.
    on_queue = [m.body for m in take_all(rabbitmq, queue)]
    still_set_aside = [letter.message for letter in letters.entries(queue)]
    assert 1 <= len(on_queue) < 4
    assert on_queue == [f'{{"n": {n}}}' for n in range(len(on_queue))]
    assert still_set_aside == [envelope(poison(n, queue)) for n in range(len(on_queue), 4)]


def test_requeue_onto_a_queue_the_broker_lacks_moves_nothing(
    rabbitmq: RabbitMQServer, letters: DeadLetters, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = f"zeebe.gone-{uuid.uuid4().hex[:8]}"
    letters.set_aside(missing, envelope(poison(1, missing)), kind="unknown_task", reason="no such task")

    code = main(["dead", "requeue", missing, "--all", "--broker", rabbitmq.url])

    assert code == ExitCode.UNAVAILABLE
    assert f"the broker refused {missing}" in capsys.readouterr().err
    assert len(letters.entries(missing)) == 1
    letters.purge(missing, letters.entries(missing))


def test_dead_list_on_rabbitmq_reads_the_lists_in_flow_controls_redis(
    rabbitmq: RabbitMQServer, letters: DeadLetters, queue: str, capsys: pytest.CaptureFixture[str]
) -> None:
    letters.set_aside(queue, envelope(poison(5, queue)), kind="unknown_task", reason="no such task")

    assert main(["dead", "list", queue, "--broker", rabbitmq.url]) == ExitCode.OK

    out = capsys.readouterr().out
    assert queue in out
    assert "unknown_task" in out
