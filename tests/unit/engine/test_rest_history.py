"""The REST API's read side (zeebe_celery/engine/rest/history.py): rows kept from the exported records,
ended instances kept up to a bound, and an engine restarted from its store seen from its state."""

from __future__ import annotations

from pathlib import Path

from tests.unit.engine.bpmn_builders import end_event, flows, process, service_task, start_event
from tests.unit.engine.harness import Harness
from tests.unit.engine.test_store import Restartable
from zeebe_celery.engine.rest.history import History


def one_task() -> bytes:
    return process("p", start_event(), service_task("work", "w"), end_event(), flows("start", "work", "end"))


def test_instances_incidents_and_variables_follow_the_records() -> None:
    engine = Harness()
    history = History(engine.runtime)
    engine.deploy(one_task())
    key = engine.start("p", {"order": 7})
    row = history.process_instances[key]
    assert (row["state"], row["processDefinitionId"], row["endDate"]) == ("ACTIVE", "p", None)
    assert [v["name"] for v in history.variables[key].values()] == ["order"]

    engine.fail(engine.one_job("w"), retries=0, message="broken")
    (incident,) = history.incidents.values()
    assert (incident["state"], incident["errorMessage"], incident["processInstanceKey"]) == ("ACTIVE", "broken", key)
    assert row["hasIncident"] is True

    engine.runtime.update_job_retries(incident["jobKey"], 1)
    engine.resolve(incident["incidentKey"])
    engine.complete(engine.one_job("w"), {"done": True})
    assert (row["state"], row["hasIncident"], incident["state"]) == ("COMPLETED", False, "RESOLVED")
    assert row["endDate"] is not None
    assert {v["name"]: v["value"] for v in history.variables[key].values()} == {"order": "7", "done": "true"}


def test_ended_instances_past_the_bound_are_forgotten_with_their_rows() -> None:
    engine = Harness()
    history = History(engine.runtime, retain=2)
    engine.deploy(one_task())
    keys = [engine.start("p", {"n": n}) for n in range(3)]
    jobs = sorted(engine.activate("w"), key=lambda j: j.key)
    engine.fail(jobs[0], retries=0, message="broken")
    engine.runtime.cancel_instance(keys[0])
    assert [i["state"] for i in history.incidents.values()] == ["RESOLVED"]
    for job in jobs[1:]:
        engine.complete(job)
    assert sorted(history.process_instances) == keys[1:]
    assert sorted(history.variables) == keys[1:]
    assert history.incidents == {}


def test_the_path_an_instance_took_is_kept_until_it_is_forgotten() -> None:
    engine = Harness()
    history = History(engine.runtime, retain=1)
    engine.deploy(one_task())
    key = engine.start("p")
    assert history.paths[key] == {"start": 1, "start-work": 1}
    engine.complete(engine.one_job("w"))
    assert history.paths[key] == {"start": 1, "start-work": 1, "work": 1, "work-end": 1, "end": 1, "p": 1}
    later = engine.start("p")
    engine.complete(engine.one_job("w"))
    assert key not in history.paths
    assert later in history.paths


def test_a_restarted_engine_is_seen_from_its_state(tmp_path: Path) -> None:
    engine = Restartable(tmp_path)
    engine.deploy(one_task())
    key = engine.start("p", {"order": 7})
    engine.fail(engine.one_job("w"), retries=0, message="broken")
    other = engine.start("p", {"order": 8, "rush": True})
    restarted = engine.restart()
    history = History(restarted.runtime)
    assert history.process_instances[key]["state"] == "ACTIVE"
    assert history.process_instances[key]["hasIncident"] is True
    assert [i["errorMessage"] for i in history.incidents.values()] == ["broken"]
    assert {v["name"]: v["value"] for v in history.variables[key].values()} == {"order": "7"}
    keys = [v["variableKey"] for rows in history.variables.values() for v in rows.values()]
    assert len(keys) == len(set(keys)) == 3
    assert history.process_instances[other]["state"] == "ACTIVE"
