"""The Celery broker as the bridge reads it: Redis (a server, or a master behind Sentinel) or AMQP (RabbitMQ,
``amqp://``, ``pyamqp://`` or ``amqps://`` over TLS), and the broker settings it refuses at start.

Celery also takes a list of broker URLs (a Python list, or its ``;``-separated form) and fails over between
them. The bridge refuses such a list, naming the setting: after a failover kombu connects with its own
transport for the next URL, so a worker would take poison messages unguarded, and on Redis the poller's
direct publishing and flow control would stay on the first server. A RabbitMQ cluster is named by one
address (a load balancer or a DNS name over its nodes); Redis is made highly available with Sentinel, whose
``sentinel://h1:26379;sentinel://h2:26379`` form lists Sentinels, not brokers, and is taken.
"""

from __future__ import annotations

import ssl
from typing import Any

from celery import Celery

from zeebe_celery.config import BridgeSettings, broker_url
from zeebe_celery.errors import ConfigurationError

__all__ = ["AMQP_SCHEMES", "amqp_ssl", "broker_scheme", "broker_setting", "check_broker", "is_amqp_url"]

AMQP_SCHEMES = ("amqp", "amqps", "pyamqp")
_SENTINEL = "sentinel"


def _parts(url: str) -> list[str]:
    return [part.strip() for part in url.split(";") if part.strip()]


def broker_scheme(url: str) -> str:
    """The scheme of the (first) broker URL, ``""`` when it has none."""
    first = next(iter(_parts(url)), "")
    return first.partition("://")[0] if "://" in first else ""


def is_amqp_url(url: str) -> bool:
    """Whether ``url`` names an AMQP broker (RabbitMQ), with or without TLS."""
    return broker_scheme(url) in AMQP_SCHEMES


def broker_setting(bridge: BridgeSettings) -> str:
    """The setting the broker URL comes from, to name in errors."""
    return "ZEEBE_CELERY_BROKER_URL" if bridge.broker_url else "the Celery app's broker_url"


def check_broker(bridge: BridgeSettings, app: Celery) -> str:
    """The broker URL, checked at start; raises ConfigurationError naming the setting for a list of brokers.

    A bare ``amqps://`` URL gets certificate and host name checks (``broker_use_ssl``) unless the app set its
    own: TLS is verified unless the user turns it off.
    """
    url = broker_url(bridge, app)
    parts = _parts(url)
    schemes = {part.partition("://")[0] for part in parts}
    if len(parts) > 1 and schemes != {_SENTINEL}:
        hint = (
            "name the Redis master through Sentinel instead (sentinel://h1:26379;sentinel://h2:26379 with "
            "broker_transport_options['master_name'])"
            if schemes & {"redis", "rediss", "unix"}
            else "name the RabbitMQ cluster by one address (a load balancer or a DNS name over its nodes)"
        )
        raise ConfigurationError(
            f"{broker_setting(bridge)}: a list of {len(parts)} broker URLs (Celery's failover form) is not "
            "supported: after a failover kombu would use its own transport, and workers would take poison messages "
            f"unguarded; {hint}"
        )
    app.conf.broker_use_ssl = amqp_ssl(url, app.conf.broker_use_ssl)
    return url


def amqp_ssl(url: str, configured: Any) -> Any:
    """The TLS options of an AMQP connection to ``url``: ``configured`` (Celery's ``broker_use_ssl``) when set,
    else, for ``amqps://``, certificate and host name checks."""
    if configured or broker_scheme(url) != "amqps":
        return configured
    # py-amqp checks the certificate by default; the host name only when it is given (kombu fills in None).
    return {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": None}
