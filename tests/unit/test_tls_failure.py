"""What a failed TLS handshake with the gateway is told as: a setting to fix, named; anything else is None."""

from __future__ import annotations

from pathlib import Path

import pytest

from zeebe_celery.config import ZeebeSettings
from zeebe_celery.gateway.tls import tls_failure

PREFIX = "failed to connect to all addresses; last error: UNKNOWN: ipv4:10.1.2.3:26500: "


@pytest.mark.parametrize(
    ("details", "ca", "told"),
    [
        (
            "Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:"
            "OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: self signed certificate",
            "ca.pem",
            "the gateway's TLS certificate is not signed by the CA in ZEEBE_CA_CERTIFICATE_PATH (",
        ),
        (
            "Ssl handshake failed: SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:"
            "CERTIFICATE_VERIFY_FAILED",
            None,
            "the gateway's TLS certificate is not signed by the system's trusted CAs",
        ),
        (
            "Custom verification check failed with error: UNAUTHENTICATED: Hostname Verification Check failed.",
            None,
            "the gateway's TLS certificate does not name gateway.internal",
        ),
        (
            "Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:100000f7:SSL routines:"
            "OPENSSL_internal:WRONG_VERSION_NUMBER",
            None,
            "the gateway does not speak TLS",
        ),
        (
            "Tls handshake failed (TSI_PROTOCOL_FAILURE): something new",
            None,
            "the TLS handshake with the gateway failed",
        ),
    ],
)
def test_a_failed_handshake_names_what_to_fix(details: str, ca: str | None, told: str, clean_env: Path) -> None:
    if ca is not None:
        (clean_env / ca).write_text("-----BEGIN CERTIFICATE-----\n")
    settings = ZeebeSettings(address="gateway.internal:26500", ca_certificate_path=clean_env / ca if ca else None)
    problem = tls_failure(settings, PREFIX + details)
    assert problem is not None
    assert problem.startswith(told)


@pytest.mark.parametrize("details", ["Connection refused", "Socket closed", "DNS resolution failed for gateway:26500"])
def test_an_outage_is_no_tls_failure(details: str, clean_env: Path) -> None:
    assert tls_failure(ZeebeSettings(address="gateway.internal:26500"), PREFIX + details) is None
