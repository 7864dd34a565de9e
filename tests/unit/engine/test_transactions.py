"""Every command is a transaction: a command whose processing raises leaves memory and disk exactly as they
were, is rejected as INTERNAL, and the engine goes on serving; what Zeebe makes an incident stays one."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.engine import flow_models, snapshots
from tests.unit.engine.bpmn_builders import (
    ad_hoc_sub_process,
    boundary,
    call_activity,
    end_event,
    escalation_throw,
    event_start,
    event_sub_process,
    flow,
    flows,
    listeners,
    message_catch,
    multi_instance,
    native_user_task,
    parallel_gateway,
    process,
    script_task,
    service_task,
    start_event,
    sub_process,
    timer_catch,
)
from tests.unit.engine.harness import Harness
from tests.unit.engine.test_runtime_compensation import compensate, undoable
from tests.unit.engine.test_runtime_conditionals import conditional_boundary, conditional_catch, conditional_start
from tests.unit.engine.test_runtime_event_sub_processes import handler_sub_process
from tests.unit.engine.test_store import Restartable
from zeebe_celery.engine import core
from zeebe_celery.engine.errors import InternalError
from zeebe_celery.engine.model import Expr
from zeebe_celery.engine.state import JobResult
from zeebe_celery.engine.transaction import Transaction


class Injected(RuntimeError):
    """The failure a test injects into a command's processing."""


class _Exploding(Transaction):
    """A transaction that raises at its ``countdown``-th change (0: never), counting the changes made."""

    countdown = 0
    changes = 0

    def _tick(self) -> None:
        cls = type(self)
        cls.changes += 1
        if cls.changes == cls.countdown:
            raise Injected(f"injected at change {cls.changes}")

    def set(self, obj: Any, name: str, value: Any) -> None:
        self._tick()
        super().set(obj, name, value)

    def put(self, mapping: Any, key: Any, value: Any) -> None:
        self._tick()
        super().put(mapping, key, value)

    def pop(self, mapping: Any, key: Any) -> Any:
        self._tick()
        return super().pop(mapping, key)

    def add(self, members: Any, item: Any) -> None:
        self._tick()
        super().add(members, item)

    def discard(self, members: Any, item: Any) -> None:
        self._tick()
        super().discard(members, item)

    def append(self, items: Any, item: Any) -> None:
        self._tick()
        super().append(items, item)

    def remove(self, items: Any, item: Any) -> None:
        self._tick()
        super().remove(items, item)


@contextlib.contextmanager
def failing_at(monkeypatch: pytest.MonkeyPatch, change: int) -> Iterator[type[_Exploding]]:
    """Commands run in the block raise at their ``change``-th change of state (0: they only count)."""
    counter = type("Exploding", (_Exploding,), {"countdown": change, "changes": 0})
    with monkeypatch.context() as patch:
        patch.setattr(core, "Transaction", counter)
        yield counter


def model() -> bytes:
    """Something of everything: a fork into a job with boundary events, a message wait, a script, a timer
    and a sub-process, joined again."""
    return process(
        "p",
        start_event(),
        parallel_gateway("fork"),
        service_task("work", "w", outputs={"done": "=true"}),
        boundary("late", "work", duration="PT1M", interrupting=False),
        boundary("cancel", "work", message="stop"),
        boundary("oops", "work", error="E"),
        message_catch("wait", "go"),
        script_task("calc", "=a + 1", "b"),
        timer_catch("nap", duration="PT10S"),
        sub_process(
            "sub",
            start_event("s-start"),
            service_task("inner", "i"),
            end_event("s-end"),
            flows("s-start", "inner", "s-end"),
        ),
        parallel_gateway("join"),
        end_event(),
        service_task("after-late", "late-work"),
        end_event("cancelled"),
        end_event("caught"),
        end_event("late-end"),
        flow("start", "fork"),
        *(flow("fork", target) for target in ("work", "wait", "calc", "nap", "sub")),
        *(flow(source, "join") for source in ("work", "wait", "calc", "nap", "sub")),
        flow("join", "end"),
        flow("late", "after-late"),
        flow("after-late", "late-end"),
        flow("cancel", "cancelled"),
        flow("oops", "caught"),
        messages={"go": "=key", "stop": "=key"},
        errors=["E"],
    )


def _started(engine: Harness) -> int:
    engine.deploy(model())
    return engine.start("p", {"a": 1, "key": "k1"})


def _with_work_activated(engine: Harness) -> int:
    key = _started(engine)
    engine.one_job("w")
    return key


def _with_incident(engine: Harness) -> int:
    key = _started(engine)
    engine.fail(engine.one_job("w"), retries=0, message="boom")
    return key


def user_task_model() -> bytes:
    """A native user task with a listener of each kind the engine runs, next to a job worker task."""
    return process(
        "u",
        start_event(),
        parallel_gateway("fork"),
        native_user_task(
            "review",
            assignee="=owner",
            candidate_groups="g",
            listeners=[
                ("creating", "on-create"),
                ("assigning", "on-assign"),
                ("updating", "on-update"),
                ("completing", "on-complete"),
                ("completing", "on-complete-2"),
            ],
            outputs={"verdict": "=ok"},
        ),
        service_task("side", "side"),
        parallel_gateway("join"),
        end_event(),
        flow("start", "fork"),
        flow("fork", "review"),
        flow("fork", "side"),
        flow("review", "join"),
        flow("side", "join"),
        flow("join", "end"),
    )


def _user_task_created(engine: Harness) -> int:
    engine.deploy(user_task_model())
    engine.start("u", {"owner": "ann"})
    engine.complete(_job(engine, "on-create"))
    engine.complete(_job(engine, "on-assign"))
    return _task(engine)


def _completing(engine: Harness) -> int:
    key = _user_task_created(engine)
    engine.runtime.complete_user_task(key, {"ok": True})
    return key


def _task(engine: Harness) -> int:
    return next(iter(engine.runtime.user_tasks))


def conditional_model() -> bytes:
    """A conditional catch event next to a task with interrupting and non-interrupting conditional boundary
    events, and a conditional start event."""
    return process(
        "c",
        start_event(),
        conditional_start("cond-start", "=go = true"),
        parallel_gateway("fork"),
        conditional_catch("until", "=x > 10"),
        service_task("cw", "cw"),
        conditional_boundary("again", "cw", "=x > 15", interrupting=False),
        conditional_boundary("stop", "cw", "=x > 18"),
        end_event(),
        end_event("e2"),
        end_event("e3"),
        end_event("e4"),
        end_event("e5"),
        flow("start", "fork"),
        flow("cond-start", "e5"),
        flow("fork", "until"),
        flow("fork", "cw"),
        flow("until", "end"),
        flow("cw", "e2"),
        flow("again", "e3"),
        flow("stop", "e4"),
        event_sub_process(
            "on-flag",
            conditional_start("flagged", "=flag = true", interrupting=False),
            end_event("flag-end"),
            flow("flagged", "flag-end"),
        ),
    )


def _conditions_waiting(engine: Harness) -> None:
    engine.deploy(conditional_model())
    engine.start("c", {"x": 1})
    engine.activate("cw")


def _multi(engine: Harness) -> int:
    task = multi_instance(
        service_task("each", "each"),
        "=items",
        element="item",
        output="out",
        output_element="=item",
        completion="=numberOfCompletedInstances >= 2",
    )
    call = call_activity("call", "p")
    engine.deploy(model(), name="child.bpmn")
    engine.deploy(
        process("mi", start_event(), task, call, end_event(), flows("start", "each", "call", "end")), name="mi.bpmn"
    )
    key = engine.start("mi", {"items": [1, 2, 3], "a": 1, "key": "k"})
    engine.complete(_job(engine, "each"))
    return key


def _event_sub_process_deployed(engine: Harness) -> None:
    handler = handler_sub_process(event_start("h-start", message="halt"))
    inner = sub_process(
        "sub",
        start_event("s"),
        escalation_throw("up", "UP"),
        service_task("w", "w2"),
        end_event("e"),
        flows("s", "up", "w", "e"),
    )
    engine.deploy(
        process(
            "esp",
            start_event(),
            inner,
            boundary("seen", "sub", escalation="UP", interrupting=False),
            service_task("t", "t"),
            end_event(),
            end_event("seen-end"),
            flows("start", "sub", "t", "end"),
            flow("seen", "seen-end"),
            handler,
            messages={"halt": "=key"},
            escalations=["UP"],
        ),
        name="esp.bpmn",
    )


def _event_sub_process(engine: Harness) -> int:
    _event_sub_process_deployed(engine)
    return engine.start("esp", {"key": "k"})


def _listening(engine: Harness) -> int:
    task = listeners(service_task("work", "w", outputs={"o": "=1"}), ("start", "l1"), ("end", "l2"))
    engine.deploy(process("lp", start_event(), task, end_event(), flows("start", "work", "end")), name="lp.bpmn")
    key = engine.start("lp")
    engine.complete(_job(engine, "l1"), {"v": 1})
    return key


def _ad_hoc(engine: Harness) -> int:
    tools = ad_hoc_sub_process(
        "tools",
        service_task("a", "a"),
        service_task("b", "b"),
        active='=["a", "b"]',
        completion="=true",
        output="out",
        output_element="=1",
    )
    engine.deploy(process("ah", start_event(), tools, end_event(), flows("start", "tools", "end")), name="ah.bpmn")
    return engine.start("ah")


def _compensable(engine: Harness) -> int:
    engine.deploy(
        process(
            "cp",
            start_event(),
            undoable("book", "book"),
            compensate("undo"),
            end_event(),
            flows("start", "book", "undo", "end"),
        ),
        name="cp.bpmn",
    )
    return engine.start("cp")


def _compensable_inside(engine: Harness) -> int:
    inner = sub_process("sub", start_event("s"), undoable("book", "book"), end_event("e"), flows("s", "book", "e"))
    engine.deploy(
        process("cpi", start_event(), inner, compensate("undo"), end_event(), flows("start", "sub", "undo", "end")),
        name="cpi.bpmn",
    )
    return engine.start("cpi")


# (name, prefix, command): the command runs with a failure injected at each of its changes in turn.
COMMANDS: list[tuple[str, Callable[[Harness], Any], Callable[[Harness], Any]]] = [
    ("deploy", lambda e: None, lambda e: e.deploy(model())),
    ("create", lambda e: e.deploy(model()), lambda e: e.start("p", {"a": 1, "key": "k1"})),
    ("activate", _started, lambda e: e.activate("w")),
    ("complete", _with_work_activated, lambda e: e.complete(_job(e, "w"), {"x": 1})),
    ("fail to an incident", _with_work_activated, lambda e: e.fail(_job(e, "w"), retries=0, message="no")),
    ("fail with back-off", _with_work_activated, lambda e: e.fail(_job(e, "w"), retries=2, backoff=1000)),
    ("throw a caught error", _with_work_activated, lambda e: e.throw(_job(e, "w"), "E", "caught")),
    ("throw an uncaught error", _with_work_activated, lambda e: e.throw(_job(e, "w"), "X", "uncaught")),
    ("publish", _started, lambda e: e.publish("go", "k1", variables={"m": 1})),
    ("publish to a boundary", _started, lambda e: e.publish("stop", "k1", ttl=10_000)),
    ("fire a timer", _started, lambda e: e.advance(10_000)),
    ("cancel", _started, lambda e: e.runtime.cancel_instance(_root(e))),
    ("set variables", _started, lambda e: e.runtime.set_variables(_root(e), {"v": [1, 2]}, local=False)),
    ("resolve", _with_incident, lambda e: e.resolve(next(iter(e.runtime.incidents)))),
    ("retry an incident", _with_incident, lambda e: e.runtime.retry_incident(next(iter(e.runtime.incidents)), 2)),
    ("update retries", _started, lambda e: e.runtime.update_job_retries(_job(e, "w"), 5)),
    ("update a job", _with_work_activated, lambda e: e.runtime.update_job(_job(e, "w"), retries=5, timeout=9_000)),
    (
        "correlate",
        _started,
        lambda e: e.runtime.correlate_message("go", correlation_key="k1", variables={"m": 1}, tenant_id="<default>"),
    ),
    ("complete into a completion condition and a call", _multi, lambda e: e.complete(_job(e, "each"))),
    (
        "cancel a caller",
        lambda e: (_multi(e), e.complete(_job(e, "each"))),
        lambda e: e.runtime.cancel_instance(
            next(k for k, i in e.runtime.instances.items() if i.parent is None and i.caller is None)
        ),
    ),
    ("interrupt into an event sub-process", _event_sub_process, lambda e: e.publish("halt", "k")),
    ("create into an escalation", _event_sub_process_deployed, lambda e: e.start("esp", {"key": "k"})),
    ("complete into an end listener", _listening, lambda e: e.complete(_job(e, "w"), {"r": 2})),
    ("complete an ad-hoc activation", _ad_hoc, lambda e: e.complete(_job(e, "a"), {"r": 1})),
    ("complete into a compensation", _compensable, lambda e: e.complete(_job(e, "book"))),
    (
        "complete out of a sub-process into a compensation from outside it",
        _compensable_inside,
        lambda e: e.complete(_job(e, "book")),
    ),
    ("modify", _started, lambda e: e.runtime.modify_instance(_root(e), activate=[], terminate=[_child(e, "nap")])),
    ("create with a user task", lambda e: e.deploy(user_task_model()), lambda e: e.start("u", {"owner": "ann"})),
    (
        "complete a creating listener",
        lambda e: (e.deploy(user_task_model()), e.start("u", {"owner": "ann"})),
        lambda e: e.complete(_job(e, "on-create")),
    ),
    ("complete a user task", _user_task_created, lambda e: e.runtime.complete_user_task(_task(e), {"ok": True})),
    ("assign a user task", _user_task_created, lambda e: e.runtime.assign_user_task(_task(e), "bob")),
    ("update a user task", _user_task_created, lambda e: e.runtime.update_user_task(_task(e), {"priority": 7})),
    (
        "correct by a listener",
        _completing,
        lambda e: e.complete_with(_job(e, "on-complete"), JobResult(corrections={"assignee": "c", "priority": 1})),
    ),
    (
        "deny by a listener",
        _completing,
        lambda e: e.complete_with(_job(e, "on-complete"), JobResult(denied=True, denied_reason="no")),
    ),
    (
        "finish a completion",
        lambda e: (_completing(e), e.complete(_job(e, "on-complete"))),
        lambda e: e.complete(_job(e, "on-complete-2")),
    ),
    ("cancel with a user task", _completing, lambda e: e.runtime.cancel_instance(_root(e))),
    (
        "set variables on a user task",
        _user_task_created,
        lambda e: e.runtime.set_variables(e.runtime.user_tasks[_task(e)].instance.key, {"v": 1}, local=True),
    ),
    ("start with conditions", lambda e: e.deploy(conditional_model()), lambda e: e.start("c", {"x": 1})),
    (
        "set variables that trigger conditions",
        _conditions_waiting,
        lambda e: e.runtime.set_variables(_root(e), {"x": 20, "flag": True}, local=False),
    ),
    ("complete a job that triggers conditions", _conditions_waiting, lambda e: e.complete(_job(e, "cw"), {"x": 20})),
    (
        "evaluate conditional start events",
        lambda e: e.deploy(conditional_model()),
        lambda e: e.runtime.evaluate_conditional({"x": 20, "go": True}),
    ),
    # The 8.9 coverage elements: a timer start firing, an inclusive join, an event-based gateway, signals.
    (
        "deploy a timer start",
        lambda e: e.deploy(flow_models.timer_started()),
        lambda e: e.deploy(flow_models.timer_started("v2")),
    ),
    ("fire a timer start", lambda e: e.deploy(flow_models.timer_started()), lambda e: e.advance(60_000)),
    ("join inclusively", flow_models.inclusive_waiting, lambda e: e.complete(_job(e, "b"))),
    ("win an event-based gateway", flow_models.racing, lambda e: e.publish("pay", "k1", variables={"m": 1})),
    ("broadcast to a signal start", flow_models.signal_models, lambda e: e.signal("go", {"s": 1})),
]


def _job(engine: Harness, job_type: str) -> int:
    """The oldest job of that type (by key: a rollback may reorder the jobs dict, never the keys)."""
    return min(k for k, j in engine.runtime.jobs.items() if j.type == job_type)


def _root(engine: Harness) -> int:
    return min(k for k, i in engine.runtime.instances.items() if i.parent is None)


@pytest.mark.parametrize(("name", "prefix", "command"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_failure_at_any_change_of_a_command_leaves_memory_and_disk_as_they_were(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    prefix: Callable[[Harness], Any],
    command: Callable[[Harness], Any],
) -> None:
    # A clean run first: how many changes the command makes, and what it leaves.
    reference = Restartable(tmp_path / "reference")
    prefix(reference)
    with failing_at(monkeypatch, 0) as counter:
        command(reference)
    total = counter.changes
    assert total > 0, f"{name} changed nothing"
    expected = snapshots.memory(reference.runtime)

    for change in range(1, total + 1):
        engine = Restartable(tmp_path / str(change))
        prefix(engine)
        memory, disk = snapshots.memory(engine.runtime), snapshots.disk(engine.data_dir)
        if name.startswith("fire"):
            # A due item is its own command: it is rolled back, logged and tried again later.
            with failing_at(monkeypatch, change):
                command(engine)
        else:
            with failing_at(monkeypatch, change), pytest.raises(InternalError, match="injected"):
                command(engine)
        assert snapshots.memory(engine.runtime) == memory, f"{name}: memory changed by a failure at {change}"
        assert snapshots.disk(engine.data_dir) == disk, f"{name}: disk changed by a failure at {change}"
        if not name.startswith("fire"):
            # The engine goes on: the same command now succeeds, exactly as it would have.
            command(engine)
            assert snapshots.memory(engine.runtime) == expected
        engine.store.close()
    reference.store.close()


def test_a_failed_due_timer_changes_nothing_and_fires_when_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Restartable(tmp_path)
    engine.deploy(
        process("t", start_event(), timer_catch("nap", duration="PT10S"), end_event(), flows("start", "nap", "end"))
    )
    key = engine.start("t")
    before = snapshots.memory(engine.runtime), snapshots.disk(tmp_path)
    with failing_at(monkeypatch, 3):
        engine.advance(10_000)
    assert (snapshots.memory(engine.runtime), snapshots.disk(tmp_path)) == before
    assert engine.is_running(key)

    engine.advance(5_000)  # tried again
    assert not engine.is_running(key)
    assert engine.completed(key)


def test_a_fork_into_a_failing_script_changes_nothing_and_the_next_instance_gets_only_its_own_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reported case: a parallel fork into a script whose evaluation raises (a bug, not a FEEL error)
    answered an error but kept the instance, and the next command created its job."""
    engine = Restartable(tmp_path)
    engine.deploy(
        process(
            "fork",
            start_event(),
            parallel_gateway("split"),
            script_task("calc", "=exp(x)", "y"),
            service_task("work", "forked"),
            end_event("a"),
            end_event("b"),
            flows("start", "split"),
            flow("split", "calc"),
            flow("split", "work"),
            flow("calc", "a"),
            flow("work", "b"),
        ),
        process(
            "other",
            start_event(),
            service_task("t", "other"),
            end_event(),
            flows("start", "t", "end"),
        ),
    )
    before = snapshots.memory(engine.runtime), snapshots.disk(tmp_path)

    def broken(self: Expr, variables: Any) -> Any:
        raise ArithmeticError("a bug in the expression's evaluation")

    with monkeypatch.context() as patch:
        patch.setattr(Expr, "evaluate", broken)
        with pytest.raises(InternalError, match="ArithmeticError"):
            engine.start("fork", {"x": 100_000})
    assert (snapshots.memory(engine.runtime), snapshots.disk(tmp_path)) == before

    other = engine.start("other")
    assert [j.type for j in engine.runtime.jobs.values()] == ["other"]
    assert engine.runtime.jobs[_job(engine, "other")].instance.process_instance_key == other
    assert not engine.activate("forked")


def test_a_script_result_no_variable_can_hold_is_an_incident_and_later_commands_still_commit(
    tmp_path: Path,
) -> None:
    engine = Restartable(tmp_path)
    engine.deploy(
        process(
            "big",
            start_event(),
            script_task("calc", '=number("1e5000")', "y"),
            end_event(),
            flows("start", "calc", "end"),
        )
    )
    engine.deploy(
        process("small", start_event(), service_task("t", "small"), end_event(), flows("start", "t", "end")),
        name="small.bpmn",
    )
    key = engine.start("big")
    (incident,) = engine.runtime.incidents.values()
    assert incident.error_type == "EXTRACT_VALUE_ERROR"
    assert "out of range" in incident.error_message

    small = engine.start("small")
    engine.complete(engine.one_job("small"))
    assert engine.completed(small)
    restarted = engine.restart()
    assert key in restarted.runtime.instances
    assert len(restarted.runtime.incidents) == 1
    assert small not in restarted.runtime.instances


def test_a_store_that_fails_to_write_leaves_memory_and_disk_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Restartable(tmp_path)
    engine.deploy(model())
    before = snapshots.memory(engine.runtime), snapshots.disk(tmp_path)

    def full(*args: Any) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(engine.store, "_write_definitions", full)
        with pytest.raises(InternalError, match="disk full"):
            engine.deploy(model(), name="again.bpmn")
    assert (snapshots.memory(engine.runtime), snapshots.disk(tmp_path)) == before
    engine.start("p", {"a": 1, "key": "k"})
    assert engine.restart().runtime.instances


def _child(engine: Harness, element_id: str) -> int:
    return min(k for k, i in engine.runtime.instances.items() if i.element.id == element_id)
