"""The dead-letter lists and ``zeebe-celery dead list|requeue|purge``, on the real Redis."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from zeebe_celery.cli import ExitCode, main
from zeebe_celery.deadletter import DEAD_LETTER_LISTS, DeadLetter, DeadLetters, dead_letter_list, record
from zeebe_celery.deadletter_amqp import restore

NOT_UTF8 = b"\x80\x04\x95 pickle?\xff"


@pytest.fixture
def queue(raw: redis.Redis) -> Iterator[str]:
    """A queue of this test's own, and its dead-letter list removed afterwards."""
    name = f"zeebe.dead-test-{uuid.uuid4().hex[:8]}"
    yield name
    raw.delete(name, dead_letter_list(name))
    raw.srem(DEAD_LETTER_LISTS, name)


@pytest.fixture
def store(redis_url: str) -> Iterator[DeadLetters]:
    letters = DeadLetters.from_url(redis_url)
    yield letters
    letters.close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def set_aside(store: DeadLetters, queue: str, *messages: bytes) -> list[DeadLetter]:
    for message in messages:
        store.set_aside(queue, message, kind="not_json", reason=f"the message is not JSON: {message[:8]!r}")
    return store.entries(queue)


# -- the lists -----------------------------------------------------------------------------------------------


def test_a_message_set_aside_keeps_its_exact_bytes_its_queue_and_the_reason(
    store: DeadLetters, raw: redis.Redis, queue: str
) -> None:
    store.set_aside(queue, b"garbage", kind="not_json", reason="the message is not JSON")
    store.set_aside(queue, NOT_UTF8, kind="not_json", reason="not UTF-8 at all")

    first, second = store.entries(queue)

    assert (first.message, first.queue, first.kind, first.reason) == (
        b"garbage",
        queue,
        "not_json",
        "the message is not JSON",
    )
    assert second.message == NOT_UTF8
    assert json.loads(second.stored)["message_base64"]
    assert first.id != second.id
    assert queue in store.queues()
    assert raw.llen(dead_letter_list(queue)) == 2


def test_requeue_puts_the_exact_message_back_on_its_queue_once(
    store: DeadLetters, raw: redis.Redis, queue: str
) -> None:
    (letter,) = set_aside(store, queue, NOT_UTF8)

    assert store.requeue(queue, [letter]) == [letter]
    assert store.requeue(queue, [letter]) == []  # already moved: not twice

    assert raw.lrange(queue, 0, -1) == [NOT_UTF8]
    assert store.entries(queue) == []


def test_an_entry_written_by_hand_is_listed_whole_and_can_be_purged(
    store: DeadLetters, raw: redis.Redis, queue: str
) -> None:
    raw.lpush(dead_letter_list(queue), b"not a record")

    (letter,) = store.entries(queue)

    assert (letter.message, letter.reason) == (b"not a record", "not a dead-letter record")
    assert store.purge(queue, [letter]) == [letter]
    assert store.entries(queue) == []


# -- the command -----------------------------------------------------------------------------------------------


def test_dead_list_shows_each_message_with_its_id_queue_and_reason(
    capsys: pytest.CaptureFixture[str], store: DeadLetters, redis_url: str, queue: str
) -> None:
    first, _ = set_aside(store, queue, b"garbage", b"[]")

    code, out, err = run(capsys, "dead", "list", queue, "--broker", redis_url)

    assert code == ExitCode.OK
    header, *rows = out.splitlines()
    assert header.split() == ["ID", "QUEUE", "DEAD", "AT", "KIND", "REASON"]
    assert len(rows) == 2
    assert rows[0].startswith(f"{first.id[:12]}  {queue}")
    assert "the message is not JSON: b'garbage'" in rows[0]
    assert err == f"zeebe-celery: 2 message(s) set aside in {queue}.dead\n"


def test_dead_list_as_json_carries_each_message_as_it_was(
    capsys: pytest.CaptureFixture[str], store: DeadLetters, redis_url: str, queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_aside(store, queue, b"garbage", NOT_UTF8)
    monkeypatch.setenv("ZEEBE_CELERY_BROKER_URL", redis_url)

    code, out, _ = run(capsys, "dead", "list", "--output", "json")

    assert code == ExitCode.OK
    first, second = [entry for entry in json.loads(out) if entry["queue"] == queue]
    assert (first["message"], first["kind"], first["size"]) == ("garbage", "not_json", 7)
    assert "message_base64" not in first
    assert base64.b64decode(second["message_base64"]) == NOT_UTF8


def test_dead_requeue_by_id_prefix_moves_only_that_message(
    capsys: pytest.CaptureFixture[str], store: DeadLetters, raw: redis.Redis, redis_url: str, queue: str
) -> None:
    first, second = set_aside(store, queue, b"one", b"two")

    code, out, _ = run(capsys, "dead", "requeue", queue, first.id[:10], "--broker", redis_url)

    assert (code, out) == (ExitCode.OK, f"requeued 1 message(s) on {queue}\n")
    assert raw.lrange(queue, 0, -1) == [b"one"]
    assert [letter.id for letter in store.entries(queue)] == [second.id]


def test_dead_purge_all_empties_the_list(
    capsys: pytest.CaptureFixture[str], store: DeadLetters, raw: redis.Redis, redis_url: str, queue: str
) -> None:
    set_aside(store, queue, b"one", b"two")

    code, out, _ = run(capsys, "dead", "purge", queue, "--all", "--broker", redis_url, "--output", "json")

    assert code == ExitCode.OK
    assert len(json.loads(out)["purged"]) == 2
    assert raw.llen(dead_letter_list(queue)) == 0
    assert raw.llen(queue) == 0


def test_dead_requeue_of_an_unknown_id_changes_nothing_and_exits_noinput(
    capsys: pytest.CaptureFixture[str], store: DeadLetters, raw: redis.Redis, redis_url: str, queue: str
) -> None:
    set_aside(store, queue, b"one")

    code, _, err = run(capsys, "dead", "requeue", queue, "ffffffff", "--broker", redis_url)

    assert code == ExitCode.NOINPUT
    assert err == f"zeebe-celery dead requeue: no single message set aside from {queue} has the id ffffffff\n"
    assert raw.llen(queue) == 0
    assert len(store.entries(queue)) == 1


def test_dead_purge_without_ids_or_all_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], redis_url: str, queue: str
) -> None:
    code, _, err = run(capsys, "dead", "purge", queue, "--broker", redis_url)

    assert code == ExitCode.USAGE
    assert "give --all" in err


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        ((), ExitCode.CONFIG, "no broker: give --broker URL or -A APP, or set ZEEBE_CELERY_BROKER_URL"),
        (
            ("--broker", "amqp://guest@localhost//"),
            ExitCode.CONFIG,
            "ZEEBE_CELERY_REDIS_URL: on an AMQP broker the dead-letter lists are in flow control's Redis; set it",
        ),
        (("--broker", "kafka://localhost:9092"), ExitCode.CONFIG, "live on a Redis broker"),
        (("--broker", "redis://:s3cret@127.0.0.1:1/0"), ExitCode.UNAVAILABLE, "cannot reach Redis"),
    ],
    ids=["no-broker", "amqp-without-redis", "not-redis", "unreachable"],
)
def test_dead_list_without_a_reachable_redis_broker_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str], clean_env: Path, argv: tuple[str, ...], code: ExitCode, message: str
) -> None:
    exit_code, _, err = run(capsys, "dead", "list", *argv)

    assert exit_code == code
    assert message in err
    assert len(err.splitlines()) == 1
    assert "s3cret" not in err


def test_help_of_every_dead_command_describes_it(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("dead", "dead list", "dead requeue", "dead purge"):
        code, out, _ = run(capsys, *command.split(), "--help")
        assert code == ExitCode.OK
        assert out.startswith(f"usage: zeebe-celery {command}")
        assert len(out.split("\n\n")[1]) > 30


def test_an_entry_that_holds_no_amqp_message_cannot_be_requeued_onto_rabbitmq() -> None:
    by_hand = DeadLetter.parse(b"written by hand", "zeebe.q")
    with pytest.raises(ValueError, match="holds no AMQP message envelope"):
        restore(by_hand)
    message = b'{"body": "aGk=", "content-type": "text/plain", "properties": {"priority": 2, "delivery_tag": "7"}}'
    kept = DeadLetter.parse(record("zeebe.q", message, kind="k", reason="r"), "zeebe.q")
    restored = restore(kept)
    assert (restored.body, restored.content_type, restored.properties) == (b"hi", "text/plain", {"priority": 2})
