"""Fixtures that find the clients nobody here wrote: zbctl, the official Java client and pyzeebe.

``scripts/bootstrap.sh`` installs all three inside the project (zbctl under ``.cache/zbctl``, the Java
client's Maven dependencies in the local Maven repository, pyzeebe in ``benchmarks/.venv-pyzeebe``). A
client that is missing fails its tests with the command that installs it; it never skips them.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import UniqueNames
from zeebe_celery.gateway.client import ZeebeClient

ROOT = Path(__file__).resolve().parents[3]
BOOTSTRAP = "scripts/bootstrap.sh"
ZBCTL_BIN = ROOT / ".cache" / "zbctl" / "node_modules" / "zbctl" / "bin"
JAVA_CLIENT_DIR = ROOT / "tests" / "java_client"
PYZEEBE_PYTHON = ROOT / "benchmarks" / ".venv-pyzeebe" / "bin" / "python"
# Maven's own startup and an offline compile take a few seconds; a first online fetch takes longer.
MAVEN_BUILD_TIMEOUT = 600.0


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON object on each non-blank line of ``text``."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def deploy_one_task(client: ZeebeClient, unique: UniqueNames) -> tuple[str, str]:
    """Deploy this test's copy of one_task.bpmn with the project's client; return its process id and job type."""
    client.deploy_resource(unique.resource("one_task.bpmn", "one-task", "test-work"))
    return unique("one-task"), unique("test-work")


@dataclass(frozen=True)
class Zbctl:
    """zbctl, pointed at the session's gateway over plaintext."""

    binary: Path
    address: str

    def command(self, *args: str) -> list[str]:
        return [str(self.binary), *args, "--insecure", "--address", self.address]

    def run(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Run ``zbctl ARGS``; the result whatever its exit code."""
        return subprocess.run(self.command(*args), capture_output=True, text=True, timeout=timeout, check=False)

    def ok(self, *args: str, timeout: float = 30.0) -> str:
        """The stdout of ``zbctl ARGS``, failing the test with zbctl's stderr if it exits non-zero."""
        done = self.run(*args, timeout=timeout)
        assert done.returncode == 0, f"zbctl {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}"
        return done.stdout

    def json(self, *args: str, timeout: float = 30.0) -> dict[str, Any]:
        """zbctl's answer to ``ARGS``, which it prints as one JSON object."""
        answer: dict[str, Any] = json.loads(self.ok(*args, timeout=timeout))
        return answer


@dataclass(frozen=True)
class JavaClient:
    """The compiled tests/java_client program (see its Main.java) and the classpath it runs on."""

    java: str
    classpath: str

    def command(self, *args: str, main: str = "Main") -> list[str]:
        """Run the program's ``main`` class (Main, or CombinedModel) with ``args``."""
        return [self.java, "-cp", self.classpath, f"zeebecelery.tests.{main}", *args]


@pytest.fixture(scope="session")
def zbctl_binary() -> Path:
    """The zbctl binary that the npm package ``zbctl`` ships for this platform."""
    suffix = {"Linux": "linux", "Darwin": "darwin"}.get(platform.system(), "exe")
    binary = ZBCTL_BIN / f"zbctl-cli.{suffix}"
    if not binary.is_file():
        pytest.fail(f"zbctl is not installed at {binary}: run {BOOTSTRAP}")
    return binary


@pytest.fixture
def zbctl(zbctl_binary: Path, zeebe_address: str) -> Zbctl:
    return Zbctl(zbctl_binary, zeebe_address)


def _maven(*args: str) -> subprocess.CompletedProcess[str]:
    mvn = shutil.which("mvn")
    if mvn is None:
        pytest.fail(f"Maven is not installed: run {BOOTSTRAP}")
    command = [mvn, "-q", "-B", "-f", str(JAVA_CLIENT_DIR / "pom.xml"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=MAVEN_BUILD_TIMEOUT, check=False)


def _built_after_sources(*outputs: Path) -> bool:
    """Whether every output exists and is newer than the pom and every Java source, so Maven can be skipped."""
    sources = [JAVA_CLIENT_DIR / "pom.xml", *JAVA_CLIENT_DIR.joinpath("src").rglob("*.java")]
    newest = max(source.stat().st_mtime for source in sources)
    return all(output.is_file() and output.stat().st_mtime > newest for output in outputs)


@pytest.fixture(scope="session")
def java_client() -> JavaClient:
    """tests/java_client, compiled when its pom or sources are newer than its build under target/.

    The build runs offline, as the bootstrap fetched the dependencies; only if the local repository lacks
    something does it go online.
    """
    java = shutil.which("java")
    if java is None:
        pytest.fail(f"Java is not installed: run {BOOTSTRAP}")
    classpath_file = JAVA_CLIENT_DIR / "target" / "classpath.txt"
    classes = JAVA_CLIENT_DIR / "target" / "classes"
    built_classes = [classes / "zeebecelery" / "tests" / f"{name}.class" for name in ("Main", "CombinedModel")]
    if not _built_after_sources(classpath_file, *built_classes):
        goals = ("compile", "dependency:build-classpath", f"-Dmdep.outputFile={classpath_file}")
        built = _maven("-o", *goals)
        if built.returncode != 0:
            built = _maven(*goals)
        assert built.returncode == 0, f"the Java client check did not build:\n{built.stdout}\n{built.stderr}"
    return JavaClient(java, os.pathsep.join([str(classes), classpath_file.read_text(encoding="utf-8").strip()]))


@pytest.fixture(scope="session")
def pyzeebe_python() -> Path:
    """The Python of benchmarks/.venv-pyzeebe, where pyzeebe lives apart from the project's protobuf."""
    if not PYZEEBE_PYTHON.is_file():
        pytest.fail(f"pyzeebe's venv is missing at {PYZEEBE_PYTHON}: run {BOOTSTRAP}")
    return PYZEEBE_PYTHON
