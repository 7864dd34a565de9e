"""The engine's record log: what ``since`` returns, before and after the oldest records fall off; its listeners."""

from __future__ import annotations

from typing import Any

import pytest

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


def test_listeners_get_each_batch_and_one_that_fails_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    log = RecordLog(limit=10, clock=lambda: 0)
    seen: list[list[int]] = []

    def broken(batch: list[dict[str, Any]]) -> None:
        raise KeyError("value")

    log.listen(broken)
    log.listen(lambda batch: seen.append([r["key"] for r in batch]))
    log.extend([("JOB", "CREATED", 1, {}), ("JOB", "ACTIVATED", 1, {})])
    log.append("JOB", "COMPLETED", 2, {})
    assert seen == [[1, 1], [2]]
    assert [r["position"] for r in log.all()] == [1, 2, 3]
    assert "reader of the exported records failed" in caplog.text
