"""Builds the gRPC channel to the gateway from :class:`~zeebe_celery.config.ZeebeSettings`.

Plaintext, TLS (system roots or a CA file) and OAuth client credentials (which works on both); Camunda
SaaS is TLS plus OAuth with the address derived from the cluster id. Keepalive and the maximum message
size are always set.
"""

from __future__ import annotations

import grpc

from zeebe_celery._version import __version__
from zeebe_celery.config import ZeebeSettings
from zeebe_celery.gateway.oauth import OAuthInterceptor, OAuthTokenProvider

__all__ = ["build_channel", "build_token_provider", "channel_options"]


# After a failed dial the channel waits before the next, from the first value up to the last, growing by
# 1.6 each time; calls meanwhile fail at once. gRPC's own (1 s, growing to 2 minutes) leaves a worker
# unable to report for seconds after a gateway restart of a few seconds, long enough for short jobs to time
# out; a dial to a gateway that is down costs next to nothing.
INITIAL_RECONNECT_BACKOFF_MS = 100
MAX_RECONNECT_BACKOFF_MS = 5_000


def channel_options(settings: ZeebeSettings) -> list[tuple[str, int | str]]:
    """The options every channel gets: keepalive, reconnection, message size limits, user agent.

    Keepalive pings a connection with calls in flight every ``settings.keepalive``; one unanswered for a
    third of that (at least a second) means the link is dead: the channel drops the connection, fails its
    calls as UNAVAILABLE (which the retry policy retries) and dials again. Without it, a connection whose
    peer vanished without a reset (a cut link, a lost NAT entry) holds every call until its deadline, for
    as long as the operating system keeps the socket: many minutes. An idle connection is not pinged: a
    gateway may send a client away for pinging without calls ("too_many_pings"), and the first call on a
    dead connection is noticed by the next ping.
    """
    keepalive_ms = int(settings.keepalive * 1000)
    timeout_ms = max(1000, keepalive_ms // 3)
    return [
        ("grpc.keepalive_time_ms", keepalive_ms),
        ("grpc.keepalive_timeout_ms", timeout_ms),
        # gRPC waits this long for any ping's answer, the keepalive's too (a minute by default, which
        # would make the keepalive timeout moot).
        ("grpc.http2.ping_timeout_ms", timeout_ms),
        ("grpc.keepalive_permit_without_calls", 0),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.initial_reconnect_backoff_ms", INITIAL_RECONNECT_BACKOFF_MS),
        ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS),
        ("grpc.max_receive_message_length", settings.max_message_size),
        ("grpc.max_send_message_length", settings.max_message_size),
        ("grpc.primary_user_agent", f"zeebe-celery/{__version__}"),
        # Retries belong to one policy, ours; gRPC's own would multiply them.
        ("grpc.enable_retries", 0),
    ]


def build_token_provider(settings: ZeebeSettings) -> OAuthTokenProvider | None:
    """The OAuth token provider the settings ask for, or None without client credentials."""
    if not settings.uses_oauth or settings.client_id is None or settings.client_secret is None:
        return None
    return OAuthTokenProvider(
        url=settings.oauth_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        audience=settings.oauth_audience,
        scope=settings.token_scope,
    )


def build_channel(settings: ZeebeSettings, token_provider: OAuthTokenProvider | None = None) -> grpc.Channel:
    """Open a channel as ``settings`` describe; connecting itself happens on the first call."""
    options = channel_options(settings)
    address = settings.gateway_address
    if settings.uses_tls:
        root = settings.ca_certificate_path.read_bytes() if settings.ca_certificate_path else None
        channel = grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=root), options)
    else:
        channel = grpc.insecure_channel(address, options)
    if token_provider is not None:
        channel = grpc.intercept_channel(channel, OAuthInterceptor(token_provider))
    return channel
