"""The plumbing every RPC of :class:`~zeebe_celery.gateway.client.ZeebeClient` shares: the per-process
channel, the OAuth token, the one unary call path (deadline, error mapping, retries), open job calls, and
the gateway's version, asked once per channel.

The client opens its channel lazily, once per process: a client created before a fork never shares a
channel with the child, which opens its own on first use.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Self

import grpc

from zeebe_celery.config import ZeebeSettings, load_settings
from zeebe_celery.errors import UnauthenticatedError, map_grpc_error
from zeebe_celery.gateway.channel import build_channel, build_token_provider
from zeebe_celery.gateway.oauth import OAuthTokenProvider
from zeebe_celery.gateway.proto import gateway_pb2 as pb
from zeebe_celery.gateway.proto.gateway_pb2_grpc import GatewayStub
from zeebe_celery.gateway.retry import RetryPolicy
from zeebe_celery.gateway.types import Topology
from zeebe_celery.gateway.versions import Feature, require
from zeebe_celery.job import Job

__all__ = ["ChannelFactory", "ClientBase", "Deferred", "JobCall"]

logger = logging.getLogger(__name__)

ChannelFactory = Callable[[], grpc.Channel]
# Where a deferring view hands its job reports: (rpc, request, timeout in seconds, metadata or None).
Deferred = Callable[[str, Any, float, Any], None]
_REPORTS = frozenset({"CompleteJob", "FailJob", "ThrowError"})


def is_gateway_rejection(error: UnauthenticatedError) -> bool:
    """Whether the gateway refused the token, rather than the authorization server the credentials."""
    return isinstance(error.__cause__, grpc.RpcError)


class _State(enum.Enum):
    UNOPENED = 1
    OPENED = 2
    CLOSED = 3


class _Connection:
    """The per-process channel, shared by a client and its ``with_options`` views, and the version of
    the gateway at its end (None until asked)."""

    def __init__(self, factory: ChannelFactory) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._pid = 0
        self._channel: grpc.Channel | None = None
        self._stub: GatewayStub | None = None
        self.state = _State.UNOPENED
        self.gateway_version: str | None = None
        ref = weakref.ref(self)

        def forget_in_child() -> None:
            connection = ref()
            if connection is not None:
                connection._forget()

        os.register_at_fork(after_in_child=forget_in_child)

    def _forget(self) -> None:
        # The parent's channel belongs to the parent: the child neither uses nor closes it.
        self._lock = threading.Lock()
        self._channel = None
        self._stub = None
        self._pid = 0
        self.gateway_version = None

    def stub(self) -> GatewayStub:
        stub = self._stub
        if stub is not None and self._pid == os.getpid():
            return stub
        with self._lock:
            if self.state is _State.CLOSED:
                raise RuntimeError("this ZeebeClient is closed")
            if self._stub is None or self._pid != os.getpid():
                self._channel = self._factory()
                self._stub = GatewayStub(self._channel)
                self._pid = os.getpid()
                self.gateway_version = None
                self.state = _State.OPENED
            return self._stub

    def close(self) -> None:
        with self._lock:
            if self._channel is not None and self._pid == os.getpid():
                self._channel.close()
            self._channel = None
            self._stub = None
            self.gateway_version = None
            self.state = _State.CLOSED


class JobCall:
    """An open ActivateJobs or StreamActivatedJobs call: iterate it for jobs, :meth:`cancel` to end it.

    Jobs received before an error or a cancel are still yielded; the error is raised after them,
    mapped to :mod:`zeebe_celery.errors`. A cancelled call just ends. When the gateway refuses the
    token (UNAUTHENTICATED), ``token_rejected`` runs before the error is raised, so that the next call
    fetches a new token.
    """

    def __init__(
        self,
        call: Any,
        rpc: str,
        unpack: Callable[[Any], Iterable[pb.ActivatedJob]],
        *,
        token_rejected: Callable[[], None] | None = None,
    ) -> None:
        self._call = call
        self._rpc = rpc
        self._unpack = unpack
        self._token_rejected = token_rejected
        self._cancelled = False

    def __iter__(self) -> Iterator[Job]:
        for activated in self.activated():
            yield Job.from_activated(activated)

    def activated(self) -> Iterator[pb.ActivatedJob]:
        """The jobs as the gateway sent them, unparsed: for code that forwards them, like the poller."""
        try:
            for message in self._call:
                yield from self._unpack(message)
        except grpc.RpcError as exc:
            if self._cancelled:
                return
            error = map_grpc_error(exc, rpc=self._rpc)
            if isinstance(error, UnauthenticatedError) and self._token_rejected is not None:
                self._token_rejected()
            raise error from exc

    def cancel(self) -> None:
        """End the call; safe to call from another thread and more than once."""
        self._cancelled = True
        self._call.cancel()


class ClientBase:
    """Settings, channel, token and the unary call path; the RPC groups build on it."""

    def __init__(
        self,
        settings: ZeebeSettings | None = None,
        *,
        retry: RetryPolicy | None = None,
        channel_factory: ChannelFactory | None = None,
    ) -> None:
        self.settings = settings if settings is not None else ZeebeSettings.model_construct()
        self._tokens: OAuthTokenProvider | None = (
            None if channel_factory is not None else build_token_provider(self.settings)
        )
        factory = channel_factory or (lambda: build_channel(self.settings, self._tokens))
        self._conn = _Connection(factory)
        self._retry = retry or RetryPolicy()
        self._timeout = self.settings.request_timeout
        self.own_channel = channel_factory is None  # its channel is what its settings describe
        self._defer: Deferred | None = None

    def deferred(self, send: Deferred) -> Self:
        """A view on this client whose job reports (CompleteJob, FailJob, ThrowError) are handed to ``send``,
        with their timeout and token, instead of being made here; every other call is made as usual. For a
        sender on a channel of its own (:mod:`zeebe_celery.report_loop`), built from these settings."""
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__)
        view._defer = send
        return view

    @classmethod
    def from_env(cls, **overrides: Any) -> Self:
        """Build a client from the standard environment variables and ``.env``.

        Raises ConfigurationError naming the variable when the settings are inconsistent.
        """
        return cls(load_settings(ZeebeSettings, **overrides))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(address={self.settings.gateway_address!r}, state={self._conn.state.name})"

    def close(self) -> None:
        """Close this process's channel; the client cannot be used afterwards. Safe to call twice."""
        self._conn.close()

    # -- the token -----------------------------------------------------------------------------------

    def _token(self) -> str | None:
        """The token the next call sends (fetched now if need be), or None without OAuth.

        Raises UnauthenticatedError when the authorization server refuses the credentials.
        """
        return self._tokens.token() if self._tokens is not None else None

    def _rejecter(self, token: str | None) -> Callable[[], None] | None:
        """What to run when the gateway refuses ``token``: forget it, unless another thread already did."""
        tokens = self._tokens
        if tokens is None:
            return None
        return lambda: tokens.invalidate(token)

    # -- the unary call path -------------------------------------------------------------------------

    def _unary(
        self,
        rpc: str,
        request: Any,
        *,
        idempotent: bool = False,
        timeout: float | None = None,
        retry: bool = True,
    ) -> Any:
        deadline = timeout if timeout is not None else self._timeout
        if self._defer is not None and rpc in _REPORTS:
            token = self._token()
            metadata = None if token is None else (("authorization", f"Bearer {token}"),)
            self._defer(rpc, request, self._retry.attempt_timeout(deadline), metadata)
            return None

        def attempt() -> Any:
            method = getattr(self._conn.stub(), rpc)
            try:
                return method(request, timeout=self._retry.attempt_timeout(deadline))
            except grpc.RpcError as exc:
                raise map_grpc_error(exc, rpc=rpc, idempotent=idempotent) from exc

        def attempt_with_fresh_token() -> Any:
            # Read outside the try: a refusal by the authorization server is raised as it is, once.
            token = self._token()
            try:
                return attempt()
            except UnauthenticatedError as error:
                if self._tokens is None or not is_gateway_rejection(error):
                    raise
                # A revoked or rotated token: fetch a new one and try exactly once more. Only this
                # token is forgotten, so threads that got the same refusal share one new fetch.
                self._tokens.invalidate(token)
                return attempt()

        if not retry:
            return attempt_with_fresh_token()
        return self._retry.call(attempt_with_fresh_token)

    # -- the cluster ---------------------------------------------------------------------------------

    def topology(self, *, timeout: float | None = None, retry: bool = True) -> Topology:
        """The brokers, partitions and their health, as the gateway sees them."""
        return Topology.from_pb(self._unary("Topology", pb.TopologyRequest(), timeout=timeout, retry=retry))

    def gateway_version(self) -> str:
        """The version the gateway reports in its Topology: asked on first need, once per channel (a new
        channel, after a fork say, asks again)."""
        self._conn.stub()
        known = self._conn.gateway_version
        if known is not None:
            return known
        version = self.topology().gateway_version
        self._conn.gateway_version = version
        return version

    def _require(self, feature: Feature, *, rpc: str) -> None:
        """Raise UnsupportedByGatewayError, before anything is sent, when the gateway would ignore
        ``feature``."""
        require(feature, self.gateway_version(), rpc=rpc)
