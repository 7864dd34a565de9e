"""Fixtures for the REST API's tests: Camunda's official Python SDK (``camunda-orchestration-sdk``, the 9.x
line for Camunda 8.9) on the session engine's REST port, and its job workers on an event loop of their own.

The SDK's models are generated from Camunda's OpenAPI specification: an answer it cannot parse fails the
test that asked for it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from camunda_orchestration_sdk import CamundaAsyncClient, CamundaClient, WorkerConfig

from tests.integration.conftest import UniqueNames

Handler = Callable[[Any], Any]


def sdk_configuration(rest_address: str) -> dict[str, Any]:
    return {"CAMUNDA_REST_ADDRESS": rest_address, "CAMUNDA_AUTH_STRATEGY": "NONE"}


@pytest.fixture
def camunda(zeebe_rest_address: str) -> Iterator[CamundaClient]:
    with CamundaClient(configuration=sdk_configuration(zeebe_rest_address)) as client:
        yield client


class Workers:
    """The SDK's job workers (async handlers), run on an event loop in a thread of their own until stopped."""

    def __init__(self, rest_address: str) -> None:
        self.rest_address = rest_address
        self._handlers: list[tuple[str, Handler]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sdk-workers", daemon=True)

    def handle(self, job_type: str, handler: Handler) -> None:
        self._handlers.append((job_type, handler))

    def start(self) -> None:
        self._thread.start()
        assert self._started.wait(10), "the SDK's workers did not start"

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=15)
        assert not self._thread.is_alive(), "the SDK's workers did not stop"

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with CamundaAsyncClient(configuration=sdk_configuration(self.rest_address)) as client:
            workers = [
                client.create_job_worker(
                    config=WorkerConfig(
                        job_type=job_type, job_timeout_milliseconds=30_000, request_timeout_milliseconds=2_000
                    ),
                    callback=handler,
                    execution_strategy="async",
                )
                for job_type, handler in self._handlers
            ]
            self._started.set()
            await self._stop.wait()
            for worker in workers:
                worker.stop()
                # The SDK stops each worker's own event loop (kept for thread handlers) but leaves it open.
                if not worker.worker_loop.is_running():
                    worker.worker_loop.close()


@pytest.fixture
def workers(zeebe_rest_address: str) -> Iterator[Workers]:
    running = Workers(zeebe_rest_address)
    yield running
    if running._thread.is_alive():
        running.stop()


def bpmn_file(tmp_path: Path, unique: UniqueNames, filename: str, *names: str) -> str:
    """This test's copy of a file under tests/bpmn, with ``names`` made unique, as a path to deploy."""
    path = tmp_path / Path(filename).name
    path.write_text(unique.text(filename, *names), encoding="utf-8")
    return str(path)


def until(check: Callable[[], Any], *, within: float = 15.0, what: str = "the condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not hold within {within}s"
        time.sleep(0.05)
