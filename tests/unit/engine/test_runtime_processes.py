"""Deployments, versions and tenants; creating, cancelling, modifying and migrating instances; deleting
resources."""

from __future__ import annotations

import pytest

from tests.unit.engine.bpmn_builders import (
    end_event,
    flows,
    message_catch,
    message_start,
    process,
    service_task,
    start_event,
)
from tests.unit.engine.harness import Harness
from zeebe_celery.engine.errors import FailedPrecondition, InvalidArgument, NotFound
from zeebe_celery.engine.runtime import ActivateInstruction


def _one(job_type: str = "work", process_id: str = "one") -> bytes:
    return process(
        process_id, start_event(), service_task("task", job_type), end_event(), flows("start", "task", "end")
    )


def _two() -> bytes:
    return process(
        "two",
        start_event(),
        service_task("a", "a"),
        service_task("b", "b"),
        end_event(),
        flows("start", "a", "b", "end"),
    )


def test_a_changed_resource_is_a_new_version_and_the_same_one_is_not(engine: Harness) -> None:
    [v1] = engine.deploy(_one("work"))
    [same] = engine.deploy(_one("work"))
    [v2] = engine.deploy(_one("other"))
    assert (v1.version, same.version, v2.version) == (1, 1, 2)
    assert same.key == v1.key
    with engine.runtime.lock:
        assert engine.runtime.find_definition(process_id="one").key == v2.key
        assert engine.runtime.find_definition(process_id="one", version=1).key == v1.key
        with pytest.raises(NotFound):
            engine.runtime.find_definition(process_id="one", version=3)
        with pytest.raises(NotFound):
            engine.runtime.find_definition(process_id="missing")


def test_a_deployment_with_one_bad_resource_deploys_none_of_them(engine: Harness) -> None:
    with pytest.raises(InvalidArgument):
        engine.deploy(_one(process_id="good"), b"<not-bpmn/>")
    assert engine.runtime.definitions == {}


def test_the_default_tenant_is_named_default(engine: Harness) -> None:
    [definition] = engine.deploy(_one())
    key = engine.start("one")
    assert definition.tenant_id == "<default>"
    assert engine.one_job("work").tenant_id == "<default>"
    assert engine.instance(key).tenant_id == "<default>"


def test_tenants_keep_their_own_processes_and_jobs(engine: Harness) -> None:
    [acme] = engine.deploy(_one(), tenant_id="acme")
    [globex] = engine.deploy(_one(), tenant_id="globex")
    assert acme.key != globex.key
    assert acme.version == globex.version == 1
    with pytest.raises(NotFound):
        engine.start("one")
    engine.start("one", tenant_id="acme")
    engine.start("one", tenant_id="globex")
    assert [j.tenant_id for j in engine.activate("work", tenant_ids=["globex"])] == ["globex"]
    assert [j.tenant_id for j in engine.activate("work", tenant_ids=["acme"])] == ["acme"]


def test_creating_an_instance_of_another_tenants_definition_by_key_is_not_found(engine: Harness) -> None:
    [acme] = engine.deploy(_one(), tenant_id="acme")
    with engine.runtime.lock, pytest.raises(NotFound):
        engine.runtime.find_definition(key=acme.key, tenant_id="globex")


def test_a_process_that_starts_only_by_message_cannot_be_created_with_a_none_start(engine: Harness) -> None:
    [definition] = engine.deploy(
        process("msg", message_start("start", "go"), end_event(), flows("start", "end"), messages={"go": ""})
    )
    with engine.runtime.lock, pytest.raises(FailedPrecondition):
        engine.runtime.create_instance(definition, {})


def test_modify_activates_an_element_and_terminates_another(engine: Harness) -> None:
    engine.deploy(_two())
    key = engine.start("two")
    a = engine.element_instance(key, "a")
    with engine.runtime.lock:
        engine.runtime.modify_instance(
            key, activate=[ActivateInstruction("b", variables=[("", {"jumped": True})])], terminate=[a.key]
        )
    assert engine.active(key) == ["b"]
    assert engine.instance(key).variables["jumped"] is True
    engine.complete(engine.one_job("b"))
    assert engine.completed(key)


def test_modify_refuses_an_unknown_element_or_element_instance(engine: Harness) -> None:
    engine.deploy(_two())
    key = engine.start("two")
    with engine.runtime.lock:
        with pytest.raises(InvalidArgument, match="nope"):
            engine.runtime.modify_instance(key, activate=[ActivateInstruction("nope")], terminate=[])
        with pytest.raises(InvalidArgument):
            engine.runtime.modify_instance(key, activate=[], terminate=[12345])
    assert engine.active(key) == ["a"]


def test_migrate_moves_a_waiting_task_to_the_mapped_element_of_the_target_version(engine: Harness) -> None:
    [v1] = engine.deploy(_one("work"))
    [v2] = engine.deploy(
        process(
            "one",
            start_event(),
            service_task("task2", "work"),
            service_task("extra", "extra"),
            end_event(),
            flows("start", "task2", "extra", "end"),
        )
    )
    key = _start_version(engine, v1.key)
    with engine.runtime.lock:
        engine.runtime.migrate_instance(key, target_key=v2.key, mappings=[("task", "task2")])
    assert engine.active(key) == ["task2"]
    assert (v1.running, v2.running) == (0, 1)
    engine.complete(engine.one_job("work"))
    engine.complete(engine.one_job("extra"))
    assert engine.completed(key)


def test_a_migrated_message_catch_event_continues_on_the_target_versions_flow(engine: Harness) -> None:
    def waiting(suffix: str) -> bytes:
        return process(
            "wait",
            start_event(),
            message_catch("catch" + suffix, "ping"),
            service_task("after" + suffix, "after" + suffix),
            end_event(),
            flows("start", "catch" + suffix, "after" + suffix, "end"),
            messages={"ping": "=k"},
        )

    [v1] = engine.deploy(waiting("1"))
    [v2] = engine.deploy(waiting("2"))
    key = _start_version(engine, v1.key, {"k": "x"})
    with engine.runtime.lock:
        engine.runtime.migrate_instance(key, target_key=v2.key, mappings=[("catch1", "catch2")])
    engine.publish("ping", "x")
    assert engine.active(key) == ["after2"]


def test_migrate_refuses_an_active_element_without_a_mapping(engine: Harness) -> None:
    [v1] = engine.deploy(_one("work"))
    [v2] = engine.deploy(_one("changed"))
    key = _start_version(engine, v1.key)
    with engine.runtime.lock, pytest.raises(InvalidArgument, match="'task'"):
        engine.runtime.migrate_instance(key, target_key=v2.key, mappings=[])
    assert engine.instance(key).definition is v1


def test_a_process_with_running_instances_cannot_be_deleted_and_one_without_can(engine: Harness) -> None:
    [definition] = engine.deploy(_one())
    key = engine.start("one")
    with engine.runtime.lock, pytest.raises(FailedPrecondition):
        engine.runtime.delete_resource(definition.key)
    engine.complete(engine.one_job("work"))
    assert engine.completed(key)
    with engine.runtime.lock:
        engine.runtime.delete_resource(definition.key)
        with pytest.raises(NotFound):
            engine.runtime.find_definition(process_id="one")
        with pytest.raises(NotFound):
            engine.runtime.delete_resource(definition.key)


def test_after_deleting_the_latest_version_the_previous_one_is_the_latest(engine: Harness) -> None:
    [v1] = engine.deploy(_one("work"))
    [v2] = engine.deploy(_one("other"))
    with engine.runtime.lock:
        engine.runtime.delete_resource(v2.key)
        assert engine.runtime.find_definition(process_id="one").key == v1.key


def _start_version(engine: Harness, definition_key: int, variables: dict[str, object] | None = None) -> int:
    with engine.runtime.lock:
        definition = engine.runtime.find_definition(key=definition_key)
        return engine.runtime.create_instance(definition, dict(variables or {})).key
