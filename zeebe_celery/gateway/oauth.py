"""OAuth2 client-credentials tokens for the gateway, and the interceptor that sends them.

The token is cached and fetched again shortly before it expires. One fetch runs at a time across
threads; the others wait for its result. The secret never appears in logs, reprs or error texts.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from pydantic import SecretStr

from zeebe_celery.errors import AuthorizationServerError, ConfigurationError, UnauthenticatedError

__all__ = ["OAuthInterceptor", "OAuthTokenProvider"]

logger = logging.getLogger(__name__)


# How long a token whose answer gives no usable expires_in is kept. Should it expire sooner, the gateway
# answers UNAUTHENTICATED and the client fetches a new one.
_UNKNOWN_LIFETIME = 300.0


def _lifetime(expires_in: object) -> float:
    """Seconds a token is valid, from the answer's ``expires_in``: missing, 0, negative or not a number
    (some servers send it as text, some send 0 for "unknown") mean the lifetime is not known."""
    if isinstance(expires_in, bool):
        return _UNKNOWN_LIFETIME
    try:
        lifetime = float(expires_in)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return _UNKNOWN_LIFETIME
    if not math.isfinite(lifetime) or lifetime <= 0:
        return _UNKNOWN_LIFETIME
    return lifetime


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    expires_at: float


class OAuthTokenProvider:
    """Fetches and caches an access token with the client-credentials grant.

    The token is refreshed ``refresh_margin`` seconds before it expires (or at 80% of a short
    lifetime). :meth:`invalidate` drops it, so the next call fetches a new one.
    """

    def __init__(
        self,
        *,
        url: str,
        client_id: str,
        client_secret: SecretStr,
        audience: str | None = None,
        scope: str | None = None,
        timeout: float = 10.0,
        refresh_margin: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._client_id = client_id
        self._client_secret = client_secret
        self._audience = audience
        self._scope = scope
        self._timeout = timeout
        self._refresh_margin = refresh_margin
        self._clock = clock
        self._token: _Token | None = None
        self._lock = threading.Lock()
        self.fetch_count = 0

    def __repr__(self) -> str:
        return f"OAuthTokenProvider(url={self._url!r}, client_id={self._client_id!r}, client_secret='**********')"

    def token(self) -> str:
        """Return a valid access token, fetching one if there is none or it is about to expire.

        Raises UnauthenticatedError when the server refuses the credentials and
        GatewayUnavailableError when it cannot be reached.
        """
        current = self._token
        if current is not None and self._clock() < current.expires_at:
            return current.value
        with self._lock:
            # Another thread may have fetched while this one waited for the lock.
            current = self._token
            if current is not None and self._clock() < current.expires_at:
                return current.value
            self._token = self._fetch()
            return self._token.value

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token (only if it is still ``token``, when given)."""
        with self._lock:
            if token is None or (self._token is not None and self._token.value == token):
                self._token = None

    def _fetch(self) -> _Token:
        form: dict[str, str] = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret.get_secret_value(),
        }
        if self._audience:
            form["audience"] = self._audience
        if self._scope:
            form["scope"] = self._scope
        request = urllib.request.Request(  # noqa: S310 - the URL scheme is validated in ZeebeSettings
            self._url,
            data=urllib.parse.urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            method="POST",
        )
        started = self._clock()
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                payload: Any = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code in (400, 401, 403):
                raise UnauthenticatedError(
                    f"the authorization server refused client {self._client_id!r} (HTTP {exc.code})",
                    code=grpc.StatusCode.UNAUTHENTICATED,
                ) from None
            raise AuthorizationServerError(
                f"the authorization server answered HTTP {exc.code}", code=grpc.StatusCode.UNAVAILABLE
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise AuthorizationServerError(
                f"cannot reach the authorization server: {reason}", code=grpc.StatusCode.UNAVAILABLE
            ) from None
        except ValueError:
            raise ConfigurationError("the authorization server did not answer with JSON") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("access_token"), str):
            raise ConfigurationError("the authorization server's answer has no access_token")
        lifetime = _lifetime(payload.get("expires_in"))
        margin = min(self._refresh_margin, lifetime * 0.2)
        self.fetch_count += 1
        logger.debug("fetched an access token for client %s, valid %.0fs", self._client_id, lifetime)
        return _Token(value=payload["access_token"], expires_at=started + lifetime - margin)


class _CallDetails(grpc.ClientCallDetails):
    def __init__(self, base: grpc.ClientCallDetails, metadata: tuple[tuple[str, str | bytes], ...]) -> None:
        self.method = base.method
        self.timeout = base.timeout
        self.metadata = metadata
        self.credentials = base.credentials
        self.wait_for_ready = base.wait_for_ready
        self.compression = base.compression


class OAuthInterceptor(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[type-arg]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[type-arg]
):
    """Adds ``authorization: Bearer <token>`` to every call, on plaintext and TLS channels alike."""

    def __init__(self, provider: OAuthTokenProvider) -> None:
        self._provider = provider

    def _with_token(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = (*(details.metadata or ()), ("authorization", f"Bearer {self._provider.token()}"))
        return _CallDetails(details, metadata)

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        return continuation(self._with_token(client_call_details), request)

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], client_call_details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        return continuation(self._with_token(client_call_details), request)
