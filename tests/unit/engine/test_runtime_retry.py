"""Retrying an incident (Operate's Retry, the web UI's): the job's retries and the resolution in one command."""

from __future__ import annotations

import pytest

from tests.unit.engine.bpmn_builders import end_event, flows, process, service_task, start_event
from tests.unit.engine.harness import Harness
from zeebe_celery.engine.errors import InternalError, NotFound


def _incident(engine: Harness) -> tuple[int, int]:
    engine.deploy(process("p", start_event(), service_task("t", "work"), end_event(), flows("start", "t", "end")))
    key = engine.start("p")
    job = engine.one_job("work")
    engine.fail(job, retries=0, message="boom")
    (incident,) = engine.incidents(key)
    return key, incident.key


def test_a_retry_gives_the_job_its_retries_and_resolves_the_incident(engine: Harness) -> None:
    key, incident = _incident(engine)
    with engine.runtime.lock:
        engine.runtime.retry_incident(incident, 2)
    assert engine.incidents(key) == []
    job = engine.one_job("work")
    assert job.retries == 2
    engine.complete(job)
    assert engine.completed(key)


def test_a_retry_whose_resolution_fails_leaves_the_job_as_it_was(
    engine: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, incident = _incident(engine)

    def broken(key: int) -> None:
        raise RuntimeError("injected")

    monkeypatch.setattr(engine.runtime.instance_commands, "resolve_incident", broken)
    with engine.runtime.lock, pytest.raises(InternalError, match="injected"):
        engine.runtime.retry_incident(incident, 2)
    (open_incident,) = engine.incidents(key)
    assert open_incident.key == incident
    assert open_incident.job is not None
    assert open_incident.job.retries == 0


def test_retrying_an_unknown_incident_is_refused(engine: Harness) -> None:
    with engine.runtime.lock, pytest.raises(NotFound):
        engine.runtime.retry_incident(12345, 1)
