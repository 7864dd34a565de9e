"""``zeebe-celery engine`` as an operator runs it: the token from a file or the environment (never only the
command line), and a second engine on a data directory exits at once with EX_TEMPFAIL."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

from zeebe_celery.gateway.proto import gateway_pb2, gateway_pb2_grpc

pytestmark = [pytest.mark.integration, pytest.mark.engine_inspection]

TOKEN = "engine-token-from-a-safe-place"
ENGINE = [sys.executable, "-m", "zeebe_celery.cli", "engine", "--port", "0"]


@contextmanager
def engine_process(*args: str, env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A running ``zeebe-celery engine`` and the line it printed."""
    environment = {k: v for k, v in os.environ.items() if k != "ZEEBE_CELERY_ENGINE_TOKEN"} | (env or {})
    with subprocess.Popen(
        [*ENGINE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert " listening on " in line, process.stderr.read() if process.stderr else ""
            yield process, line
        finally:
            process.terminate()
            process.communicate(timeout=30)


def _addresses(line: str) -> tuple[str, str]:
    address = line.split(" listening on ")[1].split()[0].rstrip(",")
    inspection = line.split("(inspection on ")[1].split(")")[0]
    return address, inspection


def _status(address: str, token: str | None) -> grpc.StatusCode:
    metadata = [("authorization", f"Bearer {token}")] if token else None
    with grpc.insecure_channel(address) as channel:
        try:
            gateway_pb2_grpc.GatewayStub(channel).Topology(gateway_pb2.TopologyRequest(), metadata=metadata, timeout=10)
        except grpc.RpcError as exc:
            return exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
    return grpc.StatusCode.OK


def _http_status(url: str, token: str | None) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code


@pytest.mark.parametrize("source", ["file", "environment"])
def test_the_engine_takes_its_token_from_a_file_or_the_environment_and_keeps_it_off_the_command_line(
    tmp_path: Path, source: str
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    args = ["--monitoring-port", "0"]
    env: dict[str, str] = {}
    if source == "file":
        args += ["--token-file", str(token_file)]
    else:
        env["ZEEBE_CELERY_ENGINE_TOKEN"] = TOKEN
    with engine_process(*args, env=env) as (process, line):
        address, inspection = _addresses(line)
        assert TOKEN not in Path(f"/proc/{process.pid}/cmdline").read_text()
        assert _status(address, None) is grpc.StatusCode.UNAUTHENTICATED
        assert _status(address, "wrong") is grpc.StatusCode.UNAUTHENTICATED
        assert _status(address, TOKEN) is grpc.StatusCode.OK
        assert _http_status(f"{inspection}/records", None) == 401
        assert _http_status(f"{inspection}/records", TOKEN) == 200
        assert inspection.startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--token", "a", "--token-file", "/dev/null"], 64, "--token and --token-file go alone"),
        (["--token-file", "/no/such/token"], 66, "no such file: /no/such/token"),
        (["--token-file", "/dev/null"], 78, "the token from the token file /dev/null is empty"),
    ],
    ids=["both", "missing-file", "empty-file"],
)
def test_a_token_the_engine_cannot_use_is_a_clear_error(args: list[str], code: int, message: str) -> None:
    done = subprocess.run([*ENGINE, *args], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == code
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_second_engine_on_a_data_directory_exits_at_once_with_ex_tempfail(tmp_path: Path) -> None:
    with engine_process("--data-dir", str(tmp_path)) as (first, line):
        address = line.split(" listening on ")[1].split(",")[0]
        second = subprocess.run(
            [*ENGINE, "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=60, check=False
        )
        assert second.returncode == 75
        assert f"the data directory {tmp_path} is in use by another engine (pid {first.pid})" in second.stderr
        assert "Traceback" not in second.stderr
        assert _status(address, None) is grpc.StatusCode.OK


def test_a_data_directory_that_cannot_be_made_exits_with_ex_cantcreat() -> None:
    done = subprocess.run(
        [*ENGINE, "--data-dir", "/dev/null/engine"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 73
    assert "cannot create the lock file /dev/null/engine/engine.lock" in done.stderr
    assert "Traceback" not in done.stderr
