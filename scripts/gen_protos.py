"""Fetch the Zeebe gateway proto from Maven Central and regenerate the gateway stubs from it.

Run ``python scripts/gen_protos.py`` from the repository root (``make protos`` does it). It downloads
``io.camunda:zeebe-gateway-protocol-impl:<VERSION>`` from Maven Central, checks the jar against the
SHA-1 Central publishes beside it and the proto against the SHA-256 pinned here, writes the jar's
``gateway.proto`` to ``protos/gateway.proto`` unchanged, and regenerates the stubs with grpcio-tools and
mypy-protobuf. ``--offline`` skips the download and regenerates from the committed proto.

The proto path is mapped onto the package path, so the generated modules import each other by their
package name and need no hand edits afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = "zeebe_celery/gateway/proto"
GENERATED = ("gateway_pb2.py", "gateway_pb2.pyi", "gateway_pb2_grpc.py", "gateway_pb2_grpc.pyi")
PROTO = ROOT / "protos" / "gateway.proto"

# The artifact the proto ships in (Apache License 2.0), and the proto's own digest: a new version is a
# change of these two lines, reviewed like any other.
GROUP, ARTIFACT, VERSION = "io.camunda", "zeebe-gateway-protocol-impl", "8.9.0"
PROTO_SHA256 = "1abca3888d7d0ad0890cfd1782b8e81db2883dbc670b6607aa2c1dcfdc05930b"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"


def jar_url() -> str:
    return f"{MAVEN_CENTRAL}/{GROUP.replace('.', '/')}/{ARTIFACT}/{VERSION}/{ARTIFACT}-{VERSION}.jar"


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - a fixed https URL
        return bytes(response.read())


def proto_from_jar(jar: bytes) -> bytes:
    """The ``gateway.proto`` inside the jar. Raises ValueError when its digest is not the pinned one."""
    with zipfile.ZipFile(io.BytesIO(jar)) as archive:
        proto = archive.read("gateway.proto")
    digest = hashlib.sha256(proto).hexdigest()
    if digest != PROTO_SHA256:
        raise ValueError(f"gateway.proto of {ARTIFACT}:{VERSION} has SHA-256 {digest}, expected {PROTO_SHA256}")
    return proto


def fetch() -> bytes:
    """Download the jar from Maven Central, check it against Central's SHA-1, and return its proto."""
    url = jar_url()
    jar = _download(url)
    expected = _download(url + ".sha1").decode().split()[0].strip()
    if hashlib.sha1(jar).hexdigest() != expected:  # noqa: S324 - Maven Central's published checksum
        raise ValueError(f"{url} does not match its published SHA-1 {expected}")
    return proto_from_jar(jar)


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
            f"-I{PACKAGE_DIR}={PROTO.parent}",
            f"--python_out={out_dir}",
            f"--mypy_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            f"--mypy_grpc_out={out_dir}",
            str(PROTO),
        ],
        check=True,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    return out_dir / PACKAGE_DIR


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offline", action="store_true", help="regenerate from the committed protos/gateway.proto")
    args = parser.parse_args(argv)
    if not args.offline:
        PROTO.write_bytes(fetch())
        print(f"wrote {PROTO.relative_to(ROOT)} from {GROUP}:{ARTIFACT}:{VERSION}")
    with tempfile.TemporaryDirectory() as tmp:
        produced = generate(Path(tmp))
        target = ROOT / PACKAGE_DIR
        target.mkdir(parents=True, exist_ok=True)
        for name in GENERATED:
            shutil.copyfile(produced / name, target / name)
    print(f"regenerated {', '.join(GENERATED)} in {PACKAGE_DIR}")


if __name__ == "__main__":
    main()
