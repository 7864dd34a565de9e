"""Every asset of the web UI ships in the wheel: no build step, nothing fetched at run time."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_ships_htmx_and_its_licence(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("zeebe_celery-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "zeebe_celery/engine/web/static/htmx.min.js" in names
    assert "zeebe_celery/engine/web/static/htmx.LICENSE" in names
