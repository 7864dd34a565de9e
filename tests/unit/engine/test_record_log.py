"""The engine's record log: what ``since`` returns, before and after the oldest records fall off."""

from __future__ import annotations

from zeebe_celery.engine.records import RecordLog


def log_of(count: int, *, limit: int) -> RecordLog:
    log = RecordLog(limit=limit, clock=lambda: 0)
    for n in range(count):
        log.append("JOB", "CREATED", n, {"n": n})
    return log


def test_since_returns_the_records_after_a_position_in_order() -> None:
    log = log_of(10, limit=100)
    assert [r["position"] for r in log.since(7)] == [8, 9, 10]
    assert len(log.since(0)) == 10
    assert log.since(10) == []


def test_since_a_position_that_fell_off_returns_every_retained_record() -> None:
    log = log_of(10, limit=4)
    assert [r["position"] for r in log.since(2)] == [7, 8, 9, 10]
    assert [r["position"] for r in log.since(8)] == [9, 10]
