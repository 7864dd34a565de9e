"""The order of answers and hand-outs: a job goes out after the answer of the command that made it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from zeebe_celery.engine.answers import AnswerOrder

LOCK = threading.RLock()


def order() -> AnswerOrder:
    conditions: dict[str, threading.Condition] = {}
    return AnswerOrder(LOCK, lambda job_type: conditions.setdefault(job_type, threading.Condition(LOCK)))


def test_a_command_holds_one_ticket_per_job_type_until_it_is_answered() -> None:
    answers = order()
    answers.begin()
    answers.made_available("a")
    answers.made_available("a")
    answers.made_available("b")
    horizon = answers.horizon()

    tickets = answers.take()

    assert sorted(tickets) == ["a", "b"]
    assert not answers.answered_up_to("a", horizon)
    answers.answered(tickets)
    assert answers.answered_up_to("a", horizon)
    assert answers.answered_up_to("b", horizon)
    assert answers.take() == {}


def test_a_hand_out_waits_only_for_the_commands_before_it() -> None:
    answers = order()
    answers.begin()
    answers.made_available("a")
    first = answers.take()
    horizon = answers.horizon()
    answers.begin()
    answers.made_available("a")  # a later command, not yet answered either
    later = answers.take()

    answers.answered(first)

    assert answers.answered_up_to("a", horizon)
    assert not answers.answered_up_to("a", answers.horizon())
    answers.answered(later)
    assert answers.answered_up_to("a", answers.horizon())


def test_each_thread_takes_only_the_tickets_of_the_command_it_ran() -> None:
    answers = order()
    answers.begin()
    answers.made_available("mine")

    def other_command() -> dict[str, int]:
        answers.begin()
        answers.made_available("theirs")
        return answers.take()

    with ThreadPoolExecutor(max_workers=1) as other:
        theirs = other.submit(other_command).result()

    assert list(theirs) == ["theirs"]
    assert list(answers.take()) == ["mine"]


def test_work_outside_a_command_with_an_answer_holds_no_ticket() -> None:
    answers = order()

    answers.made_available("a")  # a due timer, or a stream giving back what it held

    assert answers.answered_up_to("a", answers.horizon())
    assert answers.take() == {}


def test_a_waiting_hand_out_wakes_when_the_command_is_answered() -> None:
    answers = order()
    answers.begin()
    answers.made_available("a")
    tickets = answers.take()
    horizon = answers.horizon()
    waited: list[bool] = []
    waiting = threading.Event()

    def hand_out() -> None:
        with LOCK:
            waiting.set()
            waited.append(answers.wait_answered("a", horizon, timeout=10))

    waiter = threading.Thread(target=hand_out)
    waiter.start()
    waiting.wait(5)
    answers.answered(tickets)
    waiter.join(timeout=5)

    assert waited == [True]
