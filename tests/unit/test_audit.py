"""`make audit`: pip-audit on requirements.lock fails the build on a known vulnerability, says loudly what
it could not audit, and the lock pins what the package and its extras depend on, as installed."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit", ROOT / "scripts" / "audit.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


audit = load_script()

VULNERABLE: dict[str, Any] = {
    "dependencies": [
        {"name": "celery", "version": "5.6.0", "vulns": []},
        {
            "name": "jinja2",
            "version": "2.4.1",
            "vulns": [
                {"id": "PYSEC-2019-217", "fix_versions": ["2.10.1"], "aliases": ["CVE-2019-10906"]},
                {"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": [], "aliases": []},
            ],
        },
    ],
    "fixes": [],
}
CLEAN: dict[str, Any] = {"dependencies": [{"name": "celery", "version": "5.6.0", "vulns": []}], "fixes": []}
UNREACHABLE: dict[str, Any] = {
    "dependencies": [
        {"name": n, "skip_reason": f"Dependency not found on PyPI and could not be audited: {n} (1.0)"}
        for n in ("amqp", "billiard", "celery", "grpcio", "kombu", "lark", "redis")
    ],
    "fixes": [],
}


def test_a_known_vulnerability_fails_the_audit_naming_it_and_its_fix() -> None:
    code, lines = audit.decide(VULNERABLE, strict=False)
    assert code == 1
    assert "VULNERABLE jinja2==2.4.1: PYSEC-2019-217 (CVE-2019-10906), fixed in 2.10.1" in lines
    assert "VULNERABLE jinja2==2.4.1: GHSA-h5c8-rqwp-cp95, no fix released yet" in lines


def test_clean_dependencies_pass() -> None:
    assert audit.decide(CLEAN, strict=True) == (0, ["pip-audit: no known vulnerabilities in 1 audited dependencies"])


@pytest.mark.parametrize(("strict", "code"), [(False, 0), (True, 1)])
def test_dependencies_that_could_not_be_audited_are_named_and_fail_only_when_strict(strict: bool, code: int) -> None:
    got, lines = audit.decide(UNREACHABLE, strict=strict)
    assert got == code
    assert lines[0] == (
        "NOT AUDITED: 7 of 7 locked dependencies (amqp, billiard, celery, grpcio, kombu, ...): "
        "Dependency not found on PyPI and could not be audited"
    )


def test_a_vulnerability_fails_even_when_other_dependencies_could_not_be_audited() -> None:
    report = {"dependencies": VULNERABLE["dependencies"] + UNREACHABLE["dependencies"]}
    assert audit.decide(report, strict=False)[0] == 1


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match is not None, requirement
    return match.group(0).lower().replace("_", "-").replace(".", "-")


def _lock() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not pinned: {line}"
            pins[_name(name)] = version
    return pins


def test_the_lock_pins_every_dependency_of_the_package_and_its_dev_and_bench_extras() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    wanted += project["optional-dependencies"]["bench"]
    missing = sorted({_name(r) for r in wanted} - set(_lock()))
    assert missing == [], "run `make lock`"


def test_the_environment_runs_the_locked_versions() -> None:
    differ = {
        name: (version, importlib.metadata.version(name))
        for name, version in _lock().items()
        if importlib.metadata.version(name) != version
    }
    assert differ == {}, "run scripts/bootstrap.sh, which installs with the lock as constraints"
