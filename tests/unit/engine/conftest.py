"""Fixtures for the engine's unit tests: a runtime driven directly, with a clock the test moves."""

from __future__ import annotations

import pytest

from tests.unit.engine.harness import Harness


@pytest.fixture
def engine() -> Harness:
    return Harness()
