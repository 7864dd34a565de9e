"""A Celery worker's /metrics: the job counters of all its prefork pool processes, from its main process."""

from __future__ import annotations

import socket
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import UniqueNames
from zeebe_celery.config import BridgeSettings, ZeebeSettings
from zeebe_celery.flow import InflightStore
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.poller import Poller
from zeebe_celery.stack.fleet import CeleryWorker, stack_env

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
JOB_TYPE = "metrics-work"
QUEUE = f"zeebe.{JOB_TYPE}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(port: int, *, within: float = 30.0) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """The samples of the worker's /metrics, by name and labels; waits for the endpoint to answer."""
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                text = response.read().decode()
            break
        except OSError:
            assert time.monotonic() < deadline, f"no /metrics on port {port} within {within}s"
            time.sleep(0.2)
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture
def metrics_app(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> Any:
    monkeypatch.syspath_prepend(str(HERE))
    import metrics_app

    metrics_app.app.conf.broker_url = redis_url
    return metrics_app


@pytest.fixture
def poller(metrics_app: Any, zeebe_address: str, redis_url: str) -> Iterator[Poller]:
    poller = Poller(
        metrics_app.app,
        client=ZeebeClient(ZeebeSettings(address=zeebe_address)),
        bridge=BridgeSettings(broker_url=redis_url, redis_url=redis_url, poll_timeout=5),
        inflight=InflightStore.from_url(redis_url),
        types=[JOB_TYPE],
    )
    poller.start()
    yield poller
    poller.stop()
    poller.client.close()


def deploy(client: ZeebeClient, unique: UniqueNames) -> str:
    process_id = unique("metrics-process")
    text = unique.text(
        "one_task.bpmn", "one-task", "test-work", renames={"test-work": JOB_TYPE, "one-task": process_id}
    )
    client.deploy_resource((f"{process_id}.bpmn", text.encode()))
    return process_id


def test_worker_serves_the_job_metrics_of_all_its_pool_processes(
    poller: Poller, zeebe_client: ZeebeClient, zeebe_address: str, redis_url: str, unique: UniqueNames, tmp_path: Path
) -> None:
    multiproc_dir = tmp_path / "prometheus"
    multiproc_dir.mkdir()
    port = free_port()
    env = stack_env(zeebe_address=zeebe_address, redis_url=redis_url, worker_metrics_port=str(port))
    env["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc_dir)
    process_id = deploy(zeebe_client, unique)
    jobs = 8
    with CeleryWorker("metrics_app", [QUEUE], env=env, concurrency=2, cwd=HERE) as worker:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            ended = list(
                pool.map(
                    lambda n: zeebe_client.create_process_instance_with_result(
                        process_id, variables={"n": n}, request_timeout=60
                    ),
                    range(jobs),
                )
            )
        assert sorted(e.variables["n"] for e in ended) == list(range(jobs))
        ran_in = {e.variables["pid"] for e in ended}
        assert len(ran_in) == 2, f"the jobs should have spread over both pool processes, ran in {ran_in}"
        assert worker.pid not in ran_in

        # The pool process counts a job once its CompleteJob returns, about when the instance ends.
        deadline = time.monotonic() + 10
        while True:
            samples = scrape(port)
            reported = sample(samples, "zeebe_celery_jobs_reported_total", type=JOB_TYPE, outcome="completed")
            if reported == jobs or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert reported == jobs
        assert sample(samples, "zeebe_celery_handler_seconds_count", type=JOB_TYPE) == jobs
        handler_seconds = sample(samples, "zeebe_celery_handler_seconds_sum", type=JOB_TYPE)
        assert handler_seconds is not None
        assert handler_seconds >= 0.3 * jobs
        assert sample(samples, "zeebe_celery_jobs_gone_total", type=JOB_TYPE) is None
        # Each pool process wrote its own file; the main process adds them up.
        writers = {int(path.stem.rsplit("_", 1)[1]) for path in multiproc_dir.glob("counter_*.db")}
        assert ran_in <= writers
        # A clean warm shutdown: the server stops and each pool process marks itself dead.
        worker.stop()
        assert worker.wait(timeout=1) == 0
        assert "Traceback" not in worker.log()
        assert "Signal handler" not in worker.log()


def test_worker_without_a_multiprocess_directory_warns_and_serves_its_own_metrics(
    zeebe_address: str, redis_url: str
) -> None:
    port = free_port()
    env = stack_env(zeebe_address=zeebe_address, redis_url=redis_url, worker_metrics_port=str(port))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with CeleryWorker("metrics_app", [QUEUE], env=env, concurrency=1, cwd=HERE) as worker:
        samples = scrape(port)
        # The main process's own registry: its process and platform collectors, no pool process counters.
        assert any(name == "python_info" for name, _ in samples)
        assert not any(name.startswith("zeebe_celery_jobs_reported") for name, _ in samples)
        assert "PROMETHEUS_MULTIPROC_DIR is not set" in worker.log()
