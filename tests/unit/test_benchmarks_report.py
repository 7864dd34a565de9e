"""The benchmark harness's arithmetic and its JSON shape, on fabricated figures (no engine involved)."""

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
    from benchmarks import brokers, records, report, stats

    return {"stats": stats, "report": report, "records": records, "brokers": brokers}


def contender(throughput: float, p50: float) -> dict[str, Any]:
    return {"throughput_per_s": throughput, "p50_ms": p50, "p95_ms": p50 * 2, "p99_ms": p50 * 3, "processes": 1}


def fabricated(**overrides: Any) -> dict[str, Any]:
    results: dict[str, Any] = {
        "contenders": {
            "raw_grpc": contender(500.0, 4.0),
            "pyzeebe": contender(400.0, 8.0),
            "zeebe_celery": contender(420.0, 12.0),
        },
        "dispatch_ceiling": {
            "zeebe_celery_per_s": 30_000.0,
            "zeebe_celery_batched_per_s": 36_000.0,
            "raw_activate_and_lpush_per_s": 40_000.0,
            "raw_lpush_per_s": 90_000.0,
        },
        "scaling": {"speedup_1_to_4": 3.2, "runs": {}},
        "memory": {"growth_mb": math.nan},
        "engine": {"waiting": {"kb_per_instance": 3.0}, "completed": {"growth_mb": 5.0}},
        "brokers": {
            "rounds": 1,
            "backlog_instances": 1200,
            "rabbitmq": "3.10.8",
            "rows": {
                key: {**contender(rate, 10.0), "cpu_ms_per_job": cpu, "servers_cpu_ms_per_job": 1.0, "complete": True}
                for key, rate, cpu in (
                    ("redis", 400.0, 2.0),
                    ("rabbitmq_classic", 300.0, 2.5),
                    ("rabbitmq_quorum", 200.0, 3.0),
                )
            },
        },
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
    assert targets["dispatch_ceiling"]["value"] == pytest.approx(0.75)  # against the bare ActivateJobs + LPUSH
    assert targets["dispatch_ceiling"]["met"] is False
    assert targets["dispatch_batched"]["value"] == pytest.approx(0.9)
    assert targets["dispatch_batched"]["met"] is False
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
    results["engine"]["completed"] = {}
    problems = bench["report"].check_shape(results)
    assert "missing 'memory'" in problems
    assert "engine.completed.growth_mb is None, not a number" in problems
    assert any("contenders.pyzeebe.throughput_per_s" in p for p in problems)
    assert any("contenders.zeebe_celery.p99_ms" in p for p in problems)


def engine_record(position: int, key: int, at: int, kind: str, intent: str, **value: Any) -> dict[str, Any]:
    return {"position": position, "key": key, "timestamp": at, "recordType": "EVENT", "valueType": kind,
            "intent": intent, "value": {"type": "t", **value}}  # fmt: skip


def test_engine_records_give_activation_to_completion(bench: dict[str, ModuleType]) -> None:
    log = bench["records"].RecordLog(fetch=lambda query, since: [])
    log.feed(engine_record(1, 7, 1000, "JOB", "CREATED"))
    log.feed(engine_record(2, 9, 1010, "JOB_BATCH", "ACTIVATED", jobKeys=[7]))
    log.feed({**engine_record(3, 7, 1013, "JOB", "COMPLETED"), "recordType": "COMMAND"})  # not an event
    log.feed(engine_record(4, 7, 1014, "JOB", "COMPLETED"))
    (job,) = log.jobs("t")
    assert (job.created, job.activated, job.completed, job.active_ms) == (1000, 1010, 1014, 4)
    assert log.completed_count("t") == 1
    assert log.mean_batch("t", 0, 2000) == 1.0


def test_polling_asks_each_query_only_for_records_after_the_last_it_saw(bench: dict[str, ModuleType]) -> None:
    exported = [
        engine_record(1, 7, 1000, "JOB", "CREATED"),
        engine_record(2, 9, 1010, "JOB_BATCH", "ACTIVATED", jobKeys=[7]),
        engine_record(3, 7, 1014, "JOB", "COMPLETED"),
        engine_record(4, 8, 1020, "JOB", "CREATED"),
    ]
    asked: list[tuple[str, int]] = []

    def fetch(query: str, since: int) -> list[dict[str, Any]]:
        asked.append((query, since))
        kind = query.split("&")[0].removeprefix("valueType=")
        return [r for r in exported if r["valueType"] == kind and r["position"] > since]

    log = bench["records"].RecordLog(fetch=fetch)
    log.poll()
    exported.append(engine_record(5, 10, 1030, "JOB_BATCH", "ACTIVATED", jobKeys=[8]))
    exported.append(engine_record(6, 8, 1033, "JOB", "COMPLETED"))
    log.poll()
    assert [since for _, since in asked] == [0, 0, 4, 2]
    assert [(j.key, j.active_ms) for j in log.jobs("t")] == [(7, 4), (8, 3)]
    assert log.mean_batch("t", 0, 2000) == 1.0


def engine_figures(bridge_cpu: float) -> dict[str, Any]:
    results = fabricated()
    results["contenders"]["zeebe_celery"].update(cpu_ms_per_job=bridge_cpu, engine_cpu_ms_per_instance=0.6)
    results["contenders"]["raw_grpc"].update(engine_cpu_ms_per_instance=0.4, throughput_per_s=900.0)
    results["engine"] = {
        "waiting": {"instances": 10_000, "kb_per_instance": 3.0},
        "completed": {"instances": 100_000, "growth_mb": 25.0},
    }
    return results


def test_engine_targets_compare_its_cpu_with_the_bridges_and_its_memory_with_fixed_bounds(
    bench: dict[str, ModuleType],
) -> None:
    targets = {t["name"]: t for t in bench["stats"].evaluate_targets(engine_figures(bridge_cpu=2.0))}
    assert targets["engine_cpu_in_zeebe_celery_run"]["value"] == pytest.approx(0.3)
    assert targets["engine_cpu_in_zeebe_celery_run"]["met"] is True
    assert targets["engine_cpu_in_raw_run"]["value"] == pytest.approx(0.2)
    assert targets["raw_grpc_vs_zeebe_celery"]["value"] == pytest.approx(900 / 420, abs=1e-3)
    assert targets["raw_grpc_vs_zeebe_celery"]["met"] is True
    assert targets["engine_rss_per_waiting_instance"]["met"] is True
    assert targets["engine_rss_per_waiting_instance"]["figure"].endswith("over 10,000")
    assert targets["engine_rss_growth"]["met"] is False
    assert "100,000 completed" in targets["engine_rss_growth"]["figure"]
    cheap_bridge = {t["name"]: t["met"] for t in bench["stats"].evaluate_targets(engine_figures(bridge_cpu=1.0))}
    assert cheap_bridge["engine_cpu_in_zeebe_celery_run"] is False
    assert cheap_bridge["engine_cpu_in_raw_run"] is True


def test_engine_targets_without_the_engine_phase_are_not_measured(bench: dict[str, ModuleType]) -> None:
    results = fabricated()
    del results["engine"]
    targets = {t["name"]: t for t in bench["stats"].evaluate_targets(results)}
    assert targets["engine_rss_growth"]["met"] is None
    assert targets["engine_rss_growth"]["figure"] == "engine RSS growth over ? completed instances"
    assert targets["engine_cpu_in_zeebe_celery_run"]["met"] is None


def with_batches_and_floor(batched_cpu: float, bridge_cpu: float) -> dict[str, Any]:
    results = fabricated()
    results["contenders"]["pyzeebe"]["cpu_ms_per_job"] = 0.2
    results["contenders"]["zeebe_celery"]["cpu_ms_per_job"] = bridge_cpu
    results["contenders"]["zeebe_celery"]["batched"] = {**contender(450.0, 10.0), "cpu_ms_per_job": batched_cpu}
    results["contenders"]["zeebe_celery"]["batched"]["batch"] = 32
    results["celery_floor"] = {"throughput_per_s": 900.0, "cpu_ms_per_job": 1.0}
    return results


def test_batched_and_floor_targets_compare_the_right_figures(bench: dict[str, ModuleType]) -> None:
    targets = {t["name"]: t for t in bench["stats"].evaluate_targets(with_batches_and_floor(0.3, 1.15))}
    assert targets["batched_throughput_vs_pyzeebe"]["value"] == pytest.approx(450 / 400)
    assert targets["batched_throughput_vs_pyzeebe"]["met"] is True
    assert targets["batched_cpu_vs_pyzeebe"]["value"] == pytest.approx(1.5)
    assert targets["batched_cpu_vs_pyzeebe"]["met"] is True
    assert targets["batched_p50_vs_pyzeebe"]["value"] == pytest.approx(2.0)
    assert targets["bridge_cpu_over_floor"]["value"] == pytest.approx(0.15)
    assert targets["bridge_cpu_over_floor"]["met"] is True
    costly = {t["name"]: t["met"] for t in bench["stats"].evaluate_targets(with_batches_and_floor(0.5, 1.5))}
    assert costly["batched_cpu_vs_pyzeebe"] is False
    assert costly["bridge_cpu_over_floor"] is False
    unmeasured = {t["name"]: t["met"] for t in bench["stats"].evaluate_targets(fabricated())}
    assert unmeasured["bridge_cpu_over_floor"] is None
    assert unmeasured["batched_throughput_vs_pyzeebe"] is None


def test_the_report_shows_the_floor_and_the_bridges_share_beyond_it(bench: dict[str, ModuleType]) -> None:
    results = with_batches_and_floor(0.3, 1.15)
    section = "\n".join(bench["report"].floor_section(results))
    assert "| Celery's floor: no-op task | 900.0 | 1.000 | |" in section
    assert "| zeebe-celery, per job | 420.0 | 1.150 | 0.150 |" in section
    assert "| zeebe-celery, batched | 450.0 | 0.300 | -0.700 |" in section
    rows = [label for label, _ in bench["report"]._contender_rows(results)]
    assert "zeebe-celery, batched (32 jobs per message)" in rows
    assert bench["report"].floor_section(fabricated()) == []


def test_the_async_wait_target_and_section_compare_batched_with_pyzeebe(bench: dict[str, ModuleType]) -> None:
    results = fabricated()
    results["async_wait"] = {
        "wait_ms": 50,
        "batch": 32,
        "pyzeebe": {**contender(600.0, 52.0), "cpu_ms_per_job": 0.2},
        "zeebe_celery_batched": {**contender(570.0, 55.0), "cpu_ms_per_job": 0.4},
    }
    targets = {t["name"]: t for t in bench["stats"].evaluate_targets(results)}
    assert targets["async_wait_vs_pyzeebe"]["value"] == pytest.approx(0.95)
    assert targets["async_wait_vs_pyzeebe"]["met"] is True
    section = "\n".join(bench["report"].async_wait_section(results))
    assert "## Async handler awaiting 50 ms" in section
    assert "| zeebe-celery, batched | 570.0 | 55.0 | 165.0 | 0.40 |" in section
    assert {t["name"]: t["met"] for t in bench["stats"].evaluate_targets(fabricated())}["async_wait_vs_pyzeebe"] is None


def test_the_pools_section_has_a_row_per_pool_and_handler_and_names_a_failed_run(
    bench: dict[str, ModuleType],
) -> None:
    results = fabricated(
        pools={
            "concurrency": 16,
            "ideal_per_s": 320.0,
            "runs": {
                "threads_sleep": {
                    "pool": "threads",
                    "handler": "sleep",
                    "throughput_per_s": 300.0,
                    "p50_ms": 51.0,
                    "p99_ms": 60.0,
                    "cpu_ms_per_job": 1.25,
                    "peak_rss_mb": 90.0,
                },
                "gevent_async": {"pool": "gevent", "handler": "async", "failed": "TimeoutError: no jobs"},
            },
        }
    )
    section = "\n".join(bench["report"].pools_section(results))
    assert "| threads | sleep | 300.0 | 51.0 | 60.0 | 1.25 |" in section
    assert "| gevent | async | refused: TimeoutError: no jobs | | | |" in section
    assert bench["report"].pools_section(fabricated()) == []


def test_the_broker_rows_stand_beside_redis_in_the_report(bench: dict[str, ModuleType]) -> None:
    results = fabricated()
    section = "\n".join(bench["brokers"].render_brokers(results["brokers"]))
    assert "RabbitMQ 3.10.8" in section
    assert "| Redis | 400.0 | 1.00x | 10.0 | 30.0 | 2.00 | 1.00 | yes |" in section
    assert "| RabbitMQ, classic queues | 300.0 | 0.75x | 10.0 | 30.0 | 2.50 | 1.00 | yes |" in section
    assert "| RabbitMQ, quorum queues | 200.0 | 0.50x | 10.0 | 30.0 | 3.00 | 1.00 | yes |" in section


def test_shape_check_wants_every_broker_row_with_its_figures(bench: dict[str, ModuleType]) -> None:
    results = fabricated()
    del results["brokers"]["rows"]["rabbitmq_quorum"]
    results["brokers"]["rows"]["rabbitmq_classic"]["servers_cpu_ms_per_job"] = math.nan
    problems = bench["report"].check_shape(results)
    assert "brokers.rows.rabbitmq_quorum.throughput_per_s is None, not a number" in problems
    assert "brokers.rows.rabbitmq_classic.servers_cpu_ms_per_job is nan, not a number" in problems
    del results["brokers"]
    assert "missing 'brokers'" in bench["report"].check_shape(results)
