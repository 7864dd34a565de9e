"""The DMN TCK ratchet: the pass count at each compliance level never drops below the committed figure.

Raise the figures (and refresh dmn-tck-results.md) with ``python -m tests.conformance.dmn_tck --update``.
"""

from __future__ import annotations

import pytest

from .dmn_tck import LEVELS, ratchet, run_level, tck_root


def test_the_tck_is_where_the_runner_looks() -> None:
    assert (tck_root() / "compliance-level-2" / "0001-input-data-string").is_dir()


@pytest.mark.parametrize("level", LEVELS)
def test_the_pass_count_does_not_drop(level: int) -> None:
    folders = run_level(level)
    passed = sum(folder.passed for folder in folders)
    committed = ratchet()[f"level-{level}"]
    failing = [f"{folder.folder} {failure}" for folder in folders for failure in folder.failures]
    assert passed >= committed, (
        f"DMN TCK level {level}: {passed} tests pass, fewer than the {committed} committed. Failing now "
        f"(the first 40 of {len(failing)}):\n" + "\n".join(line[:200] for line in failing[:40])
    )
