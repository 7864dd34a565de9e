"""ZeebeClient with OAuth on the engine: every call carries the cached bearer token, a refused token is
renewed once, and a refused client secret never reaches the gateway."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import pytest

from tests.unit.engine_jobs import EngineJobs
from zeebe_celery.config import ZeebeSettings
from zeebe_celery.engine import ZeebeEngine
from zeebe_celery.engine.faults import Faults
from zeebe_celery.errors import (
    UnauthenticatedError,
)
from zeebe_celery.gateway.client import ZeebeClient
from zeebe_celery.gateway.retry import RetryPolicy

if TYPE_CHECKING:
    from tests.unit.conftest import TokenServer

S = grpc.StatusCode
FAST_RETRY = RetryPolicy(initial=0.001, maximum=0.01, budget=2)

pytestmark = pytest.mark.usefixtures("clean_env")


def settings(engine: ZeebeEngine, **extra: Any) -> ZeebeSettings:
    return ZeebeSettings(address=engine.address, **extra)


# -- OAuth -------------------------------------------------------------------------------------------


@pytest.fixture
def oauth_client(engine: ZeebeEngine, token_server: TokenServer, clean_env: Path) -> Iterator[ZeebeClient]:
    oauth = settings(
        engine,
        client_id="id",
        client_secret="s3cr3t",
        authorization_server_url=token_server.url,
        insecure_connection=True,
    )
    with ZeebeClient(oauth, retry=FAST_RETRY) as zeebe:
        yield zeebe


def authorizations(faults: Faults, rpc: str | None = None) -> list[str | None]:
    return [call.metadata.get("authorization") for call in faults.calls(rpc)]


def test_every_call_carries_the_cached_bearer_token(
    faults: Faults, job_key: int, token_server: TokenServer, oauth_client: ZeebeClient
) -> None:
    oauth_client.topology()
    oauth_client.complete_job(job_key)

    assert authorizations(faults) == ["Bearer token-1", "Bearer token-1"]
    assert token_server.fetches == 1
    assert token_server.forms[0]["client_secret"] == "s3cr3t"


def test_unauthenticated_fetches_a_fresh_token_and_retries_once(
    faults: Faults, jobs: EngineJobs, job_key: int, token_server: TokenServer, oauth_client: ZeebeClient
) -> None:
    faults.fail("CompleteJob", "UNAUTHENTICATED", "token revoked")

    oauth_client.complete_job(job_key)

    assert token_server.fetches == 2
    assert authorizations(faults, "CompleteJob") == ["Bearer token-1", "Bearer token-2"]
    assert jobs.state(job_key) is None


def test_unauthenticated_twice_in_a_row_raises(
    faults: Faults, job_key: int, token_server: TokenServer, oauth_client: ZeebeClient
) -> None:
    faults.fail("CompleteJob", "UNAUTHENTICATED", "token revoked", times=2)

    with pytest.raises(UnauthenticatedError, match="token revoked"):
        oauth_client.complete_job(job_key)

    assert token_server.fetches == 2
    assert len(faults.calls("CompleteJob")) == 2


def test_a_refused_client_secret_is_unauthenticated_and_never_reaches_the_gateway(
    faults: Faults, job_key: int, token_server: TokenServer, oauth_client: ZeebeClient
) -> None:
    token_server.status = 401

    with pytest.raises(UnauthenticatedError) as caught:
        oauth_client.complete_job(job_key)

    assert "s3cr3t" not in str(caught.value)
    assert faults.calls("CompleteJob") == []
    assert token_server.fetches == 1


def test_a_refused_client_secret_is_fetched_once_per_call(
    faults: Faults, job_type: str, token_server: TokenServer, oauth_client: ZeebeClient
) -> None:
    token_server.status = 401

    with pytest.raises(UnauthenticatedError) as caught:
        oauth_client.activate_jobs(job_type, worker="w", timeout=60, max_jobs=5)

    assert caught.value.code is S.UNAUTHENTICATED
    assert token_server.fetches == 1
    assert faults.calls("ActivateJobs") == []


def test_unauthenticated_activation_gets_a_fresh_token_and_retries_once(
    faults: Faults, jobs: EngineJobs, job_type: str, token_server: TokenServer, oauth_client: ZeebeClient
) -> None:
    faults.fail("ActivateJobs", "UNAUTHENTICATED", "token revoked")
    (instance,) = jobs.create(job_type)

    activated = oauth_client.activate_jobs(job_type, worker="w", timeout=60, max_jobs=5)

    assert [job.process_instance_key for job in activated] == [instance]
    assert authorizations(faults, "ActivateJobs") == ["Bearer token-1", "Bearer token-2"]
    assert token_server.fetches == 2


def test_unauthenticated_activation_twice_in_a_row_raises(
    faults: Faults, job_type: str, token_server: TokenServer, oauth_client: ZeebeClient
) -> None:
    faults.fail("ActivateJobs", "UNAUTHENTICATED", "token revoked", times=2)

    with pytest.raises(UnauthenticatedError, match="token revoked"):
        oauth_client.activate_jobs(job_type, worker="w", timeout=60, max_jobs=5)

    assert len(faults.calls("ActivateJobs")) == 2
    assert token_server.fetches == 2


@pytest.mark.parametrize(
    ("rpc", "open_call"),
    [
        (
            "ActivateJobs",
            lambda c, t: c.open_activate_jobs(t, worker="w", timeout=60, max_jobs=5, request_timeout=-1),
        ),
        ("StreamActivatedJobs", lambda c, t: c.stream_activated_jobs(t, worker="w", timeout=60)),
    ],
    ids=["open_activate_jobs", "stream_activated_jobs"],
)
def test_an_open_job_call_refused_as_unauthenticated_raises_and_forgets_the_token(
    faults: Faults,
    job_type: str,
    token_server: TokenServer,
    oauth_client: ZeebeClient,
    rpc: str,
    open_call: Callable[[ZeebeClient, str], Any],
) -> None:
    faults.fail(rpc, "UNAUTHENTICATED", "token revoked")

    with pytest.raises(UnauthenticatedError, match="token revoked"):
        list(open_call(oauth_client, job_type))
    call = open_call(oauth_client, job_type)
    if rpc == "StreamActivatedJobs":
        assert faults.wait_for_calls(rpc, 2) == 2
        call.cancel()
    list(call)

    assert authorizations(faults, rpc) == ["Bearer token-1", "Bearer token-2"]


def test_a_token_another_thread_already_renewed_is_not_dropped_again(
    faults: Faults,
    job_key: int,
    token_server: TokenServer,
    oauth_client: ZeebeClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tokens = oauth_client._tokens
    assert tokens is not None
    renew = tokens.invalidate

    def renewed_by_another_thread_first(token: str | None = None) -> None:
        # Another thread got the same refusal a moment earlier and has fetched token-2 already.
        renew()
        tokens.token()
        renew(token)

    monkeypatch.setattr(tokens, "invalidate", renewed_by_another_thread_first)
    faults.fail("CompleteJob", "UNAUTHENTICATED", "token revoked")

    oauth_client.complete_job(job_key)

    assert authorizations(faults, "CompleteJob") == ["Bearer token-1", "Bearer token-2"]
    assert token_server.fetches == 2
