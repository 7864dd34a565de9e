"""Models (and the engine states before a command) that the transaction tests run the 8.9 coverage
elements through: a timer start, an inclusive join, an event-based gateway, signal start and throw events,
a link and a message throw event done as a job."""

from __future__ import annotations

from tests.unit.engine.bpmn_builders import (
    end_event,
    flow,
    flows,
    message_catch,
    process,
    service_task,
    signal_catch,
    start_event,
    timer_catch,
)
from tests.unit.engine.flow_builders import (
    event_gateway,
    inclusive_gateway,
    link_catch,
    link_throw,
    message_throw,
    signal_start,
    signal_throw,
    timer_start,
)
from tests.unit.engine.harness import Harness


def timer_started(job_type: str = "tick") -> bytes:
    return process(
        "ticker",
        timer_start("tick", cycle="R/PT1M"),
        service_task("work", job_type),
        end_event(),
        flows("tick", "work", "end"),
    )


def inclusive_waiting(engine: Harness) -> int:
    """An inclusive fork into a and b, a done, so the join waits for b."""
    engine.deploy(
        process(
            "incl",
            start_event(),
            inclusive_gateway("fork"),
            service_task("a", "a"),
            service_task("b", "b"),
            inclusive_gateway("join"),
            link_throw("jump", "L"),
            link_catch("land", "L"),
            message_throw("send", "send"),
            end_event(),
            flow("start", "fork"),
            flow("fork", "a", condition="=true"),
            flow("fork", "b", condition="=true"),
            flow("a", "join"),
            flow("b", "join"),
            flows("join", "jump"),
            flows("land", "send", "end"),
        )
    )
    key = engine.start("incl")
    engine.complete(engine.activate("a")[0])
    return key


def racing(engine: Harness) -> int:
    engine.deploy(
        process(
            "race",
            start_event(),
            event_gateway("which"),
            message_catch("paid", "pay"),
            timer_catch("late", duration="PT1H"),
            signal_catch("stopped", "halt"),
            end_event("e1"),
            end_event("e2"),
            end_event("e3"),
            flow("start", "which"),
            flow("which", "paid"),
            flow("which", "late"),
            flow("which", "stopped"),
            flow("paid", "e1"),
            flow("late", "e2"),
            flow("stopped", "e3"),
            messages={"pay": "=key"},
            signals=["halt"],
        )
    )
    return engine.start("race", {"key": "k1"})


def signal_models(engine: Harness) -> None:
    """A process started by signal "go" that throws "halt" at a waiting instance, and that waiting one."""
    engine.deploy(
        process(
            "started",
            signal_start("go", "go"),
            signal_throw("throw", "halt", inputs={"x": "=s"}),
            service_task("work", "w"),
            end_event(),
            flows("go", "throw", "work", "end"),
            signals=["go", "halt"],
        )
    )
    racing(engine)
