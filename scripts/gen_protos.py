"""Regenerate the gateway stubs from protos/gateway.proto.

Run ``python scripts/gen_protos.py`` from the repository root (``make protos`` does it). The proto path is
mapped onto the package path, so the generated modules import each other by their package name and need
no hand edits afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = "zeebe_celery/gateway/proto"
GENERATED = ("gateway_pb2.py", "gateway_pb2.pyi", "gateway_pb2_grpc.py", "gateway_pb2_grpc.pyi")


def generate(out_dir: Path) -> Path:
    """Write the generated modules below ``out_dir`` and return the folder that holds them."""
    env = dict(os.environ)
    # mypy-protobuf's protoc plugins are console scripts beside this interpreter.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PACKAGE_DIR}={ROOT / 'protos'}",
            f"--python_out={out_dir}",
            f"--mypy_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            f"--mypy_grpc_out={out_dir}",
            str(ROOT / "protos" / "gateway.proto"),
        ],
        check=True,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    return out_dir / PACKAGE_DIR


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        produced = generate(Path(tmp))
        target = ROOT / PACKAGE_DIR
        target.mkdir(parents=True, exist_ok=True)
        for name in GENERATED:
            shutil.copyfile(produced / name, target / name)
    print(f"regenerated {', '.join(GENERATED)} in {PACKAGE_DIR}")


if __name__ == "__main__":
    main()
