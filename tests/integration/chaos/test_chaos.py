"""The chaos scenarios of issue 15 on the real stack: the engine as a process on its data directory, a real
redis-server, ``zeebe-celery poller`` and prefork ``celery worker`` processes, 200+ instances at a steady
rate, and a fault while jobs are in flight (see :mod:`benchmarks.chaos.scenarios`).

Every scenario must end every instance, leak no flow-control slot and run no job past its deadline;
duplicate runs are counted and shown in the test's output (``make chaos`` prints them in its table).
"""

from __future__ import annotations

import pytest

from benchmarks.chaos.run import Outcome
from benchmarks.chaos.scenarios import CUT_KEEPALIVE, DEAD_LETTERS, run

pytestmark = pytest.mark.integration


def assert_nothing_lost(outcome: Outcome) -> None:
    print(outcome.row(), outcome.figures)
    assert outcome.errors == []
    assert outcome.instances >= 200
    assert (outcome.completed, outcome.lost) == (outcome.instances, 0)
    assert outcome.incidents == 0
    assert outcome.slots_leaked == 0, outcome.leaked
    assert outcome.max_overrun == 0.0
    assert all(value > 0 for value in outcome.figures["jobs_in_flight_at_each_fault"].values())
    # Every instance's job ran, and every repeat of a run is counted.
    assert {run.n for run in outcome.runs} == set(range(outcome.instances))
    assert outcome.duplicates == len(outcome.runs) - len({run.key for run in outcome.runs})


def test_a_ten_second_network_cut_is_noticed_by_keepalive_and_recovered_from_without_a_restart() -> None:
    outcome = run("network-cut")

    assert_nothing_lost(outcome)
    figures = outcome.figures
    # The dead connections were given up by keepalive while the link was still down (a ping unanswered
    # for a second), and work went on as soon as it came back.
    assert figures["given_up_during_cut"] >= 1
    assert figures["first_given_up_after_s"] <= 2 * CUT_KEEPALIVE + 2
    assert figures["first_completion_after_cut_s"] <= 5


def test_a_back_pressure_storm_is_ridden_out_with_bounded_retries() -> None:
    outcome = run("back-pressure")

    assert_nothing_lost(outcome)
    figures = outcome.figures
    # With 30% of reports refused, a report needs 1 / 0.7 = 1.43 attempts on average; a retry storm would
    # show many more.
    assert figures["attempts_per_completion"] <= 2.0
    # The poller backs off at least 0.1 s after each refusal: never more than ten calls a second.
    assert figures["activate_calls_per_s_during_storm"] <= 10
    assert figures["reports_after_deadline"] == 0


def test_kills_redis_restarts_an_engine_restart_and_poison_in_one_run_lose_nothing() -> None:
    outcome = run("combined")

    assert_nothing_lost(outcome)
    figures = outcome.figures
    # With AOF, Redis keeps the queue and the slots through its restart: no job waits out its timeout.
    assert figures["timed_out_after_each_fault"]["Redis restarted with AOF on"] == 0
    # The poison did not stop a worker.
    assert figures["workers_alive_at_end"] == 2
    assert figures["worker_logs_with_unrecoverable_error"] == 0
    if DEAD_LETTERS:
        assert figures["dead_letters"] >= 5


def test_two_pollers_and_four_workers_lose_nothing_when_one_of_each_is_killed() -> None:
    outcome = run("fleet")

    assert_nothing_lost(outcome)
