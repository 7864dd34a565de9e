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


def channel_options(settings: ZeebeSettings) -> list[tuple[str, int | str]]:
    """The options every channel gets: keepalive, message size limits, user agent."""
    keepalive_ms = int(settings.keepalive * 1000)
    return [
        ("grpc.keepalive_time_ms", keepalive_ms),
        ("grpc.keepalive_timeout_ms", max(1000, keepalive_ms // 3)),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
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
