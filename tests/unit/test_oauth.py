"""OAuthTokenProvider against a real token endpoint on 127.0.0.1: caching, refresh before expiry, one
fetch across threads, refusals and outages, and a secret that never shows."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import grpc
import pytest
from pydantic import SecretStr

from zeebe_celery.errors import (
    AuthorizationServerError,
    ConfigurationError,
    GatewayUnavailableError,
    UnauthenticatedError,
)
from zeebe_celery.gateway.oauth import OAuthTokenProvider

if TYPE_CHECKING:
    from conftest import TokenServer

SECRET = "s3cr3t-do-not-print"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def provider(url: str, clock: Clock | None = None, **extra: object) -> OAuthTokenProvider:
    return OAuthTokenProvider(
        url=url,
        client_id="worker-1",
        client_secret=SecretStr(SECRET),
        audience="zeebe.example.com",
        scope="zeebe",
        timeout=2.0,
        clock=clock or Clock(),
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def closed_port_url() -> Iterator[str]:
    """A URL on a loopback port that is bound but not listening, so connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/token"


def test_the_token_is_fetched_once_and_cached(token_server: TokenServer) -> None:
    tokens = provider(token_server.url)

    assert [tokens.token(), tokens.token(), tokens.token()] == ["token-1"] * 3
    assert token_server.fetches == 1
    assert tokens.fetch_count == 1


def test_the_fetch_sends_the_client_credentials_grant(token_server: TokenServer) -> None:
    provider(token_server.url).token()

    assert token_server.forms == [
        {
            "grant_type": "client_credentials",
            "client_id": "worker-1",
            "client_secret": SECRET,
            "audience": "zeebe.example.com",
            "scope": "zeebe",
        }
    ]


def test_the_token_is_refreshed_the_margin_before_it_expires(token_server: TokenServer) -> None:
    clock = Clock()
    token_server.expires_in = 300
    tokens = provider(token_server.url, clock, refresh_margin=30.0)
    assert tokens.token() == "token-1"

    clock.now += 269.5
    assert tokens.token() == "token-1"
    clock.now += 0.5
    assert tokens.token() == "token-2"
    assert token_server.fetches == 2


def test_a_short_lived_token_is_refreshed_at_80_percent_of_its_life(token_server: TokenServer) -> None:
    clock = Clock()
    token_server.expires_in = 10
    tokens = provider(token_server.url, clock, refresh_margin=30.0)
    tokens.token()

    clock.now += 7.5
    assert tokens.token() == "token-1"
    clock.now += 0.5
    assert tokens.token() == "token-2"


@pytest.mark.parametrize("expires_in", [0, -5, None, "soon", True], ids=["zero", "negative", "null", "text", "bool"])
def test_a_token_without_a_usable_lifetime_is_kept_for_five_minutes(
    token_server: TokenServer, expires_in: object
) -> None:
    clock = Clock()
    token_server.expires_in = expires_in
    tokens = provider(token_server.url, clock, refresh_margin=30.0)
    assert tokens.token() == "token-1"

    clock.now += 269
    assert tokens.token() == "token-1"
    clock.now += 1
    assert tokens.token() == "token-2"


def test_a_token_answer_without_expires_in_is_kept_for_five_minutes(token_server: TokenServer) -> None:
    clock = Clock()
    token_server.body = b'{"access_token": "only", "token_type": "Bearer"}'
    tokens = provider(token_server.url, clock, refresh_margin=30.0)
    tokens.token()

    clock.now += 269
    tokens.token()
    assert token_server.fetches == 1
    clock.now += 1
    tokens.token()
    assert token_server.fetches == 2


def test_expires_in_sent_as_text_is_read(token_server: TokenServer) -> None:
    clock = Clock()
    token_server.expires_in = "60"
    tokens = provider(token_server.url, clock, refresh_margin=30.0)
    tokens.token()

    clock.now += 47.5
    tokens.token()
    assert token_server.fetches == 1
    clock.now += 0.5
    tokens.token()
    assert token_server.fetches == 2


def test_an_unreachable_authorization_server_error_carries_unavailable(closed_port_url: str) -> None:
    with pytest.raises(GatewayUnavailableError) as caught:
        provider(closed_port_url).token()

    assert caught.value.code is grpc.StatusCode.UNAVAILABLE


def test_invalidate_makes_the_next_call_fetch_again(token_server: TokenServer) -> None:
    tokens = provider(token_server.url)
    tokens.token()

    tokens.invalidate(token="some-older-token")
    assert tokens.token() == "token-1"
    tokens.invalidate(token="token-1")
    assert tokens.token() == "token-2"
    tokens.invalidate()
    assert tokens.token() == "token-3"


def test_threads_asking_at_once_share_one_fetch(token_server: TokenServer) -> None:
    token_server.delay = 0.2
    tokens = provider(token_server.url)
    start = threading.Barrier(8)
    results: list[str] = []
    lock = threading.Lock()

    def ask() -> None:
        start.wait()
        value = tokens.token()
        with lock:
            results.append(value)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == ["token-1"] * 8
    assert token_server.fetches == 1


@pytest.mark.parametrize("status", [400, 401, 403])
def test_refused_credentials_raise_unauthenticated_without_the_secret(token_server: TokenServer, status: int) -> None:
    token_server.status = status

    with pytest.raises(UnauthenticatedError) as caught:
        provider(token_server.url).token()

    assert f"HTTP {status}" in str(caught.value)
    assert caught.value.code is grpc.StatusCode.UNAUTHENTICATED
    assert "worker-1" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)


def test_a_failing_authorization_server_is_unavailable(token_server: TokenServer) -> None:
    token_server.status = 503

    with pytest.raises(AuthorizationServerError, match="HTTP 503"):
        provider(token_server.url).token()


def test_an_unreachable_authorization_server_is_unavailable(closed_port_url: str) -> None:
    with pytest.raises(AuthorizationServerError, match="cannot reach the authorization server") as caught:
        provider(closed_port_url).token()

    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"<html>login</html>", "did not answer with JSON"), (b'{"token": "x"}', "has no access_token")],
)
def test_an_answer_without_a_token_is_a_configuration_error(
    token_server: TokenServer, body: bytes, message: str
) -> None:
    token_server.body = body

    with pytest.raises(ConfigurationError, match=message):
        provider(token_server.url).token()


def test_repr_hides_the_secret(token_server: TokenServer) -> None:
    text = repr(provider(token_server.url))

    assert SECRET not in text
    assert "worker-1" in text


def test_fetching_logs_no_secret_and_no_token(token_server: TokenServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="zeebe_celery")

    provider(token_server.url).token()

    assert "worker-1" in caplog.text
    assert SECRET not in caplog.text
    assert "token-1" not in caplog.text
