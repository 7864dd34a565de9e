"""Regenerate requirements.lock: every dependency of the package and its dev and bench extras, pinned to
the versions pip resolves today for this interpreter.

Run ``python scripts/lock.py`` from the repository root (``make lock`` does it) after changing the
dependencies in pyproject.toml; scripts/bootstrap.sh installs with the lock as constraints, and
``make audit`` audits it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
HEADER = (
    "# The pinned dependencies of zeebe-celery[dev,bench], for this Python; regenerate with `make lock`.\n"
    "# scripts/bootstrap.sh installs with these as constraints; `make audit` checks them for known vulnerabilities.\n"
)


def resolve() -> list[tuple[str, str]]:
    """(name, version) of everything pip would install for the package with its extras, sorted."""
    with tempfile.TemporaryDirectory() as directory:
        report = Path(directory) / "report.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--dry-run",
                "--ignore-installed",
                "--report",
                str(report),
                "-e",
                f"{ROOT}[dev,bench]",
            ],
            check=True,
        )
        installs = json.loads(report.read_text(encoding="utf-8"))["install"]
    pinned = {(i["metadata"]["name"].lower().replace("_", "-"), i["metadata"]["version"]) for i in installs}
    return sorted((name, version) for name, version in pinned if name != "zeebe-celery")


def main() -> int:
    LOCK.write_text(HEADER + "".join(f"{name}=={version}\n" for name, version in resolve()), encoding="utf-8")
    print(f"wrote {LOCK.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
