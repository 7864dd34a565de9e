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


def test_the_limit_holds_across_commands_of_several_records() -> None:
    log = RecordLog(limit=5, clock=lambda: 0)
    for command in range(4):  # 3 records each: 12 written, the newest 5 retained
        log.extend([("JOB", "CREATED", command * 10 + n, {"n": n}) for n in range(3)])
    assert [r["position"] for r in log.all()] == [8, 9, 10, 11, 12]
    assert [r["key"] for r in log.all()] == [21, 22, 30, 31, 32]
    assert [r["position"] for r in log.since(9)] == [10, 11, 12]
    assert [r["position"] for r in log.since(3)] == [8, 9, 10, 11, 12]
    assert [r["key"] for r in log.find("JOB", "CREATED", n=0)] == [30]


def test_a_command_with_more_records_than_the_limit_keeps_its_newest() -> None:
    log = RecordLog(limit=3, clock=lambda: 0)
    log.extend([("JOB", "CREATED", n, {}) for n in range(7)])
    assert [(r["position"], r["key"]) for r in log.all()] == [(5, 4), (6, 5), (7, 6)]


def test_a_deferred_value_is_made_once_when_first_read() -> None:
    made: list[int] = []

    def make(n: int) -> dict[str, Any]:
        made.append(n)
        return {"n": n}

    log = RecordLog(limit=10, clock=lambda: 0)
    log.extend([("JOB", "CREATED", 1, (make, 1)), ("JOB", "CREATED", 2, (make, 2))])
    assert made == []
    assert [r["value"] for r in log.find("JOB", n=2)] == [{"n": 2}]
    assert [r["value"] for r in log.all()] == [{"n": 1}, {"n": 2}]
    assert made == [1, 2]
