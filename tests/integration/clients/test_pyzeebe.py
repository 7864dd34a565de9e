"""pyzeebe 4.7, the Python client that the benchmarks compare against, completes jobs on the gateway.

The worker (pyzeebe_check.py beside this file) runs in pyzeebe's own venv as a subprocess; the project's
client creates the instances with a result, and so sees what pyzeebe's completions did.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.clients.conftest import json_lines
from tests.integration.conftest import Jobs, UniqueNames
from zeebe_celery.gateway.client import ZeebeClient

pytestmark = pytest.mark.integration

CHECK = Path(__file__).resolve().parent / "pyzeebe_check.py"
INSTANCES = 3


class PyzeebeWorker:
    """pyzeebe_check.py running as a subprocess, stopped by SIGTERM as a deployment would stop it."""

    def __init__(self, python: Path, address: str, job_type: str, *, stream: bool) -> None:
        command = [str(python), str(CHECK), address, job_type, *(["--stream"] if stream else [])]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if first.strip() != '{"event": "ready"}':
            self.kill()
            assert self.proc.stderr is not None
            pytest.fail(f"pyzeebe did not start: {first!r}\n{self.proc.stderr.read()}")

    def stop(self, *, timeout: float = 30.0) -> tuple[int, str, str]:
        """Send SIGTERM; pyzeebe's exit code, the rest of its stdout, and its stderr."""
        self.proc.send_signal(signal.SIGTERM)
        stdout, stderr = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, stdout, stderr

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def start_pyzeebe(pyzeebe_python: Path, zeebe_address: str) -> Iterator[Callable[..., PyzeebeWorker]]:
    started: list[PyzeebeWorker] = []

    def start(job_type: str, *, stream: bool) -> PyzeebeWorker:
        worker = PyzeebeWorker(pyzeebe_python, zeebe_address, job_type, stream=stream)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


@pytest.mark.parametrize("stream", [False, True], ids=["polling", "polling-and-streaming"])
def test_pyzeebe_worker_completes_the_jobs_and_the_instances_end_with_its_variables(
    start_pyzeebe, zeebe_client: ZeebeClient, unique: UniqueNames, stream: bool
) -> None:
    zeebe_client.deploy_resource(unique.resource("one_task.bpmn", "one-task", "test-work"))
    worker = start_pyzeebe(unique("test-work"), stream=stream)

    with ThreadPoolExecutor(max_workers=INSTANCES) as pool:
        waiting = [
            pool.submit(
                zeebe_client.create_process_instance_with_result,
                unique("one-task"),
                variables={"x": x, "note": "not fetched"},
                request_timeout=30,
            )
            for x in range(1, INSTANCES + 1)
        ]
        results = [future.result(timeout=60) for future in waiting]
    code, stdout, stderr = worker.stop()

    assert [r.variables for r in results] == [
        {"x": x, "note": "not fetched", "doubled": 2 * x, "handledBy": "pyzeebe"} for x in range(1, INSTANCES + 1)
    ]
    assert code == 0, stderr
    lines = json_lines(stdout)
    assert lines[-1] == {"event": "stopped"}
    jobs = [line for line in lines if line["event"] == "job"]
    assert sorted(job["processInstanceKey"] for job in jobs) == sorted(r.process_instance_key for r in results)
    for job in jobs:
        assert job["type"] == unique("test-work")
        assert job["worker"] == "pyzeebe-check"
        assert job["retries"] == 3
        assert job["elementId"] == "work"
        assert job["customHeaders"] == {"tier": "gold"}
        # pyzeebe fetches only the variables its task function takes (x, and mode, which these lack).
        assert set(job["variables"]) == {"x"}


def test_pyzeebe_reports_a_raising_task_with_fail_job_and_completes_the_job_on_its_retry(
    start_pyzeebe, zeebe_client: ZeebeClient, unique: UniqueNames
) -> None:
    zeebe_client.deploy_resource(unique.resource("one_task.bpmn", "one-task", "test-work"))
    worker = start_pyzeebe(unique("test-work"), stream=False)

    result = zeebe_client.create_process_instance_with_result(
        unique("one-task"), variables={"x": 5, "mode": "fail-once"}, request_timeout=30
    )
    code, stdout, stderr = worker.stop()

    assert result.variables == {"x": 5, "mode": "fail-once", "doubled": 10, "handledBy": "pyzeebe"}
    assert code == 0, stderr
    attempts = [line for line in json_lines(stdout) if line["event"] == "job"]
    # The same job twice: FailJob left it 2 retries, and the engine offered it again at once (no back-off).
    assert [(job["key"], job["retries"]) for job in attempts] == [(attempts[0]["key"], 3), (attempts[0]["key"], 2)]


def test_pyzeebe_business_error_is_thrown_to_the_boundary_event_of_its_code(
    start_pyzeebe, zeebe_client: ZeebeClient, unique: UniqueNames, jobs: Jobs
) -> None:
    zeebe_client.deploy_resource(
        unique.resource("error_boundary.bpmn", "error-boundary", "reserve-work", "backorder-work")
    )
    worker = start_pyzeebe(unique("reserve-work"), stream=False)
    instance = zeebe_client.create_process_instance(unique("error-boundary"), variables={"x": 1, "mode": "no-stock"})

    backorder = jobs.activate_one(unique("backorder-work"))
    code, _, stderr = worker.stop()

    assert backorder.process_instance_key == instance.process_instance_key
    assert code == 0, stderr
