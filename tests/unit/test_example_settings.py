"""The example app runs with the worker settings the README recommends, and those settings keep the
guarantees the README promises: no job message waits in a worker's memory, JSON only, each job stopped at
its deadline, and no late acks (Zeebe, not the broker, hands out a job whose worker died)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from zeebe_celery.config import BridgeSettings
from zeebe_celery.recommended import CELERY_SETTINGS, REDIS_TRANSPORT_OPTIONS, deviations
from zeebe_celery.worker import fetch_only_when_free

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
EXAMPLE_TASKS = {"validate_order", "charge_card", "reserve_stock", "ship_order", "notify_customer"}

# Run in a process of its own: the example's handlers are shared tasks, which would join every app of this one.
_INSPECT = """
import json
from examples import app as example
from zeebe_celery.json_only import check_json_only
from zeebe_celery.recommended import deviations
from zeebe_celery.time_limits import JobRequest
check_json_only(example.app)
tasks = {
    task.zeebe_function.__name__: {
        "job_request": issubclass(task.Request, JobRequest),
        "serializer": task.serializer,
        "acks_late": task.acks_late,
    }
    for task in example.app.tasks.values()
    if getattr(task, "zeebe_function", None) is not None
}
print(json.dumps({"deviations": deviations(example.app), "tasks": tasks}))
"""


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _INSPECT], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_the_example_app_follows_the_recommended_worker_settings(example: dict[str, Any]) -> None:
    assert example["deviations"] == []


def test_a_drifted_app_is_named_setting_by_setting() -> None:
    app = Celery("drifted", broker="redis://127.0.0.1:6379/0", set_as_current=False)
    app.conf.worker_prefetch_multiplier = 4
    app.conf.task_acks_late = True
    app.conf.accept_content = ["json", "pickle"]

    found = deviations(app)

    assert "worker_prefetch_multiplier is 4, not 1" in found
    assert "task_acks_late is True, not False" in found
    assert "accept_content is ['json', 'pickle'], not ['json']" in found
    assert "broker_transport_options['ack_emulation'] is 'unset', not False" in found


def test_the_readme_recommends_the_same_settings() -> None:
    running = README.read_text().split("## Running it", 1)[1].split("\n## ", 1)[0]
    for name, value in CELERY_SETTINGS.items():
        assert re.search(rf"`{name} = {re.escape(repr(value))}`", running), f"the README does not recommend {name}"
    for name, value in REDIS_TRANSPORT_OPTIONS.items():
        assert f'{{"{name}": {value!r}}}' in running


def test_the_recommended_settings_keep_no_job_message_in_a_workers_memory() -> None:
    app = Celery("recommended", broker="redis://127.0.0.1:6379/0", set_as_current=False)
    app.conf.update(CELERY_SETTINGS)
    app.conf.worker_disable_prefetch = False  # what `celery worker` writes before the boot step runs

    fetch_only_when_free(app, BridgeSettings(broker_url="redis://127.0.0.1:6379/0", _env_file=None))

    assert app.conf.worker_disable_prefetch is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_acks_late is False


def test_the_example_handlers_are_json_only_stopped_at_their_deadline_and_ack_early(example: dict[str, Any]) -> None:
    # The example's process got this far only because check_json_only accepted its app.
    assert set(example["tasks"]) == EXAMPLE_TASKS
    for task in example["tasks"].values():
        assert task == {"job_request": True, "serializer": "json", "acks_late": False}
