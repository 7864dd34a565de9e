"""pyzeebe's own integration suite, unchanged, passes on the engine.

pyzeebe ships ``tests/integration`` in its sdist on PyPI; its CI runs it against a ``camunda/zeebe`` container.
Here the sdist is fetched once into ``.cache/`` and the suite runs as a subprocess in pyzeebe's venv
(benchmarks/.venv-pyzeebe, where the bootstrap also installs pytest and testcontainers, which its conftest
imports), against an engine started for it. ``pyzeebe_suite_plugin.py`` beside this file is the only thing
added: it answers their ``zeebe_container`` fixture with the engine's address. Their files are never edited.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.clients.conftest import BOOTSTRAP, ROOT
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.testing.plugin import ZEEBE_ADDRESS_ENV

pytestmark = pytest.mark.integration

PYZEEBE_VERSION = "4.7.0"
CACHE = ROOT / ".cache"
SUITE_ROOT = CACHE / f"pyzeebe-{PYZEEBE_VERSION}"
PLUGIN_DIR = Path(__file__).resolve().parent
# pip's own start and one sdist from PyPI; a run of their suite takes seconds.
DOWNLOAD_TIMEOUT = 300.0
SUITE_TIMEOUT = 240.0


def fetch_suite(pyzeebe_python: Path) -> Path:
    """pyzeebe's sdist unpacked under .cache/ (downloaded from PyPI the first time); the root of its tree."""
    if (SUITE_ROOT / "tests" / "integration" / "conftest.py").is_file():
        return SUITE_ROOT
    CACHE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as work:
        download = [str(pyzeebe_python), "-m", "pip", "download", "--disable-pip-version-check", "-q"]
        download += ["--no-binary", ":all:", "--no-deps", f"pyzeebe=={PYZEEBE_VERSION}", "-d", work]
        done = subprocess.run(download, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT, check=False)
        assert done.returncode == 0, f"pip could not download pyzeebe {PYZEEBE_VERSION}'s sdist:\n{done.stderr}"
        [sdist] = Path(work).glob("pyzeebe-*.tar.gz")
        with tarfile.open(sdist) as archive:
            archive.extractall(work, filter="data")
        # Moved into place whole, so an interrupted fetch never leaves a half tree that looks complete.
        shutil.move(str(Path(work) / SUITE_ROOT.name), SUITE_ROOT)
    return SUITE_ROOT


@pytest.fixture
def suite_address() -> Iterator[str]:
    """The gateway their suite runs against: a user's Zeebe when the lane targets one, else a fresh engine
    (their suite deploys process ``test`` and counts every job of type ``test``, so it shares no engine)."""
    configured = os.environ.get(ZEEBE_ADDRESS_ENV)
    if configured:
        yield configured
        return
    with ZeebeEngine() as engine:
        yield engine.address


def installed_version(python: Path, package: str) -> str:
    query = f"from importlib.metadata import version; print(version({package!r}))"
    done = subprocess.run([str(python), "-c", query], capture_output=True, text=True, timeout=60, check=False)
    return done.stdout.strip() if done.returncode == 0 else f"missing ({done.stderr.strip().splitlines()[-1:]})"


def test_pyzeebe_own_integration_suite_passes_whole(
    pyzeebe_python: Path, suite_address: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for package, wanted in (("pyzeebe", PYZEEBE_VERSION), ("pytest", None), ("testcontainers", None)):
        found = installed_version(pyzeebe_python, package)
        assert found[0].isdigit(), f"{package} is {found} in {pyzeebe_python.parent.parent}: run {BOOTSTRAP}"
        assert wanted in (None, found), f"pyzeebe's venv has pyzeebe {found}, not {wanted}: run {BOOTSTRAP}"
    root = fetch_suite(pyzeebe_python)
    report = tmp_path / "pyzeebe-suite.json"
    command = [str(pyzeebe_python), "-m", "pytest", "-p", "pyzeebe_suite_plugin", "-p", "no:cacheprovider"]
    command += ["-rA", "tests/integration"]
    env = {
        **os.environ,
        "PYTHONPATH": str(PLUGIN_DIR),
        "PYZEEBE_SUITE_ZEEBE_ADDRESS": suite_address,
        "PYZEEBE_SUITE_REPORT": str(report),
        "PYTHONDONTWRITEBYTECODE": "1",
    }

    done = subprocess.run(
        command, cwd=root, env=env, capture_output=True, text=True, timeout=SUITE_TIMEOUT, check=False
    )

    assert report.is_file(), f"pyzeebe's suite did not run:\n{done.stdout}\n{done.stderr}"
    outcomes: dict[str, int] = json.loads(report.read_text(encoding="utf-8"))
    total, passed = outcomes.pop("collected"), outcomes.pop("passed", 0)
    # Anything else (failed, error, skipped, xfailed, xpassed) is a test of theirs that did not pass.
    others = {outcome: count for outcome, count in outcomes.items() if count}
    summary = f"pyzeebe {PYZEEBE_VERSION}'s own integration suite: {passed}/{total} passed"
    with capsys.disabled():
        print(f"\n{summary}" + (f", {others}" if others else ""))
    assert total > 0, f"pyzeebe's suite collected no test:\n{done.stdout}\n{done.stderr}"
    assert (passed, others) == (total, {}), f"{summary}, {others}:\n{done.stdout}\n{done.stderr}"
    assert done.returncode == 0, f"{summary}, but pytest exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
