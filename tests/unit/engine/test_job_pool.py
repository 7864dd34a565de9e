"""Activatable jobs are handed out in key order, also when one comes back out of order."""

from __future__ import annotations

from tests.unit.engine.bpmn_builders import end_event, flows, process, service_task, start_event
from tests.unit.engine.harness import Harness
from zeebe_celery.engine.state import JobPool


def test_a_pool_reads_in_key_order_whatever_order_jobs_came_in() -> None:
    pool = JobPool()
    for key in (5, 7, 9):
        pool[key] = key  # type: ignore[assignment]
    pool[6] = 6  # type: ignore[assignment]
    del pool[7]
    pool[7] = 7  # type: ignore[assignment]
    assert list(pool.in_order()) == [5, 6, 7, 9]
    pool[10] = 10  # type: ignore[assignment]
    assert list(pool.in_order()) == [5, 6, 7, 9, 10]


def test_a_job_that_timed_out_is_handed_out_before_newer_ones(engine: Harness) -> None:
    engine.deploy(process("p", start_event(), service_task("t", "work"), end_event(), flows("start", "t", "end")))
    for _ in range(3):
        engine.start("p")
    (first,) = engine.activate("work", max_jobs=1, timeout=1_000)
    newer = engine.activate("work", max_jobs=1)
    engine.advance(1_001)  # the first times out and comes back behind the third in the pool
    handed_out = [job.key for job in engine.activate("work", max_jobs=10)]
    assert handed_out[0] == first.key
    assert handed_out == sorted(handed_out)
    assert newer[0].key not in handed_out
    assert len(handed_out) == 2
