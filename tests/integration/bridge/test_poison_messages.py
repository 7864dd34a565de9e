"""Poison messages on a bridge queue, on a real prefork worker and Redis: each is set aside on the queue's
dead-letter list with the reason, logged once and counted; the worker keeps serving and no handler sees it.
An app that accepts more than JSON is refused at the worker's start, as the poller refuses it."""

from __future__ import annotations

import base64
import json
import os
import pickle
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.integration.bridge.conftest import APP, HERE, EngineRecords, PollerFactory, deploy_one_task
from tests.integration.bridge.test_bridge_time_limits import completed
from tests.integration.test_worker_metrics import free_port, sample, scrape
from zeebe_celery.cli import ExitCode, main
from zeebe_celery.deadletter import DEAD_LETTER_LISTS, DeadLetters, dead_letter_list
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.stack.fleet import CeleryWorker

pytestmark = pytest.mark.integration

JOB_TYPE = "poison-target"
QUEUE = f"zeebe.{JOB_TYPE}"
TASK = "bridge_app.poison_target"
EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


class Exploit:
    """A pickle that, once loaded, makes a directory: proof that nobody unpickled it."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.mkdir, (self.path,)


def encoded(value: Any) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def job(key: int) -> dict[str, Any]:
    return {
        "key": key,
        "type": JOB_TYPE,
        "process_instance_key": 1,
        "bpmn_process_id": "p",
        "process_definition_version": 1,
        "process_definition_key": 2,
        "element_id": "task",
        "element_instance_key": 3,
        "retries": 3,
        "deadline": int(time.time() * 1000) + 600_000,
    }


def envelope(body: str, *, content_type: str = "application/json", **headers: Any) -> bytes:
    message = {
        "body": body,
        "content-encoding": "utf-8",
        "content-type": content_type,
        "headers": {"lang": "py", "task": TASK, "id": "poison-1", "timelimit": [None, None], **headers},
        "properties": {
            "delivery_info": {"exchange": "", "routing_key": QUEUE},
            "body_encoding": "base64",
            "delivery_tag": "poison-tag",
            "priority": 0,
        },
    }
    return json.dumps(message).encode()


def poison_messages(marker: Path) -> dict[str, tuple[bytes, str]]:
    """Each bad input, and the kind it is set aside as. Without the guard, the first five stop the worker
    ("Unrecoverable error"), and the next two go back on the queue first, so every fresh worker dies on them."""
    good_body = encoded([[job(7)], {}, EMBED])
    return {
        "garbage": (b"garbage", "not_json"),
        "json-list": (b"[]", "bad_envelope"),
        "body-not-base64": (envelope("!!!not-base64"), "bad_body"),
        "not-utf8": (b"\xff\xfe garbage", "not_json"),
        "no-delivery-info": (json.dumps({"body": good_body, "properties": {}}).encode(), "bad_envelope"),
        "body-a-1": (envelope(encoded({"a": 1})), "bad_body"),
        "timelimit-x": (envelope(good_body, timelimit=["x", {}]), "bad_header"),
        "unknown-task": (envelope(good_body, task="bridge_app.nope"), "unknown_task"),
        "other-task": (envelope(good_body, task="bridge_app.quick"), "unknown_task"),
        "callback": (envelope(encoded([[job(7)], {}, {**EMBED, "callbacks": [{"task": "x"}]}])), "bad_body"),
        "not-a-job": (envelope(encoded([[{"a": 1}], {}, EMBED])), "bad_body"),
        "pickle": (
            envelope(
                base64.b64encode(pickle.dumps(Exploit(str(marker)))).decode(),
                content_type="application/x-python-serialize",
            ),
            "not_json",
        ),
    }


@pytest.fixture
def clean_queue(store: redis.Redis) -> Iterator[None]:
    store.delete(QUEUE, dead_letter_list(QUEUE), f"test:{JOB_TYPE}")
    yield
    store.delete(QUEUE, dead_letter_list(QUEUE), f"test:{JOB_TYPE}")
    store.srem(DEAD_LETTER_LISTS, QUEUE)


def test_poison_messages_are_set_aside_and_the_worker_serves_on(
    bridge_env: dict[str, str],
    start_poller: PollerFactory,
    client: ZeebeClient,
    unique: Any,
    store: redis.Redis,
    bridge_redis: Any,
    clean_queue: None,
    tmp_path: Path,
) -> None:
    marker = tmp_path / "unpickled"
    cases = poison_messages(marker)
    port = free_port()
    env = {**bridge_env, "ZEEBE_CELERY_WORKER_METRICS_PORT": str(port), "ZEEBE_CELERY_WORKER_METRICS_HOST": "127.0.0.1"}
    # LPUSH in order: the worker BRPOPs the first case first.
    store.lpush(QUEUE, *(raw for raw, _ in cases.values()))

    with CeleryWorker(APP, [QUEUE], env=env, concurrency=2, cwd=HERE) as worker:
        letters = DeadLetters.from_url(bridge_redis.url)
        deadline = time.monotonic() + 60
        while len(letters.entries(QUEUE)) < len(cases):
            assert worker.process.poll() is None, f"the worker died:\n{worker.log()[-3000:]}"
            assert time.monotonic() < deadline, f"only {len(letters.entries(QUEUE))} of {len(cases)} set aside"
            time.sleep(0.1)

        set_aside = letters.entries(QUEUE)
        assert [(letter.message, letter.kind) for letter in set_aside] == list(cases.values())
        assert all(letter.queue == QUEUE and letter.reason for letter in set_aside)
        log = worker.log()
        reasons = [letter.reason for letter in set_aside]
        for reason in reasons:  # logged once each (two cases share the reason "not JSON")
            assert log.count(f"poison message on queue {QUEUE} set aside in {QUEUE}.dead: {reason}") == reasons.count(
                reason
            )
        assert "Unrecoverable error" not in log
        assert "Traceback" not in log
        assert store.llen(QUEUE) == 0
        assert store.hlen("unacked") == 0  # nothing waits to be restored onto the queue for the next worker
        assert not marker.exists()
        samples = scrape(port)
        counted = {
            kind: sample(samples, "zeebe_celery_messages_dead_lettered_total", queue=QUEUE, kind=kind)
            for _, kind in cases.values()
        }
        assert counted == {kind: float(sum(1 for _, k in cases.values() if k == kind)) for _, kind in cases.values()}

        # The same worker still runs jobs, and its handler saw none of the poison.
        process_id = deploy_one_task(client, unique, JOB_TYPE)
        start_poller([JOB_TYPE])
        ended = client.create_process_instance_with_result(process_id, request_timeout=60)
        assert ended.variables["served"] is True
        runs = [entry.decode() for entry in store.lrange(f"test:{JOB_TYPE}", 0, -1)]
        assert [run.split(":")[1] for run in runs] == [str(ended.process_instance_key)]
        assert worker.process.poll() is None


def write_app(directory: Path, name: str, broker: str, accept: list[str]) -> None:
    (directory / f"{name}.py").write_text(
        textwrap.dedent(
            f"""
            from celery import Celery
            from zeebe_celery import zeebe_task

            app = Celery("{name}", broker="{broker}")
            app.conf.accept_content = {accept!r}

            @zeebe_task("refused-work", app=app)
            def work() -> None:
                return None
            """
        )
    )


@pytest.mark.parametrize("accept", [["json", "pickle"], ["json", "yaml"]], ids=["pickle", "yaml"])
def test_a_worker_of_an_app_that_accepts_more_than_json_refuses_to_start_as_the_poller_does(
    bridge_env: dict[str, str], bridge_redis: Any, tmp_path: Path, unique: Any, accept: list[str]
) -> None:
    module = f"accepts_{accept[1]}_{unique.suffix}"
    write_app(tmp_path, module, bridge_redis.url, accept)
    # Celery itself refuses pickle to a worker run as root, unless told to go on; as another user it would run.
    env = {**bridge_env, "C_FORCE_ROOT": "1"}
    worker = CeleryWorker(module, ["zeebe.refused-work"], env=env, concurrency=1, cwd=tmp_path)
    worker.start(wait=False)
    try:
        code = worker.wait(60)
        log = worker.log()
    finally:
        worker.cleanup()
    poller = subprocess.run(
        [sys.executable, "-m", "zeebe_celery.cli", "poller", "-A", module],
        env={**bridge_env, "PYTHONPATH": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert code == ExitCode.CONFIG == poller.returncode
    refusal = poller.stderr.strip().splitlines()[-1].removeprefix("zeebe-celery poller: ")
    assert refusal.startswith(f"the Celery app accepts {accept[1]} (task_serializer/accept_content)")
    assert f"zeebe-celery worker: {refusal}\n" in log
    assert " ready." not in log
    assert "Traceback" not in log


def test_a_job_set_aside_by_a_worker_without_its_handler_runs_once_requeued_to_one_with_it(
    bridge_env: dict[str, str],
    bridge_redis: Any,
    start_poller: PollerFactory,
    client: ZeebeClient,
    unique: Any,
    store: redis.Redis,
    records: EngineRecords,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    queue = "zeebe.requeued-work"
    store.delete(queue, dead_letter_list(queue))
    # An older deployment of the app: its worker consumes the queue, but has no handler for the type yet.
    (tmp_path / "older_app.py").write_text(
        textwrap.dedent(
            f"""
            from celery import Celery
            from zeebe_celery import zeebe_task

            app = Celery("older", broker="{bridge_redis.url}")

            @zeebe_task("something-else", app=app)
            def something_else() -> None:
                return None
            """
        )
    )
    process_id = deploy_one_task(client, unique, "requeued-work")
    letters = DeadLetters.from_url(bridge_redis.url)
    with CeleryWorker("older_app", [queue], env=bridge_env, concurrency=1, cwd=tmp_path) as older:
        start_poller(["requeued-work"])
        instance = client.create_process_instance(process_id)
        deadline = time.monotonic() + 30
        while not letters.entries(queue):
            assert time.monotonic() < deadline, f"nothing set aside; the worker's log:\n{older.log()[-3000:]}"
            time.sleep(0.1)
    (letter,) = letters.entries(queue)
    assert letter.kind == "unknown_task"
    assert "'bridge_app.requeued_work' is not a @zeebe_task of this queue" in letter.reason

    with CeleryWorker(APP, [queue], env=bridge_env, concurrency=1, cwd=HERE):
        assert main(["dead", "requeue", queue, "--all", "--broker", bridge_redis.url]) == ExitCode.OK
        assert capsys.readouterr().out == f"requeued 1 message(s) on {queue}\n"

        assert completed(records, instance.process_instance_key)["served_by"] == "the mended worker"
    assert letters.entries(queue) == []
