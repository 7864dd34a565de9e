"""gRPC keepalive on the gateway channel: a connection whose link died without a word (no FIN, no reset) is
given up within seconds, and the next call goes out on a new one once the link is back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from benchmarks.chaos.proxy import CutProxy
from zeebe_celery.config import ZeebeSettings
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.errors import GatewayError, GatewayUnavailableError
from zeebe_celery.gateway.client import ZeebeClient

pytestmark = pytest.mark.integration

KEEPALIVE = 1.0


@pytest.fixture
def proxy(zeebe_engine: ZeebeEngine) -> Iterator[CutProxy]:
    proxy = CutProxy(target_port=zeebe_engine.port).start()
    yield proxy
    proxy.stop()


def test_a_dead_connection_is_given_up_by_keepalive_and_the_next_call_succeeds(proxy: CutProxy) -> None:
    with ZeebeClient(ZeebeSettings(address=proxy.address, keepalive=KEEPALIVE)) as client:
        client.topology()
        outcome: list[object] = []

        def long_poll() -> None:
            call = client.open_activate_jobs("keepalive-nobody", worker="t", timeout=10, max_jobs=1, request_timeout=30)
            try:
                outcome.append(list(call.activated()))
            except GatewayError as error:
                outcome.append(error)

        poll = threading.Thread(target=long_poll)
        poll.start()
        time.sleep(0.5)
        proxy.cut(4.0)
        poll.join(timeout=10)

        # The long poll in flight failed well before its 30 s: a ping went unanswered for a second.
        assert not poll.is_alive()
        assert isinstance(outcome[0], GatewayUnavailableError), outcome
        [dead] = proxy.killed()
        # The proxy's own thread sees the connection closed a moment after the client closed it.
        deadline = time.monotonic() + 3
        while dead.client_closed is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert dead.killed is not None
        assert dead.client_closed is not None
        assert dead.client_closed - dead.killed <= 2 * KEEPALIVE + 1.5

        # Once the link is back, the next call goes out on a new connection.
        time.sleep(max(0.0, proxy.cuts[0][1] - time.time()))
        assert client.topology().brokers
        assert len(proxy.connections) >= 2
