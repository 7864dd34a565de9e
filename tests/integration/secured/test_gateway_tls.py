"""TLS to the gateway is verified by default, and a poller whose TLS settings cannot work (a CA that did not
sign the gateway's certificate, a certificate for another name, a gateway that speaks no TLS) refuses to
start with a message naming the setting, rather than retrying an outage that will never end."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.stack.fleet import PollerProcess, stack_env
from zeebe_celery.testing import RedisServer

# Against the project's own engines, serving certificates this test made.
pytestmark = [pytest.mark.integration, pytest.mark.engine_inspection]

HERE = Path(__file__).resolve().parent
POLLER = [sys.executable, "-m", "zeebe_celery.cli", "poller", "-A", "secured_app"]


def issued(directory: Path, ca: trustme.CA, *names: str) -> tuple[bytes, bytes]:
    certificate = ca.issue_cert(*names)
    chain = b"".join(blob.bytes() for blob in certificate.cert_chain_pems)
    return chain, certificate.private_key_pem.bytes()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The gateway's CA, another CA, and the PEM files the engines serve."""
    directory = tmp_path_factory.mktemp("gateway-tls")
    gateway_ca, other_ca = trustme.CA(), trustme.CA()
    files = {"ca": directory / "ca.pem", "other-ca": directory / "other-ca.pem"}
    gateway_ca.cert_pem.write_to_path(str(files["ca"]))
    other_ca.cert_pem.write_to_path(str(files["other-ca"]))
    for name, hosts in (("loopback", ("127.0.0.1", "localhost")), ("elsewhere", ("gateway.example",))):
        chain, key = issued(directory, gateway_ca, *hosts)
        files[f"{name}.crt"] = directory / f"{name}.crt"
        files[f"{name}.key"] = directory / f"{name}.key"
        files[f"{name}.crt"].write_bytes(chain)
        files[f"{name}.key"].write_bytes(key)
    return files


@pytest.fixture(scope="module")
def tls_engine(pki: dict[str, Path]) -> Iterator[ZeebeEngine]:
    engine = ZeebeEngine(certificate=pki["loopback.crt"].read_bytes(), private_key=pki["loopback.key"].read_bytes())
    with engine:
        yield engine


@pytest.fixture(scope="module")
def misnamed_engine(pki: dict[str, Path]) -> Iterator[ZeebeEngine]:
    engine = ZeebeEngine(certificate=pki["elsewhere.crt"].read_bytes(), private_key=pki["elsewhere.key"].read_bytes())
    with engine:
        yield engine


def poller_env(address: str, redis_url: str, **zeebe: str) -> dict[str, str]:
    return stack_env(zeebe_address=address, redis_url=redis_url, pythonpath=[HERE]) | zeebe


def test_a_poller_trusting_the_gateways_ca_starts(
    tls_engine: ZeebeEngine, pki: dict[str, Path], redis_server: RedisServer
) -> None:
    env = poller_env(tls_engine.address, redis_server.url, ZEEBE_CA_CERTIFICATE_PATH=str(pki["ca"]))
    with PollerProcess("secured_app", env=env, cwd=HERE) as poller:
        assert "polling secured-sum" in poller.log()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong CA", "the gateway's TLS certificate is not signed by the CA in ZEEBE_CA_CERTIFICATE_PATH"),
        ("system roots", "the gateway's TLS certificate is not signed by the system's trusted CAs"),
        ("another name", "the gateway's TLS certificate does not name 127.0.0.1"),
        ("plaintext gateway", "the gateway does not speak TLS"),
    ],
)
def test_a_poller_whose_tls_cannot_work_refuses_to_start_naming_the_setting(
    tls_engine: ZeebeEngine,
    misnamed_engine: ZeebeEngine,
    zeebe_engine: ZeebeEngine,
    pki: dict[str, Path],
    redis_server: RedisServer,
    case: str,
    message: str,
) -> None:
    settings = {
        "wrong CA": (tls_engine.address, {"ZEEBE_CA_CERTIFICATE_PATH": str(pki["other-ca"])}),
        "system roots": (tls_engine.address, {"ZEEBE_INSECURE_CONNECTION": "false"}),
        "another name": (misnamed_engine.address, {"ZEEBE_CA_CERTIFICATE_PATH": str(pki["ca"])}),
        "plaintext gateway": (zeebe_engine.address, {"ZEEBE_CA_CERTIFICATE_PATH": str(pki["ca"])}),
    }
    address, zeebe = settings[case]
    done = subprocess.run(
        POLLER,
        env=poller_env(address, redis_server.url, **zeebe),
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 78, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
