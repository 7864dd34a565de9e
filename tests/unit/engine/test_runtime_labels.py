"""What a process instance is created with besides variables (8.8-8.9): tags, a business id and runtime
instructions; and 8.9's modifications: terminate by element id and move instructions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.engine.bpmn_builders import end_event, flows, process, service_task, start_event, sub_process
from tests.unit.engine.harness import Harness
from tests.unit.engine.test_store import Restartable
from zeebe_celery.engine.errors import AlreadyExists, InvalidArgument
from zeebe_celery.engine.runtime import MoveInstruction


def two_tasks() -> bytes:
    return process(
        "p", start_event(), service_task("a", "a"), service_task("b", "b"), end_event(), flows("start", "a", "b", "end")
    )


def create(engine: Harness, **labels: object) -> int:
    with engine.runtime.lock:
        definition = engine.runtime.find_definition(process_id="p")
        return engine.runtime.create_instance(definition, {}, **labels).key  # type: ignore[arg-type]


def test_tags_are_on_the_instance_its_records_and_its_jobs() -> None:
    engine = Harness()
    engine.deploy(two_tasks())
    key = create(engine, tags=["b-tag", "a-tag", "b-tag"])
    assert engine.instance(key).tags == ("b-tag", "a-tag")
    assert engine.records("PROCESS_INSTANCE", "ELEMENT_ACTIVATED", elementId="p")[0]["value"]["tags"] == [
        "b-tag",
        "a-tag",
    ]
    assert engine.records("JOB", "CREATED")[0]["value"]["tags"] == ["b-tag", "a-tag"]


def test_a_business_id_is_free_again_once_its_instance_ends_and_other_processes_may_use_it() -> None:
    engine = Harness()
    engine.deploy(two_tasks(), process("q", start_event(), end_event(), flows("start", "end")))
    create(engine, business_id="b1")
    with pytest.raises(AlreadyExists, match="business id 'b1'"):
        create(engine, business_id="b1")
    with engine.runtime.lock:
        engine.runtime.create_instance(engine.runtime.find_definition(process_id="q"), {}, business_id="b1")
    engine.complete(engine.one_job("a"))
    engine.complete(engine.one_job("b"))
    assert create(engine, business_id="b1") > 0


def test_labels_survive_a_restart(tmp_path: Path) -> None:
    engine = Restartable(tmp_path)
    engine.deploy(two_tasks())
    key = create(engine, tags=["t"], business_id="b", terminate_after=["a"])
    engine = engine.restart()
    root = engine.instance(key)
    assert (root.tags, root.business_id, root.terminate_after) == (("t",), "b", ("a",))
    with pytest.raises(AlreadyExists):
        create(engine, business_id="b")
    engine.complete(engine.one_job("a"))
    assert not engine.is_running(key)
    assert engine.activate("b") == []
    engine.store.close()


def test_terminate_after_an_element_ends_the_instance_without_taking_its_flow() -> None:
    engine = Harness()
    engine.deploy(two_tasks())
    key = create(engine, terminate_after=["a"])
    engine.complete(engine.one_job("a"))
    assert engine.records("PROCESS_INSTANCE", "ELEMENT_TERMINATED", elementId="p", processInstanceKey=key)
    assert engine.records("PROCESS_INSTANCE", "ELEMENT_ACTIVATING", elementId="b") == []
    with pytest.raises(InvalidArgument, match="runtime instructions"):
        create(engine, terminate_after=["nope"])


def nested() -> bytes:
    return process(
        "n",
        start_event(),
        sub_process(
            "sub",
            start_event("s"),
            service_task("x", "x"),
            service_task("y", "y"),
            end_event("e"),
            flows("s", "x", "y", "e"),
        ),
        end_event(),
        flows("start", "sub", "end"),
    )


@pytest.mark.parametrize("how", ["existing scope", "inferred", "source parent"])
def test_a_move_in_a_sub_process_keeps_the_sub_process_instance(how: str) -> None:
    engine = Harness()
    engine.deploy(nested())
    key = engine.start("n")
    sub = engine.element_instance(key, "sub")
    move = MoveInstruction(
        target_element_id="y",
        source_element_id="x",
        infer_ancestor=how == "inferred",
        source_parent=how == "source parent",
        variables=[("sub", {"m": 1})],
    )
    with engine.runtime.lock:
        engine.runtime.modify_instance(key, activate=[], terminate=[], move=[move])
    assert engine.element_instance(key, "sub") is sub
    assert engine.element_instance(key, "y").parent is sub
    assert sub.variables == {"m": 1}
    assert engine.activate("x") == []


def test_terminate_by_element_id_ends_every_active_instance_of_it() -> None:
    engine = Harness()
    engine.deploy(nested())
    key = engine.start("n")
    with engine.runtime.lock:
        engine.runtime.modify_instance(key, activate=[], terminate=[], terminate_elements=["x"])
    assert not engine.is_running(key)
    with engine.runtime.lock, pytest.raises(InvalidArgument, match="could not be found"):
        engine.runtime.modify_instance(engine.start("n"), activate=[], terminate=[], terminate_elements=["zz"])
