"""The Job value: built from an ActivatedJob, asked about its deadline, and carried as JSON."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.job import Job

DEADLINE_MS = 1_700_000_000_123


def activated(**overrides: object) -> pb.ActivatedJob:
    """An ActivatedJob as the gateway sends it, with ``overrides`` of its fields (by their proto names)."""
    job = pb.ActivatedJob(
        key=2_251_799_813_685_249,
        type="charge-card",
        variables=json.dumps({"order": {"id": "o-1", "amount": 9.5}, "tags": ["a", "ü"], "note": None}),
        customHeaders=json.dumps({"tier": "gold", "limit": "100"}),
        deadline=DEADLINE_MS,
        retries=2,
        worker="poller-1",
        processInstanceKey=2_251_799_813_685_200,
        bpmnProcessId="shop",
        processDefinitionKey=2_251_799_813_685_100,
        processDefinitionVersion=4,
        elementId="charge",
        elementInstanceKey=2_251_799_813_685_248,
        tenantId="tenant-a",
    )
    for name, value in overrides.items():
        setattr(job, name, value)
    return job


def test_from_activated_copies_the_fields_and_parses_variables_and_headers() -> None:
    job = Job.from_activated(activated())

    assert job == Job(
        key=2_251_799_813_685_249,
        type="charge-card",
        process_instance_key=2_251_799_813_685_200,
        bpmn_process_id="shop",
        process_definition_version=4,
        process_definition_key=2_251_799_813_685_100,
        element_id="charge",
        element_instance_key=2_251_799_813_685_248,
        custom_headers={"tier": "gold", "limit": "100"},
        worker="poller-1",
        retries=2,
        deadline=DEADLINE_MS,
        variables={"order": {"id": "o-1", "amount": 9.5}, "tags": ["a", "ü"], "note": None},
        tenant_id="tenant-a",
    )


def test_empty_variables_and_headers_are_empty_dicts() -> None:
    job = Job.from_activated(activated(variables="", customHeaders=""))

    assert job.variables == {}
    assert job.custom_headers == {}


def test_deadline_at_is_the_deadline_as_an_aware_utc_datetime() -> None:
    job = Job.from_activated(activated())

    assert job.deadline_at == datetime(2023, 11, 14, 22, 13, 20, 123_000, tzinfo=UTC)


def test_seconds_left_counts_down_to_the_deadline() -> None:
    job = Job.from_activated(activated())
    deadline = DEADLINE_MS / 1000

    assert job.seconds_left(now=deadline - 30) == pytest.approx(30)
    assert job.seconds_left(now=deadline + 5) == pytest.approx(-5)


def test_a_job_is_expired_from_its_deadline_on() -> None:
    job = Job.from_activated(activated())
    deadline = DEADLINE_MS / 1000

    assert not job.is_expired(now=deadline - 0.01)
    assert job.is_expired(now=deadline)
    assert job.is_expired(now=deadline + 1)


def test_without_now_the_deadline_is_measured_against_the_wall_clock() -> None:
    fresh = Job.from_activated(activated(deadline=int((time.time() + 300) * 1000)))
    stale = Job.from_activated(activated(deadline=1_000))

    assert 290 < fresh.seconds_left() <= 300
    assert not fresh.is_expired()
    assert stale.is_expired()


def test_json_round_trip_keeps_every_field_and_int64_keys_exact() -> None:
    job = Job.from_activated(activated())

    copy = Job.model_validate_json(job.model_dump_json())

    assert copy == job
    assert copy.key == 2_251_799_813_685_249
    assert copy.variables["tags"] == ["a", "ü"]


def test_jobs_are_immutable() -> None:
    job = Job.from_activated(activated())

    with pytest.raises(ValidationError, match="frozen"):
        job.retries = 0  # type: ignore[misc]


def test_json_missing_a_required_field_is_refused() -> None:
    text = Job.from_activated(activated()).model_dump_json(exclude={"deadline"})

    with pytest.raises(ValidationError, match="deadline"):
        Job.model_validate_json(text)


def test_to_activated_is_the_inverse_of_from_activated() -> None:
    job = Job.from_activated(activated())
    again = Job.from_activated(job.to_activated())
    assert again == job
    assert again.variables == job.variables
    assert again.custom_headers == job.custom_headers
