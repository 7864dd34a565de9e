"""The benchmark harness's arithmetic and its JSON shape, on fabricated figures (no broker involved)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> dict[str, ModuleType]:
    monkeypatch.syspath_prepend(str(REPO))
    from benchmarks import records, report, stats

    return {"stats": stats, "report": report, "records": records}


def contender(throughput: float, p50: float) -> dict[str, Any]:
    return {"throughput_per_s": throughput, "p50_ms": p50, "p95_ms": p50 * 2, "p99_ms": p50 * 3, "processes": 1}


def fabricated(**overrides: Any) -> dict[str, Any]:
    results: dict[str, Any] = {
        "contenders": {
            "raw_grpc": contender(500.0, 4.0),
            "pyzeebe": contender(400.0, 8.0),
            "zeebe_celery": contender(420.0, 12.0),
        },
        "dispatch_ceiling": {"zeebe_celery_per_s": 30_000.0, "raw_lpush_per_s": 45_000.0},
        "scaling": {"speedup_1_to_4": 3.2, "runs": {}},
        "memory": {"growth_mb": math.nan},
    }
    results.update(overrides)
    return results


def test_percentile_interpolates_between_ranks(bench: dict[str, ModuleType]) -> None:
    percentile = bench["stats"].percentile
    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile([10, 20], 50) == 15
    assert percentile([5, 1, 4, 2, 3], 100) == 5
    assert math.isnan(percentile([], 50))


def test_steady_window_cuts_a_tenth_at_each_end(bench: dict[str, ModuleType]) -> None:
    times = [float(t) for t in range(100)]
    start, end, count = bench["stats"].steady_window(times)
    assert (start, end, count) == (10.0, 89.0, 79)
    assert bench["stats"].rate_between(start, end, count) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 10"):
        bench["stats"].steady_window([1.0, 2.0])


def test_repeats_are_merged_by_median_including_nested_figures(bench: dict[str, ModuleType]) -> None:
    runs = [
        {"throughput_per_s": 100.0, "complete": True, "scaled": {"p50_ms": 9.0}},
        {"throughput_per_s": 300.0, "complete": False, "scaled": {"p50_ms": 5.0}},
        {"throughput_per_s": 200.0, "complete": True, "scaled": {"p50_ms": math.nan}},
    ]
    merged = bench["stats"].median_of_runs(runs)
    assert merged["throughput_per_s"] == 200.0
    assert merged["scaled"]["p50_ms"] == 7.0  # NaN is left out, not propagated
    assert merged["complete"] is True


def test_targets_compare_the_right_figures(bench: dict[str, ModuleType]) -> None:
    targets = {t["name"]: t for t in bench["stats"].evaluate_targets(fabricated())}
    assert targets["throughput_vs_pyzeebe"]["value"] == pytest.approx(1.05)
    assert targets["throughput_vs_pyzeebe"]["met"] is True
    assert targets["throughput_vs_raw_grpc"]["value"] == pytest.approx(0.84)
    assert targets["throughput_vs_raw_grpc"]["met"] is True
    assert targets["p50_vs_pyzeebe"]["value"] == pytest.approx(4.0)
    assert targets["p50_vs_pyzeebe"]["met"] is True
    assert targets["dispatch_ceiling"]["value"] == pytest.approx(0.667)
    assert targets["dispatch_ceiling"]["met"] is True
    assert targets["scaling_1_to_4"]["met"] is False
    assert targets["poller_rss_growth"]["met"] is None  # not measured is neither met nor missed


def test_a_slower_bridge_misses_its_targets(bench: dict[str, ModuleType]) -> None:
    results = fabricated()
    results["contenders"]["zeebe_celery"] = contender(100.0, 20.0)
    missed = {t["name"] for t in bench["stats"].evaluate_targets(results) if t["met"] is False}
    assert {"throughput_vs_pyzeebe", "throughput_vs_raw_grpc", "p50_vs_pyzeebe"} <= missed


def test_json_has_the_agreed_shape_and_no_nan(bench: dict[str, ModuleType]) -> None:
    report = bench["report"]
    results = fabricated()
    assert report.check_shape(results) == []
    loaded = json.loads(report.to_json(results))
    assert set(loaded["contenders"]) == {"raw_grpc", "pyzeebe", "zeebe_celery"}
    for figures in loaded["contenders"].values():
        assert {"throughput_per_s", "p50_ms", "p95_ms", "p99_ms"} <= set(figures)
    assert set(loaded["dispatch_ceiling"]) >= {"zeebe_celery_per_s", "raw_lpush_per_s"}
    assert loaded["memory"]["growth_mb"] is None


def test_shape_check_names_what_is_missing_or_not_a_number(bench: dict[str, ModuleType]) -> None:
    results = fabricated()
    del results["contenders"]["pyzeebe"]
    results["contenders"]["zeebe_celery"]["p99_ms"] = math.nan
    del results["memory"]
    problems = bench["report"].check_shape(results)
    assert "missing 'memory'" in problems
    assert any("contenders.pyzeebe.throughput_per_s" in p for p in problems)
    assert any("contenders.zeebe_celery.p99_ms" in p for p in problems)


def test_engine_records_give_activation_to_completion(bench: dict[str, ModuleType]) -> None:
    log = bench["records"].RecordLog(Path("unused"))
    prefix = b"12:00:00.000 [zb-fs-workers-1] INFO  io.camunda.zeebe.broker.exporter.debug - "

    def line(record: dict[str, Any]) -> bytes:
        return prefix + json.dumps(record, separators=(",", ":")).encode()

    log.feed(line({"key": 7, "timestamp": 1000, "valueType": "JOB", "intent": "CREATED", "recordType": "EVENT",
                   "value": {"type": "t"}}))  # fmt: skip
    log.feed(line({"key": 9, "timestamp": 1010, "valueType": "JOB_BATCH", "intent": "ACTIVATED",
                   "recordType": "EVENT", "value": {"type": "t", "jobKeys": [7]}}))  # fmt: skip
    log.feed(line({"key": 7, "timestamp": 1013, "valueType": "JOB", "intent": "COMPLETE", "recordType": "COMMAND",
                   "value": {"type": "t"}}))  # fmt: skip
    log.feed(line({"key": 7, "timestamp": 1014, "valueType": "JOB", "intent": "COMPLETED", "recordType": "EVENT",
                   "value": {"type": "t"}}))  # fmt: skip
    (job,) = log.jobs("t")
    assert (job.created, job.activated, job.completed, job.active_ms) == (1000, 1010, 1014, 4)
    assert log.completed_count("t") == 1
    assert log.mean_batch("t", 0, 2000) == 1.0
