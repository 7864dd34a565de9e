"""A pytest plugin for pyzeebe's own integration suite: its Zeebe container is the engine at an address.

pyzeebe's ``tests/integration/conftest.py`` starts ``camunda/zeebe`` with testcontainers in its session
fixture ``zeebe_container``; every other fixture only asks that container for its host and mapped port. This
plugin answers that fixture with the address in ``PYZEEBE_SUITE_ZEEBE_ADDRESS`` instead, so no Docker is
needed and none of pyzeebe's files change. It runs in benchmarks/.venv-pyzeebe, beside pyzeebe, and so
imports nothing from zeebe-celery.

    PYZEEBE_SUITE_ZEEBE_ADDRESS=127.0.0.1:26500 python -m pytest -p pyzeebe_suite_plugin tests/integration
"""

import json
import os
from dataclasses import dataclass
from typing import Any

import pytest

ADDRESS_VARIABLE = "PYZEEBE_SUITE_ZEEBE_ADDRESS"
# Where the run's outcome is written as JSON: {"collected": n, "passed": n, "failed": n, "skipped": n, ...}.
REPORT_VARIABLE = "PYZEEBE_SUITE_REPORT"
# The fixture of pyzeebe's conftest that starts a Zeebe container.
CONTAINER_FIXTURE = "zeebe_container"


_collected = pytest.StashKey[int]()


@dataclass(frozen=True)
class EngineContainer:
    """What pyzeebe's fixtures ask of the container they started: where its gateway port is."""

    host: str
    port: int

    def get_container_host_ip(self) -> str:
        return self.host

    def get_exposed_port(self, port: int) -> int:
        return self.port


def engine_container() -> EngineContainer:
    address = os.environ.get(ADDRESS_VARIABLE)
    if not address:
        raise pytest.UsageError(f"set {ADDRESS_VARIABLE}=host:port to the engine that pyzeebe's suite runs against")
    host, _, port = address.rpartition(":")
    return EngineContainer(host, int(port))


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef: Any, request: Any) -> EngineContainer | None:
    """Answer ``zeebe_container`` with the engine and never run pyzeebe's container start."""
    if fixturedef.argname != CONTAINER_FIXTURE:
        return None
    container = engine_container()
    # What pytest's own pytest_fixture_setup records for a value it computed: (value, cache key, no error).
    fixturedef.cached_result = (container, fixturedef.cache_key(request), None)
    return container


def pytest_collection_finish(session: pytest.Session) -> None:
    session.config.stash[_collected] = len(session.items)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Write how many tests were collected and how many ended in each outcome, for the test that runs the suite."""
    path = os.environ.get(REPORT_VARIABLE)
    if not path:
        return
    # Warnings are no outcome (testcontainers itself warns of a deprecation as their conftest imports it).
    outcomes = {key: len(reports) for key, reports in terminalreporter.stats.items() if key not in ("", "warnings")}
    with open(path, "w", encoding="utf-8") as out:
        json.dump({"collected": config.stash.get(_collected, 0), **outcomes}, out)
