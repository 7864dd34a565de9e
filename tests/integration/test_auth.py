"""OAuth client credentials and TLS against real servers.

OAuth runs against a real HTTP token endpoint started here and the session's engine, which (like a Zeebe
gateway with authentication disabled) ignores the header. To see the header itself, an engine of its own
records the metadata of every call, and one that checks a bearer token refuses calls without it. TLS runs
against an engine that presents a self-signed certificate for 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import subprocess
import threading
import time
import traceback
import urllib.parse
import uuid
from collections.abc import Iterator
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import pytest
from pydantic import SecretStr

from zeebe_celery.config import ZeebeSettings, load_settings
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.errors import ConfigurationError, GatewayUnavailableError, UnauthenticatedError
from zeebe_celery.gateway.client import ZeebeClient

pytestmark = pytest.mark.integration

CLIENT_ID = "zeebe-celery-tests"


class TokenEndpoint:
    """A real OAuth2 client-credentials token endpoint on 127.0.0.1 that records every request.

    It issues ``token-1``, ``token-2``, ... (or always ``access_token``, when given: the one a gateway
    checks) valid ``expires_in`` seconds, answering each request after ``delay`` seconds, and refuses
    unknown credentials with HTTP 401.
    """

    def __init__(self, *, client_id: str, client_secret: str, access_token: str | None = None) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_token = access_token
        self.expires_in = 3600.0
        self.delay = 0.0
        self.requests: list[dict[str, str]] = []
        self.received_at: list[float] = []
        self._lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                endpoint._answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, name="token-endpoint", daemon=True)

    def __enter__(self) -> TokenEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        form = dict(urllib.parse.parse_qsl(handler.rfile.read(length).decode()))
        with self._lock:
            self.requests.append(form)
            self.received_at.append(time.monotonic())
            number = len(self.requests)
        time.sleep(self.delay)
        valid = (
            handler.path == "/token"
            and form.get("grant_type") == "client_credentials"
            and form.get("client_id") == self.client_id
            and form.get("client_secret") == self.client_secret
        )
        if valid:
            status = 200
            body: dict[str, Any] = {
                "access_token": self.access_token or f"token-{number}",
                "expires_in": self.expires_in,
                "token_type": "Bearer",
            }
        else:
            status, body = 401, {"error": "invalid_client"}
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


@pytest.fixture
def secret() -> str:
    return f"s3cr3t-{uuid.uuid4().hex}"


@pytest.fixture
def token_endpoint(secret: str) -> Iterator[TokenEndpoint]:
    with TokenEndpoint(client_id=CLIENT_ID, client_secret=secret) as endpoint:
        yield endpoint


def oauth_settings(address: str, endpoint: TokenEndpoint, secret: str, **extra: Any) -> ZeebeSettings:
    return ZeebeSettings(
        address=address,
        client_id=CLIENT_ID,
        client_secret=SecretStr(secret),
        authorization_server_url=endpoint.url,
        **extra,
    )


@pytest.fixture
def recording_engine() -> Iterator[ZeebeEngine]:
    """An engine of this test only, so the calls it records are this test's."""
    with ZeebeEngine() as engine:
        yield engine


# -- OAuth -------------------------------------------------------------------------------------------


def test_oauth_token_is_fetched_once_and_reused_across_calls(
    zeebe_address: str, token_endpoint: TokenEndpoint, secret: str, unique
) -> None:
    settings = oauth_settings(zeebe_address, token_endpoint, secret, insecure_connection=True)

    with ZeebeClient(settings) as client:
        client.deploy_resource(unique.resource("one_task.bpmn", "one-task", "test-work"))
        for _ in range(10):
            client.create_process_instance(unique("one-task"))
        jobs = client.activate_jobs(unique("test-work"), worker="oauth", timeout=30, max_jobs=10, request_timeout=5)
        for job in jobs:
            client.complete_job(job.key)
        assert client.topology().is_healthy

    assert len(jobs) == 10
    assert token_endpoint.requests == [
        {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": secret,
            # Without ZEEBE_TOKEN_AUDIENCE the audience is the gateway's host.
            "audience": "127.0.0.1",
        }
    ]


def test_oauth_token_is_refreshed_shortly_before_it_expires(
    zeebe_address: str, token_endpoint: TokenEndpoint, secret: str
) -> None:
    token_endpoint.expires_in = 2.0
    settings = oauth_settings(zeebe_address, token_endpoint, secret, insecure_connection=True)

    with ZeebeClient(settings) as client:
        deadline = time.monotonic() + 10
        while len(token_endpoint.requests) < 2 and time.monotonic() < deadline:
            client.topology()
            time.sleep(0.05)

    assert len(token_endpoint.requests) == 2
    # Refreshed 20% of the lifetime early (at most 30s early): after 1.6s, before the 2s expiry.
    gap = token_endpoint.received_at[1] - token_endpoint.received_at[0]
    assert 1.5 <= gap < 2.0


def test_concurrent_calls_share_a_single_token_fetch(
    zeebe_address: str, token_endpoint: TokenEndpoint, secret: str
) -> None:
    token_endpoint.delay = 0.3
    settings = oauth_settings(zeebe_address, token_endpoint, secret, insecure_connection=True)
    threads = 16
    barrier = threading.Barrier(threads)

    def call(client: ZeebeClient) -> str:
        barrier.wait(timeout=10)
        return client.topology().gateway_version

    with ZeebeClient(settings) as client, futures.ThreadPoolExecutor(max_workers=threads) as pool:
        versions = list(pool.map(call, [client] * threads))

    assert versions == ["8.9.0"] * threads
    assert len(token_endpoint.requests) == 1


def test_refused_credentials_raise_unauthenticated_without_revealing_the_secret(
    zeebe_address: str, token_endpoint: TokenEndpoint, secret: str, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = f"wrong-{secret}"
    settings = oauth_settings(zeebe_address, token_endpoint, wrong, insecure_connection=True)
    caplog.set_level(logging.DEBUG)

    with ZeebeClient(settings) as client, pytest.raises(UnauthenticatedError) as caught:
        client.topology()

    error = caught.value
    assert CLIENT_ID in str(error)
    assert "401" in str(error)
    shown = [str(error), repr(error), error.details, "".join(traceback.format_exception(error)), caplog.text]
    assert not [text for text in shown if wrong in text]
    # Refused credentials are terminal: at most the one retry with a fresh token, no back-off loop.
    assert 1 <= len(token_endpoint.requests) <= 2
    assert all(form["client_secret"] == wrong for form in token_endpoint.requests)


def test_secret_never_appears_in_reprs_or_configuration_errors(
    zeebe_address: str, token_endpoint: TokenEndpoint, secret: str
) -> None:
    settings = oauth_settings(zeebe_address, token_endpoint, secret, insecure_connection=True)
    client = ZeebeClient(settings)
    with client:
        client.topology()  # the token is fetched and cached now
        shown = [repr(settings), str(settings), repr(client), str(client), settings.model_dump_json()]
    with pytest.raises(ConfigurationError) as caught:
        load_settings(
            ZeebeSettings,
            address=zeebe_address,
            client_id=CLIENT_ID,
            client_secret=secret,
            authorization_server_url="ftp://auth.example/token",
        )
    shown.append(str(caught.value))

    assert "ZEEBE_AUTHORIZATION_SERVER_URL" in str(caught.value)
    assert not [text for text in shown if secret in text]


def test_bearer_token_goes_in_the_authorization_header_of_every_call(
    recording_engine: ZeebeEngine, token_endpoint: TokenEndpoint, secret: str
) -> None:
    token_endpoint.expires_in = 1.0
    settings = oauth_settings(recording_engine.address, token_endpoint, secret, insecure_connection=True)

    with ZeebeClient(settings) as client:
        client.topology()
        client.activate_jobs("anything", worker="w", timeout=10, max_jobs=1, request_timeout=1)
        # After the token's lifetime less its refresh margin, calls carry the next token.
        deadline = time.monotonic() + 5
        while len(token_endpoint.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            client.topology()

    headers = [call.metadata.get("authorization") for call in recording_engine.faults.calls()]
    assert headers[:2] == ["Bearer token-1", "Bearer token-1"]
    assert headers[-1] == "Bearer token-2"
    assert set(headers) == {"Bearer token-1", "Bearer token-2"}


def test_an_engine_that_checks_the_bearer_token_serves_only_calls_that_carry_it(
    token_endpoint: TokenEndpoint, secret: str
) -> None:
    with ZeebeEngine(token="token-1") as engine:
        with ZeebeClient(oauth_settings(engine.address, token_endpoint, secret, insecure_connection=True)) as client:
            assert client.topology().is_healthy
        with ZeebeClient(ZeebeSettings(address=engine.address)) as anonymous, pytest.raises(UnauthenticatedError):
            anonymous.topology(retry=False)


# -- TLS ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and its key for 127.0.0.1 and localhost."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "gateway.crt", directory / "gateway.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def tls_broker(certificate: tuple[Path, Path]) -> Iterator[ZeebeEngine]:
    cert, key = certificate
    with ZeebeEngine(certificate=cert.read_bytes(), private_key=key.read_bytes()) as engine:
        yield engine


def test_tls_client_trusting_the_gateways_certificate_runs_instances(
    tls_broker: ZeebeEngine, certificate: tuple[Path, Path], unique, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZEEBE_ADDRESS", tls_broker.address)
    monkeypatch.setenv("ZEEBE_CA_CERTIFICATE_PATH", str(certificate[0]))

    with ZeebeClient.from_env() as client:
        assert client.settings.uses_tls
        assert client.topology().gateway_version == "8.9.0"
        client.deploy_resource(unique.resource("one_task.bpmn", "one-task", "test-work"))
        instance = client.create_process_instance(unique("one-task"))
        [job] = client.activate_jobs(unique("test-work"), worker="tls", timeout=30, max_jobs=1, request_timeout=5)
        client.complete_job(job.key)
    # The certificate names localhost as well as 127.0.0.1.
    by_name = ZeebeSettings(address=f"localhost:{tls_broker.port}", ca_certificate_path=certificate[0])
    with ZeebeClient(by_name) as client:
        assert client.topology().is_healthy

    assert job.process_instance_key == instance.process_instance_key


def test_tls_client_with_system_roots_rejects_the_self_signed_gateway(tls_broker: ZeebeEngine) -> None:
    settings = ZeebeSettings(address=tls_broker.address, insecure_connection=False)

    with ZeebeClient(settings) as client, pytest.raises(GatewayUnavailableError) as caught:
        client.topology(timeout=5, retry=False)

    assert caught.value.code is grpc.StatusCode.UNAVAILABLE
    assert "CERTIFICATE_VERIFY_FAILED" in caught.value.details


def test_plaintext_client_cannot_talk_to_the_tls_gateway(tls_broker: ZeebeEngine) -> None:
    settings = ZeebeSettings(address=tls_broker.address, insecure_connection=True)

    with ZeebeClient(settings) as client, pytest.raises(GatewayUnavailableError) as caught:
        client.topology(timeout=5, retry=False)

    assert caught.value.code is grpc.StatusCode.UNAVAILABLE


def test_oauth_over_tls_configured_from_the_standard_environment_variables(
    tls_broker: ZeebeEngine,
    certificate: tuple[Path, Path],
    token_endpoint: TokenEndpoint,
    secret: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZEEBE_ADDRESS", tls_broker.address)
    monkeypatch.setenv("ZEEBE_CA_CERTIFICATE_PATH", str(certificate[0]))
    monkeypatch.setenv("ZEEBE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("ZEEBE_CLIENT_SECRET", secret)
    monkeypatch.setenv("ZEEBE_AUTHORIZATION_SERVER_URL", token_endpoint.url)
    monkeypatch.setenv("ZEEBE_TOKEN_AUDIENCE", "zeebe.test")

    with ZeebeClient.from_env() as client:
        assert client.topology().is_healthy
        assert client.topology().is_healthy

    assert [form["audience"] for form in token_endpoint.requests] == ["zeebe.test"]
