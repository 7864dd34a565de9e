"""The one Job builder of the unit lane: a job as the gateway hands it out, with any field overridden."""

from __future__ import annotations

import time
from typing import Any

from zeebe_celery.job import Job


def make_job(key: int = 11, job_type: str = "charge-card", **fields: Any) -> Job:
    """A job of ``job_type`` whose deadline is a minute away unless ``deadline=`` says otherwise."""
    values: dict[str, Any] = {
        "key": key,
        "type": job_type,
        "process_instance_key": 22,
        "bpmn_process_id": "shop",
        "process_definition_version": 1,
        "process_definition_key": 33,
        "element_id": "charge",
        "element_instance_key": 44,
        "retries": 3,
        "deadline": int((time.time() + 60) * 1000),
    }
    values.update(fields)
    if values.get("variables") is None:
        values.pop("variables", None)
    return Job(**values)


def job_payload(
    job_type: str = "charge-card", variables: dict[str, Any] | None = None, **fields: Any
) -> dict[str, Any]:
    """The job as the poller puts it in the Celery message."""
    return make_job(job_type=job_type, variables=variables or {}, **fields).model_dump(mode="json")
