"""One model that combines the newer elements, driven by clients nobody here wrote: a sequential
multi-instance call activity whose child has an interrupting message event sub-process and a process start
execution listener (tests/bpmn/call_parent.bpmn and call_child.bpmn).

zbctl deploys it, starts it waiting for the result, and does every job; pyzeebe's worker does the listener
and shipping jobs on its own."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.integration.clients.conftest import JavaClient, Zbctl, json_lines
from tests.integration.conftest import UniqueNames
from zeebe_celery.gateway.client import ZeebeClient

pytestmark = pytest.mark.integration

CHILD_NAMES = ("call-child", "child-audit", "child-ship", "cancel-order")
COMBINED = Path(__file__).resolve().parent / "pyzeebe_combined.py"


def _write(unique: UniqueNames, tmp_path: Path) -> tuple[Path, Path]:
    child, parent = tmp_path / "child.bpmn", tmp_path / "parent.bpmn"
    child.write_text(unique.text("call_child.bpmn", *CHILD_NAMES), encoding="utf-8")
    parent.write_text(unique.text("call_parent.bpmn", "call-parent", "call-child"), encoding="utf-8")
    return child, parent


def _activate_one(zbctl: Zbctl, job_type: str) -> dict[str, object]:
    activated = zbctl.json(
        "activate", "jobs", job_type, "--worker", "zbctl-test", "--maxJobsToActivate", "1",
        "--timeout", "1m", "--requestTimeout", "20s",
    )  # fmt: skip
    [job] = activated["jobs"]
    return job  # type: ignore[no-any-return]


def test_zbctl_runs_a_multi_instance_call_activity_whose_child_listens_and_has_an_event_sub_process(
    zbctl: Zbctl, unique: UniqueNames, tmp_path: Path
) -> None:
    child, parent = _write(unique, tmp_path)
    zbctl.json("deploy", "resource", str(child), str(parent))
    args = ("create", "instance", unique("call-parent"), "--variables", '{"items": ["A", "B"]}', "--withResult")
    with subprocess.Popen(zbctl.command(*args, "--requestTimeout", "60s"), stdout=subprocess.PIPE, text=True) as proc:
        audit = _activate_one(zbctl, unique("child-audit"))
        assert json.loads(str(audit["variables"]))["orderId"] == "A"
        zbctl.ok("complete", "job", str(audit["key"]))
        ship = _activate_one(zbctl, unique("child-ship"))
        zbctl.ok("complete", "job", str(ship["key"]), "--variables", '{"tracking": "T-A"}')
        # The second child: its listener, then a cancellation through its event sub-process.
        zbctl.ok("complete", "job", str(_activate_one(zbctl, unique("child-audit"))["key"]))
        cancelled = _activate_one(zbctl, unique("child-ship"))
        zbctl.json("publish", "message", unique("cancel-order"), "--correlationKey", "B")
        stdout, _ = proc.communicate(timeout=60)

    assert proc.returncode == 0, stdout
    shipped = json.loads(json.loads(stdout)["variables"])["shipped"]
    assert len(shipped) == 2
    assert shipped[0] == "T-A"
    # The event sub-process ended the second child, and its shipping job with it.
    done = zbctl.run("complete", "job", str(cancelled["key"]))
    assert done.returncode != 0
    assert "NotFound" in done.stderr, done.stderr


def test_pyzeebe_workers_run_the_listener_and_shipping_jobs_of_each_called_child(
    pyzeebe_python: Path, zeebe_address: str, zeebe_client: ZeebeClient, unique: UniqueNames
) -> None:
    zeebe_client.deploy_resource(unique.resource("call_child.bpmn", *CHILD_NAMES))
    zeebe_client.deploy_resource(unique.resource("call_parent.bpmn", "call-parent", "call-child"))
    command = [str(pyzeebe_python), str(COMBINED), zeebe_address, unique("child-audit"), unique("child-ship")]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as worker:
        try:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == '{"event": "ready"}'
            result = zeebe_client.create_process_instance_with_result(
                unique("call-parent"), variables={"items": ["A", "B"]}, request_timeout=60
            )
        finally:
            worker.send_signal(signal.SIGTERM)
            stdout, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr
    assert result.variables["shipped"] == ["T-A", "T-B"]
    handled = [(line["type"], line["orderId"]) for line in json_lines(stdout) if line.get("event") == "job"]
    assert handled == [
        (unique("child-audit"), "A"),
        (unique("child-ship"), "A"),
        (unique("child-audit"), "B"),
        (unique("child-ship"), "B"),
    ]


def test_the_java_client_runs_the_combined_model_and_sees_the_listener_jobs_kind(
    java_client: JavaClient, zeebe_address: str, unique: UniqueNames, tmp_path: Path
) -> None:
    child, parent = _write(unique, tmp_path)
    command = java_client.command(
        zeebe_address, str(child), str(parent), unique("call-parent"), unique("child-audit"), unique("child-ship"),
        main="CombinedModel",
    )  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)

    assert done.returncode == 0, f"the Java client failed:\n{done.stdout}\n{done.stderr}"
    lines = json_lines(done.stdout)
    listened = [
        (line["kind"], line["listenerEventType"], line["orderId"]) for line in lines if line["event"] == "listener-job"
    ]
    assert listened == [("EXECUTION_LISTENER", "START", "A"), ("EXECUTION_LISTENER", "START", "B")]
    [result] = [line for line in lines if line["event"] == "result"]
    assert result["variables"]["shipped"] == ["T-A", "T-B"]
