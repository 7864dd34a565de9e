"""TLS to the gateway that cannot work is a setting to fix, not an outage to ride out: the words for a
failed handshake, and the check a poller makes before it starts."""

from __future__ import annotations

from zeebe_celery.config import ZeebeSettings
from zeebe_celery.errors import ConfigurationError, GatewayError, GatewayUnavailableError
from zeebe_celery.gateway.client import ZeebeClient

__all__ = ["check_tls", "tls_failure"]

# What gRPC's details say when the TLS handshake itself failed (the wording differs between versions).
_HANDSHAKE_FAILED = ("Tls handshake failed", "Ssl handshake failed", "Handshake failed")


def tls_failure(settings: ZeebeSettings, details: str) -> str | None:
    """What is wrong with TLS to the gateway, in words naming the setting to fix, when ``details`` (of an
    UNAVAILABLE) tell a handshake that failed; None for any other failure, such as a gateway that is down."""
    trusted = (
        f"the CA in ZEEBE_CA_CERTIFICATE_PATH ({settings.ca_certificate_path})"
        if settings.ca_certificate_path is not None
        else "the system's trusted CAs (set ZEEBE_CA_CERTIFICATE_PATH to the CA that signed it)"
    )
    if "Hostname Verification" in details or "Peer name" in details:
        return f"the gateway's TLS certificate does not name {settings.gateway_address.rsplit(':', 1)[0]}"
    if "CERTIFICATE_VERIFY_FAILED" in details:
        return f"the gateway's TLS certificate is not signed by {trusted}"
    if "WRONG_VERSION_NUMBER" in details:
        return "the gateway does not speak TLS (for a plaintext gateway set ZEEBE_INSECURE_CONNECTION=true)"
    if any(marker.lower() in details.lower() for marker in _HANDSHAKE_FAILED):
        return "the TLS handshake with the gateway failed"
    return None


def check_tls(client: ZeebeClient, *, timeout: float) -> None:
    """Call the gateway once when the client uses TLS; raise ConfigurationError naming the setting to fix
    when the handshake fails. Any other failure (a gateway that is down) is left to the caller's retries."""
    if not client.settings.uses_tls:
        return
    try:
        client.topology(timeout=timeout, retry=False)
    except GatewayUnavailableError as exc:
        problem = tls_failure(client.settings, exc.details)
        if problem is not None:
            raise ConfigurationError(f"{problem} ({exc.details})") from None
    except GatewayError:
        return
