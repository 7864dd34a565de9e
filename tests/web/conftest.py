"""Fixtures of the web UI's tests: one engine with the shop deployed and worked, and a plain HTTP client."""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import pytest

from tests.web.scenario import shop_engine
from zeebe_celery.engine import ZeebeEngine


@dataclass
class Answer:
    status: int
    text: str
    headers: dict[str, str]


class Client:
    """Requests to the web UI, redirects not followed."""

    def __init__(self, base: str) -> None:
        url = urlsplit(base)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80

    def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Answer:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Answer(response.status, response.read().decode("utf-8"), dict(response.getheaders()))
        finally:
            connection.close()

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, form: dict[str, str], headers: dict[str, str] | None = None) -> Answer:
        sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.request("POST", path, urlencode(form).encode(), sent)


@pytest.fixture(scope="module")
def shop() -> Iterator[tuple[ZeebeEngine, dict[str, int]]]:
    with shop_engine() as running:
        yield running


@pytest.fixture(scope="module")
def engine(shop: tuple[ZeebeEngine, dict[str, int]]) -> ZeebeEngine:
    return shop[0]


@pytest.fixture(scope="module")
def keys(shop: tuple[ZeebeEngine, dict[str, int]]) -> dict[str, int]:
    return shop[1]


@pytest.fixture(scope="module")
def client(engine: ZeebeEngine) -> Client:
    assert engine.web_url is not None
    return Client(engine.web_url)


def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.02)
