"""Record values are made when read, but show the state as it was when the record was written."""

from __future__ import annotations

from tests.unit.engine.bpmn_builders import end_event, flows, process, service_task, start_event
from tests.unit.engine.harness import Harness


def _one(element_id: str = "task") -> bytes:
    return process(
        "one", start_event(), service_task(element_id, "work"), end_event(), flows("start", element_id, "end")
    )


def test_a_job_record_keeps_the_retries_worker_and_error_it_was_written_with(engine: Harness) -> None:
    engine.deploy(_one())
    engine.start("one")
    job = engine.one_job("work", worker="first")
    engine.fail(job, retries=1, message="boom")
    (created,) = engine.records("JOB", "CREATED")
    (failed,) = engine.records("JOB", "FAILED")
    assert (created["value"]["retries"], created["value"]["worker"], created["value"]["errorMessage"]) == (3, "", "")
    assert (failed["value"]["retries"], failed["value"]["worker"], failed["value"]["errorMessage"]) == (
        1,
        "first",
        "boom",
    )
    engine.complete(engine.one_job("work", worker="second"))
    assert [r["value"]["worker"] for r in engine.records("JOB", "COMPLETED")] == ["second"]
    assert engine.records("JOB", "FAILED")[0]["value"]["worker"] == "first"


def test_element_records_written_before_a_migration_keep_the_old_element_and_version(engine: Harness) -> None:
    [v1] = engine.deploy(_one("task"))
    [v2] = engine.deploy(_one("task2"))
    with engine.runtime.lock:
        key = engine.runtime.create_instance(v1, {}).key
        engine.runtime.migrate_instance(key, target_key=v2.key, mappings=[("task", "task2")])
    (activated,) = engine.records("PROCESS_INSTANCE", "ELEMENT_ACTIVATED", elementId="task")
    assert (activated["value"]["processDefinitionKey"], activated["value"]["version"]) == (v1.key, 1)
    engine.complete(engine.one_job("work"))
    (completed,) = engine.records("PROCESS_INSTANCE", "ELEMENT_COMPLETED", elementId="task2")
    assert (completed["value"]["processDefinitionKey"], completed["value"]["version"]) == (v2.key, 2)


def test_a_variable_record_keeps_the_value_it_was_written_with(engine: Harness) -> None:
    engine.deploy(_one())
    key = engine.start("one", {"x": [1]})
    engine.complete(engine.one_job("work"), {"x": [1, 2]})
    assert engine.completed(key)
    values = [r["value"]["value"] for r in engine.records("VARIABLE") if r["value"]["name"] == "x"]
    assert values == ["[1]", "[1, 2]"]
