"""A batch on the worker: every job of one message is run and reported as it would be alone (its own
deadline check, outcome, report and slot), async handlers run concurrently on the process's loop, bounded,
and sync handlers in turn or on the type's threads. Jobs are real jobs of the engine; slots are on Redis."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from billiard.exceptions import SoftTimeLimitExceeded
from celery import Celery

from tests.unit.engine_jobs import EngineJobs
from tests.unit.test_worker import metric, payload
from zeebe_celery import handler as handler_module
from zeebe_celery import worker
from zeebe_celery.config import BridgeSettings, ZeebeSettings
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.faults import Faults
from zeebe_celery.errors import BpmnError
from zeebe_celery.flow import InflightStore
from zeebe_celery.task import zeebe_task


@pytest.fixture
def job_type(jobs: EngineJobs) -> str:
    return jobs.new_type("batch")


AppFactory = Callable[..., Celery]


@pytest.fixture
def make_app(engine: ZeebeEngine, redis_url: str, clean_env: Path) -> Iterator[AppFactory]:
    apps: list[Celery] = []

    def make(**bridge: Any) -> Celery:
        app = Celery("batch-tests", set_as_current=False)
        worker.configure(
            app, zeebe=ZeebeSettings(address=engine.address), bridge=BridgeSettings(redis_url=redis_url, **bridge)
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        worker.close_contexts(app)
    # Each thread keeps one loop for async handlers; a closed one is replaced on next use.
    handler_module.event_loop().close()


@pytest.fixture
def app(make_app: AppFactory) -> Celery:
    return make_app()


@pytest.fixture
def store(redis_url: str) -> Iterator[InflightStore]:
    store = InflightStore.from_url(redis_url)
    yield store
    store.close()


class Overlap:
    """Counts the handlers running at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def leave(self) -> None:
        with self._lock:
            self.now -= 1


def test_mixed_outcomes_in_one_batch_each_get_their_own_report(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    def work(n: int) -> Any:
        if n == 1:
            raise BpmnError("NO_STOCK", "sold out")
        if n == 2:
            raise RuntimeError("boom")
        if n == 3:
            return [1]  # not a dict: an incident
        return {"done": n}

    task = zeebe_task(job_type, app=app, batch=8)(work)
    batch = [payload(jobs, job_type, {"n": n}) for n in range(4)] + [payload(jobs, job_type, {"n": "x"})]

    assert task.run(batch) == ["completed", "thrown", "failed", "incident", "incident"]

    assert [c.request.jobKey for c in faults.calls("CompleteJob")] == [batch[0]["key"]]
    assert [c.request.jobKey for c in faults.calls("ThrowError")] == [batch[1]["key"]]
    fails = {c.request.jobKey: c.request for c in faults.calls("FailJob")}
    assert fails[batch[2]["key"]].retries == 2
    assert "RuntimeError: boom" in fails[batch[2]["key"]].errorMessage
    assert fails[batch[3]["key"]].retries == 0
    assert "invalid input: variable 'n'" in fails[batch[4]["key"]].errorMessage
    assert fails[batch[4]["key"]].retries == 0


def test_each_jobs_deadline_is_checked_on_its_own(app: Celery, faults: Faults, jobs: EngineJobs, job_type: str) -> None:
    ran: list[int] = []

    def work(n: int) -> None:
        ran.append(n)

    task = zeebe_task(job_type, app=app, batch=8)(work)
    batch = [
        payload(jobs, job_type, {"n": 0}),
        payload(jobs, job_type, {"n": 1}, seconds_left=-1),
        payload(jobs, job_type, {"n": 2}),
    ]

    assert task.run(batch) == ["completed", "expired", "completed"]

    assert ran == [0, 2]
    assert sorted(c.request.jobKey for c in faults.calls("CompleteJob")) == sorted([batch[0]["key"], batch[2]["key"]])
    assert faults.calls("FailJob") == []
    assert metric("zeebe_celery_jobs_expired_total", job_type) == 1


def test_each_jobs_slot_is_freed_when_it_is_reported_not_when_the_batch_ends(
    app: Celery, jobs: EngineJobs, store: InflightStore, raw: redis.Redis, job_type: str
) -> None:
    seen: list[int] = []

    def work(n: int) -> None:
        if n == 3:
            # The earlier jobs' reports are done by now (or soon): their slots are free while this one runs.
            give_up = time.monotonic() + 5
            while store.in_flight(job_type) > 1 and time.monotonic() < give_up:
                time.sleep(0.01)
            seen.append(store.in_flight(job_type))
        if n == 1:
            raise RuntimeError("fails, and frees its slot too")

    task = zeebe_task(job_type, app=app, batch=8)(work)
    batch = [payload(jobs, job_type, {"n": n}, seconds_left=-1 if n == 2 else 60) for n in range(4)]
    reservation = store.reserve(job_type, want=4, bound=4, hold=30)
    assert reservation is not None
    store.commit(reservation, [(job["key"], job["deadline"]) for job in batch])
    assert raw.zcard(store.key(job_type)) == 4

    assert task.run(batch) == ["completed", "failed", "expired", "completed"]

    assert seen == [1]
    assert raw.zcard(store.key(job_type)) == 0


def test_async_handlers_of_a_batch_run_concurrently_on_one_loop(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    overlap = Overlap()
    loops: set[int] = set()

    async def work(n: int) -> dict[str, int]:
        overlap.enter()
        loops.add(id(asyncio.get_running_loop()))
        await asyncio.sleep(0.3)
        overlap.leave()
        return {"n": n}

    task = zeebe_task(job_type, app=app, batch=16)(work)
    batch = [payload(jobs, job_type, {"n": n}) for n in range(8)]

    started = time.monotonic()
    assert task.run(batch) == ["completed"] * 8
    elapsed = time.monotonic() - started

    assert overlap.most == 8
    assert len(loops) == 1
    assert elapsed < 8 * 0.3
    assert len(faults.calls("CompleteJob")) == 8


def test_async_concurrency_is_bounded_by_the_setting(
    make_app: AppFactory, jobs: EngineJobs, job_type: str, faults: Faults
) -> None:
    overlap = Overlap()

    async def work() -> None:
        overlap.enter()
        await asyncio.sleep(0.1)
        overlap.leave()

    task = zeebe_task(job_type, app=make_app(batch_concurrency=3), batch=16)(work)

    assert task.run([payload(jobs, job_type) for _ in range(7)]) == ["completed"] * 7
    assert overlap.most == 3


def test_an_async_handler_is_stopped_at_its_own_jobs_deadline(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    async def work(n: int) -> None:
        await asyncio.sleep(30 if n == 0 else 0)

    task = zeebe_task(job_type, app=app, batch=4)(work)
    batch = [payload(jobs, job_type, {"n": 0}, seconds_left=1.0), payload(jobs, job_type, {"n": 1})]

    started = time.monotonic()
    assert task.run(batch) == ["gone", "completed"]

    assert time.monotonic() - started < 5
    assert [c.request.jobKey for c in faults.calls("CompleteJob")] == [batch[1]["key"]]
    assert faults.calls("FailJob") == []


def test_sync_handlers_run_in_turn_unless_the_type_asks_for_threads(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str
) -> None:
    alone, threaded = Overlap(), Overlap()
    seen_ids: list[Any] = []

    def make(overlap: Overlap) -> Callable[..., None]:
        def work(self: Any) -> None:
            overlap.enter()
            seen_ids.append(self.request.id)
            time.sleep(0.1)
            overlap.leave()

        return work

    in_turn = zeebe_task(job_type, app=app, batch=8, bind=True, name="batch.in_turn")(make(alone))
    assert in_turn.run([payload(jobs, job_type) for _ in range(4)]) == ["completed"] * 4
    other = jobs.new_type("batch-threads")
    on_threads = zeebe_task(other, app=app, batch=8, batch_threads=4, bind=True, name="batch.threads")(make(threaded))
    on_threads.push_request(id="batch-message-1")
    try:
        assert on_threads.run([payload(jobs, other) for _ in range(4)]) == ["completed"] * 4
    finally:
        on_threads.pop_request()

    assert alone.most == 1
    assert threaded.most == 4
    # A handler on a batch thread still sees the message's request.
    assert seen_ids[4:] == ["batch-message-1"] * 4


def test_a_malformed_job_in_a_batch_is_left_to_zeebe_and_the_others_run(
    app: Celery, faults: Faults, jobs: EngineJobs, job_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    def work() -> None:
        return None

    task = zeebe_task(job_type, app=app, batch=4)(work)
    good = payload(jobs, job_type)

    assert task.run([{**good, "key": "x"}, good]) == ["completed"]

    assert "malformed job payload at 0 of its batch" in caplog.text
    assert [c.request.jobKey for c in faults.calls("CompleteJob")] == [good["key"]]


def test_batch_options_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="batch is 1 to 1000 jobs"):
        zeebe_task("t", batch=0)
    with pytest.raises(ValueError, match="batch_threads must be at least 1"):
        zeebe_task("t", batch_threads=0)


def test_a_time_limit_that_breaks_into_an_async_batch_cancels_it_and_leaves_its_jobs_to_zeebe(
    make_app: AppFactory, faults: Faults, jobs: EngineJobs, store: InflightStore, raw: redis.Redis, job_type: str
) -> None:
    async def work(n: int) -> None:
        await asyncio.sleep(30)

    task = zeebe_task(job_type, app=make_app(batch_concurrency=1), batch=4)(work)
    batch = [payload(jobs, job_type, {"n": n}) for n in range(3)]
    reservation = store.reserve(job_type, want=3, bound=3, hold=30)
    assert reservation is not None
    store.commit(reservation, [(job["key"], job["deadline"]) for job in batch])

    def soft_limit(signum: int, frame: Any) -> None:
        raise SoftTimeLimitExceeded()  # as billiard's soft time limit does, in the task's thread

    previous = signal.signal(signal.SIGALRM, soft_limit)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    started = time.monotonic()
    try:
        with pytest.raises(SoftTimeLimitExceeded):
            task.run(batch)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    assert time.monotonic() - started < 5
    # The running handler was cancelled and the others never started: nothing is reported, so Zeebe hands
    # every job out again after its timeout, and every slot is free.
    assert faults.calls("FailJob") == []
    assert faults.calls("CompleteJob") == []
    assert raw.zcard(store.key(job_type)) == 0
