"""benchmarks/servicer_loop.py drives this engine's servicer and reports its CPU per instance."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_servicer_loop_completes_every_instance_and_reports_a_figure() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "servicer_loop.py"), "--instances", "64", "--rounds", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    figures = [float(line.split()[-1]) for line in run.stdout.splitlines() if line.startswith("servicer us/instance")]
    assert len(figures) == 2
    assert all(figure > 0 for figure in figures)
