"""Audit the locked dependencies (requirements.lock) for known vulnerabilities with pip-audit.

Run ``python scripts/audit.py`` from the repository root (``make audit`` does it, and ``make test`` runs
``make audit``). It exits 1 when pip-audit reports a vulnerability in any locked version, naming each with
its fix, and 2 when pip-audit itself fails.

pip-audit asks PyPI's JSON API for each pinned version. A dependency it could not ask about is not
audited: the script says so loudly, naming how many and why, and fails only with ``--strict`` (or
``ZEEBE_CELERY_AUDIT_STRICT=1``), as a machine whose registry access omits that API (a mirror that serves
``/simple`` and ``/pypi/NAME/json`` but not ``/pypi/NAME/VERSION/json``) could otherwise never pass.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"


def decide(report: dict[str, Any], *, strict: bool) -> tuple[int, list[str]]:
    """The exit code and the lines to print for pip-audit's JSON ``report``."""
    dependencies = report.get("dependencies", [])
    found = [(d, v) for d in dependencies for v in d.get("vulns", [])]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    lines = [
        f"VULNERABLE {d['name']}=={d['version']}: {v['id']}"
        + (f" ({', '.join(v.get('aliases', []))})" if v.get("aliases") else "")
        + (f", fixed in {', '.join(v['fix_versions'])}" if v.get("fix_versions") else ", no fix released yet")
        for d, v in found
    ]
    audited = len(dependencies) - len(skipped)
    if skipped:
        reasons = sorted({str(d["skip_reason"]).split(":")[0] for d in skipped})
        lines.append(
            f"NOT AUDITED: {len(skipped)} of {len(dependencies)} locked dependencies "
            f"({', '.join(d['name'] for d in skipped[:5])}{', ...' if len(skipped) > 5 else ''}): "
            f"{'; '.join(reasons)}"
        )
    if found:
        lines.append(f"pip-audit: {len(found)} known vulnerabilities in the locked dependencies")
        return 1, lines
    if skipped and strict:
        lines.append("pip-audit: some dependencies could not be audited (strict)")
        return 1, lines
    lines.append(f"pip-audit: no known vulnerabilities in {audited} audited dependencies")
    return 0, lines


def run_pip_audit(lock: Path) -> dict[str, Any]:
    """pip-audit's JSON report on ``lock``; raises subprocess.CalledProcessError when pip-audit itself fails."""
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "audit.json"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip_audit",
                "--requirement",
                str(lock),
                # Every version is pinned: nothing to resolve, and no virtual environment to build.
                "--no-deps",
                "--disable-pip",
                "--format",
                "json",
                "--output",
                str(output),
                "--progress-spinner",
                "off",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        # 1 means "vulnerabilities found", and the report says which; anything else without a report failed.
        if not output.is_file():
            raise subprocess.CalledProcessError(done.returncode, "pip-audit", done.stdout, done.stderr)
        report: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
        return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lock", type=Path, default=LOCK, help="the pinned requirements (default requirements.lock)")
    parser.add_argument("--strict", action="store_true", help="also fail when a dependency could not be audited")
    args = parser.parse_args(argv)
    strict = args.strict or os.environ.get("ZEEBE_CELERY_AUDIT_STRICT") == "1"
    try:
        report = run_pip_audit(args.lock)
    except subprocess.CalledProcessError as exc:
        print(f"pip-audit failed (exit {exc.returncode}):\n{exc.stderr}", file=sys.stderr)
        return 2
    code, lines = decide(report, strict=strict)
    for line in lines:
        print(line, file=sys.stderr if code or line.startswith("NOT AUDITED") else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main())
