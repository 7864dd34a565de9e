"""Messages as Zeebe correlates them: to open subscriptions, from the buffer while their TTL lasts, at most
once per process instance, with unique ids while they live; receive tasks, message start events and
message boundary events, interrupting and not."""

from __future__ import annotations

import pytest

from tests.unit.engine.bpmn_builders import (
    boundary,
    end_event,
    flow,
    flows,
    message_catch,
    message_start,
    parallel_gateway,
    process,
    receive_task,
    service_task,
    start_event,
)
from tests.unit.engine.harness import Harness
from zeebe_celery.engine.errors import AlreadyExists

CATCH = process(
    "catch",
    start_event(),
    message_catch("wait", "ping"),
    end_event(),
    flows("start", "wait", "end"),
    messages={"ping": "=orderId"},
)


@pytest.fixture
def catch(engine: Harness) -> Harness:
    engine.deploy(CATCH)
    return engine


def test_a_message_correlates_to_the_open_subscription_with_its_key_and_sets_its_variables(catch: Harness) -> None:
    key = catch.start("catch", {"orderId": "o-1"})
    other = catch.start("catch", {"orderId": "o-2"})
    catch.publish("ping", "o-1", variables={"paid": True})
    assert catch.completed(key)
    assert catch.records("VARIABLE", name="paid", scopeKey=key)
    assert catch.active(other) == ["wait"]


def test_a_numeric_correlation_key_matches_its_text(catch: Harness) -> None:
    key = catch.start("catch", {"orderId": 42})
    catch.publish("ping", "42")
    assert catch.completed(key)


def test_a_message_without_ttl_is_not_kept_for_a_later_subscription(catch: Harness) -> None:
    catch.publish("ping", "o-1")
    key = catch.start("catch", {"orderId": "o-1"})
    assert catch.active(key) == ["wait"]


def test_a_buffered_message_correlates_when_the_subscription_opens_within_its_ttl(catch: Harness) -> None:
    catch.publish("ping", "o-1", ttl=60_000, variables={"early": 1})
    catch.advance(59_999)
    key = catch.start("catch", {"orderId": "o-1"})
    assert catch.completed(key)
    assert catch.records("VARIABLE", name="early", scopeKey=key)


def test_a_buffered_message_expires_after_its_ttl(catch: Harness) -> None:
    message_key = catch.publish("ping", "o-1", ttl=60_000)
    catch.advance(60_000)
    key = catch.start("catch", {"orderId": "o-1"})
    assert catch.active(key) == ["wait"]
    assert catch.records("MESSAGE", "EXPIRED")[0]["key"] == message_key


def test_a_message_id_is_unique_while_its_message_lives(catch: Harness) -> None:
    catch.publish("ping", "o-1", ttl=10_000, message_id="m-1")
    with pytest.raises(AlreadyExists):
        catch.publish("ping", "o-2", ttl=10_000, message_id="m-1")
    catch.publish("pong", "o-1", ttl=10_000, message_id="m-1")  # another name is another message
    catch.advance(10_000)
    catch.publish("ping", "o-1", ttl=10_000, message_id="m-1")


def test_one_buffered_message_correlates_to_one_instance_once_but_to_each_instance(engine: Harness) -> None:
    engine.deploy(
        process(
            "twice",
            start_event(),
            message_catch("first", "ping"),
            message_catch("second", "ping"),
            end_event(),
            flows("start", "first", "second", "end"),
            messages={"ping": "=id"},
        )
    )
    engine.publish("ping", "k", ttl=60_000)
    a = engine.start("twice", {"id": "k"})
    b = engine.start("twice", {"id": "k"})
    assert engine.active(a) == ["second"]
    assert engine.active(b) == ["second"]
    engine.publish("ping", "k")
    assert engine.completed(a)
    assert engine.completed(b)


def test_a_message_correlates_to_only_one_of_two_subscriptions_of_one_instance(engine: Harness) -> None:
    engine.deploy(
        process(
            "fork",
            start_event(),
            parallel_gateway("split"),
            message_catch("left", "ping"),
            message_catch("right", "ping"),
            end_event("end-left"),
            end_event("end-right"),
            flows("start", "split"),
            flow("split", "left"),
            flow("split", "right"),
            flow("left", "end-left"),
            flow("right", "end-right"),
            messages={"ping": "=id"},
        )
    )
    key = engine.start("fork", {"id": "k"})
    engine.publish("ping", "k")
    assert len(engine.active(key)) == 1
    engine.publish("ping", "k")
    assert engine.completed(key)


def test_a_message_of_another_tenant_does_not_correlate(engine: Harness) -> None:
    engine.deploy(CATCH, tenant_id="acme")
    key = engine.start("catch", {"orderId": "o-1"}, tenant_id="acme")
    engine.publish("ping", "o-1", tenant_id="<default>")
    assert engine.active(key) == ["wait"]
    engine.publish("ping", "o-1", tenant_id="acme")
    assert engine.completed(key)


def test_a_receive_task_waits_for_its_message(engine: Harness) -> None:
    engine.deploy(
        process(
            "recv",
            start_event(),
            receive_task("inbox", "letter"),
            end_event(),
            flows("start", "inbox", "end"),
            messages={"letter": "=to"},
        )
    )
    key = engine.start("recv", {"to": "bob"})
    assert engine.active(key) == ["inbox"]
    engine.publish("letter", "bob")
    assert engine.completed(key)


def test_a_message_start_event_creates_an_instance_with_the_message_variables(engine: Harness) -> None:
    engine.deploy(
        process(
            "by-message",
            message_start("start", "order-placed"),
            service_task("task", "work"),
            end_event(),
            flows("start", "task", "end"),
            messages={"order-placed": ""},
        )
    )
    engine.publish("order-placed", variables={"total": 12})
    engine.publish("order-placed", variables={"total": 13})
    totals = sorted(j.instance.root().variables["total"] for j in engine.activate("work"))
    assert totals == [12, 13]


def _task_with_message_boundary(*, interrupting: bool) -> bytes:
    return process(
        "guarded",
        start_event(),
        service_task("task", "work"),
        boundary("cancelled", "task", message="cancel", interrupting=interrupting),
        service_task("notify", "notify"),
        end_event(),
        end_event("after-cancel"),
        flows("start", "task", "end"),
        flows("cancelled", "notify", "after-cancel"),
        messages={"cancel": "=orderId"},
    )


def test_an_interrupting_message_boundary_event_ends_the_task_and_takes_its_own_path(engine: Harness) -> None:
    engine.deploy(_task_with_message_boundary(interrupting=True))
    key = engine.start("guarded", {"orderId": "o"})
    job = engine.one_job("work")
    engine.publish("cancel", "o")
    assert engine.active(key) == ["notify"]
    assert engine.records("JOB", "CANCELED", elementId="task")
    assert job.key not in engine.runtime.jobs
    engine.complete(engine.one_job("notify"))
    assert engine.completed(key)


def test_a_non_interrupting_message_boundary_event_leaves_the_task_running_and_fires_again(engine: Harness) -> None:
    engine.deploy(_task_with_message_boundary(interrupting=False))
    key = engine.start("guarded", {"orderId": "o"})
    job = engine.one_job("work")
    engine.publish("cancel", "o")
    engine.publish("cancel", "o")
    assert engine.active(key) == ["notify", "notify", "task"]
    for notify in engine.activate("notify"):
        engine.complete(notify)
    engine.complete(job)
    assert engine.completed(key)
