"""Settings, parsed once at the edge (the CLI or the app) and passed down as objects.

:class:`ZeebeSettings` holds the connection to the gateway under Camunda's standard variable names;
:class:`BridgeSettings` holds the bridge's own options (``ZEEBE_CELERY_*``). Both read the environment
and a ``.env`` file. Library classes take these objects and never read the environment themselves.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, BeforeValidator, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from zeebe_celery.env_names import contradicting_aliases, dotenv_names, env_names, variable_name
from zeebe_celery.errors import ConfigurationError
from zeebe_celery.redis_location import RedisLocation, is_redis_url

if TYPE_CHECKING:
    from celery import Celery

__all__ = [
    "BridgeSettings",
    "Duration",
    "ZeebeSettings",
    "broker_redis",
    "broker_redis_url",
    "broker_url",
    "flow_control_redis",
    "load_settings",
    "parse_duration",
    "redact_url",
]

SAAS_AUTHORIZATION_SERVER_URL = "https://login.cloud.camunda.io/oauth/token"
SAAS_TOKEN_AUDIENCE = "zeebe.camunda.io"  # noqa: S105 - an audience, not a secret
SAAS_DEFAULT_REGION = "bru-2"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: str | float | timedelta) -> float:
    """Return ``value`` in seconds: a number of seconds, a timedelta, or text such as "500ms", "2m".

    Raises ValueError for text that is not a duration or for a negative duration.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not a duration; use e.g. 30s, 500ms, 2m or 1h")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {value!r}")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds, accepted as a number or as text like ``"2m"``."""


def _is_loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]") if ":" in address else address
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ZeebeSettings(BaseSettings):
    """How to reach the Zeebe gateway: address, TLS, OAuth client credentials or Camunda SaaS.

    Raises :class:`~zeebe_celery.errors.ConfigurationError` (through :func:`load_settings`) when the
    values contradict each other, naming the variable to fix.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    address: str | None = Field(
        default=None,
        validation_alias=AliasChoices("ZEEBE_ADDRESS", "ZEEBE_GRPC_ADDRESS", "CAMUNDA_ZEEBE_GRPC_ADDRESS"),
        description="host:port of the gateway; derived from the cluster id for Camunda SaaS",
    )
    client_id: str | None = Field(default=None, validation_alias=AliasChoices("ZEEBE_CLIENT_ID", "CAMUNDA_CLIENT_ID"))
    client_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ZEEBE_CLIENT_SECRET", "CAMUNDA_CLIENT_SECRET")
    )
    authorization_server_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "ZEEBE_AUTHORIZATION_SERVER_URL", "CAMUNDA_OAUTH_URL", "CAMUNDA_AUTHORIZATION_SERVER_URL"
        ),
    )
    token_audience: str | None = Field(
        default=None, validation_alias=AliasChoices("ZEEBE_TOKEN_AUDIENCE", "CAMUNDA_TOKEN_AUDIENCE")
    )
    token_scope: str | None = Field(
        default=None, validation_alias=AliasChoices("ZEEBE_TOKEN_SCOPE", "CAMUNDA_TOKEN_SCOPE")
    )
    connection_type: Literal["CAMUNDA_CLOUD", "INSECURE"] | None = Field(
        default=None,
        validation_alias=AliasChoices("CAMUNDA_CONNECTION_TYPE"),
        description="the Python Camunda SDK's name: CAMUNDA_CLOUD (SaaS) or INSECURE (plaintext, self-hosted)",
    )
    hostname: str | None = Field(
        default=None,
        validation_alias=AliasChoices("ZEEBE_HOSTNAME", "ZEBEE_HOSTNAME"),
        description="the gateway host, with ZEEBE_PORT; the SDK seed's spelling ZEBEE_HOSTNAME is accepted",
    )
    port: int | None = Field(default=None, ge=1, le=65535, validation_alias=AliasChoices("ZEEBE_PORT", "ZEBEE_PORT"))
    cluster_id: str | None = Field(default=None, validation_alias=AliasChoices("CAMUNDA_CLUSTER_ID"))
    cluster_region: str | None = Field(default=None, validation_alias=AliasChoices("CAMUNDA_CLUSTER_REGION"))
    ca_certificate_path: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("ZEEBE_CA_CERTIFICATE_PATH", "CAMUNDA_CA_CERTIFICATE_PATH"),
    )
    insecure_connection: bool | None = Field(
        default=None,
        validation_alias=AliasChoices("ZEEBE_INSECURE_CONNECTION", "CAMUNDA_INSECURE_CONNECTION"),
        description="plaintext gRPC; unset means plaintext for loopback addresses and TLS otherwise",
    )
    request_timeout: Duration = Field(
        default=30.0,
        validation_alias=AliasChoices("ZEEBE_REQUEST_TIMEOUT", "ZEEBE_CELERY_REQUEST_TIMEOUT"),
        gt=0,
        description="deadline of every unary call",
    )
    keepalive: Duration = Field(
        # Zeebe's clients ping every 45 s: the gateway sends away a client that pings more often than every
        # 30 s (its minKeepAliveInterval).
        default=45.0,
        validation_alias=AliasChoices("ZEEBE_KEEP_ALIVE"),
        gt=0,
        description="gRPC keepalive: how often a connection with calls in flight is pinged",
    )
    max_message_size: int = Field(
        default=4 * 1024 * 1024,
        validation_alias=AliasChoices("ZEEBE_CELERY_MAX_MESSAGE_SIZE"),
        gt=0,
        description="bytes; the broker's own limit is 4 MiB by default",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ZeebeSettings:
        self._consistent_sdk_names()
        secret, client = _name_like("client_secret", "client_id"), _name_like("client_id", "client_secret")
        if self.client_id and self.client_secret is None:
            raise ValueError(f"{secret} is required when {client} is set")
        if self.client_secret is not None and not self.client_id:
            raise ValueError(f"{client} is required when {secret} is set")
        if self.cluster_id:
            if not self.client_id:
                client, secret = _name_like("client_id", "cluster_id"), _name_like("client_secret", "cluster_id")
                raise ValueError(f"{client} and {secret} are required with CAMUNDA_CLUSTER_ID")
            if self.insecure_connection:
                raise ValueError("ZEEBE_INSECURE_CONNECTION cannot be true for Camunda SaaS (CAMUNDA_CLUSTER_ID)")
        elif self.cluster_region:
            raise ValueError("CAMUNDA_CLUSTER_REGION is set but CAMUNDA_CLUSTER_ID is not")
        if self.client_id and not self.cluster_id and not self.authorization_server_url:
            raise ValueError("ZEEBE_AUTHORIZATION_SERVER_URL is required when ZEEBE_CLIENT_ID is set")
        if self.ca_certificate_path is not None:
            if not self.ca_certificate_path.is_file():
                raise ValueError(f"ZEEBE_CA_CERTIFICATE_PATH: no such file: {self.ca_certificate_path}")
            if self.insecure_connection:
                raise ValueError("ZEEBE_CA_CERTIFICATE_PATH is set but ZEEBE_INSECURE_CONNECTION=true disables TLS")
        if self.authorization_server_url and not self.authorization_server_url.startswith(("https://", "http://")):
            raise ValueError("ZEEBE_AUTHORIZATION_SERVER_URL must be an http(s) URL")
        return self

    def _consistent_sdk_names(self) -> None:
        """The Python Camunda SDK's variables (CAMUNDA_CONNECTION_TYPE, ZEEBE_HOSTNAME ...) agree with the rest."""

        def named(field: str) -> str:
            return variable_name(ZeebeSettings, field, {})

        if (
            self.hostname
            and ":" in self.hostname
            and not (self.hostname.startswith("[") and self.hostname.endswith("]"))
        ):
            raise ValueError(f"{named('hostname')} must be a host name without a port; set the port in {named('port')}")
        if self.port is not None and not self.hostname:
            raise ValueError(f"{named('port')} is set but {named('hostname')} is not")
        if self.hostname and self.address and self.address != self.hostname_address:
            raise ValueError(
                f"{named('hostname')}/{named('port')} ({self.hostname_address}) contradicts "
                f"{named('address')} ({self.address}); set one of them"
            )
        if self.connection_type == "CAMUNDA_CLOUD":
            if not self.cluster_id:
                raise ValueError("CAMUNDA_CLUSTER_ID is required with CAMUNDA_CONNECTION_TYPE=CAMUNDA_CLOUD")
            if not self.client_id or self.client_secret is None:
                raise ValueError(
                    "CAMUNDA_CLIENT_ID and CAMUNDA_CLIENT_SECRET are required with "
                    "CAMUNDA_CONNECTION_TYPE=CAMUNDA_CLOUD"
                )
            if self.insecure_connection:
                raise ValueError(
                    f"{named('insecure_connection')}=true contradicts CAMUNDA_CONNECTION_TYPE=CAMUNDA_CLOUD"
                )
            if self.hostname:
                raise ValueError(f"{named('hostname')} is for INSECURE; CAMUNDA_CLOUD derives the address")
            if self.address:
                raise ValueError(
                    f"{named('address')} contradicts CAMUNDA_CONNECTION_TYPE=CAMUNDA_CLOUD, which derives the "
                    "address from CAMUNDA_CLUSTER_ID; set one of them"
                )
        elif self.connection_type == "INSECURE":
            if self.cluster_id:
                raise ValueError("CAMUNDA_CLUSTER_ID is set but CAMUNDA_CONNECTION_TYPE=INSECURE is not Camunda SaaS")
            if not self.hostname and not self.address:
                raise ValueError(f"{named('hostname')} is required with CAMUNDA_CONNECTION_TYPE=INSECURE")
            if self.insecure_connection is False:
                raise ValueError(f"{named('insecure_connection')}=false contradicts CAMUNDA_CONNECTION_TYPE=INSECURE")
            self.insecure_connection = True

    @property
    def hostname_address(self) -> str | None:
        """``ZEEBE_HOSTNAME:ZEEBE_PORT`` (port 26500 when unset), or None without a host name."""
        if not self.hostname:
            return None
        return f"{self.hostname}:{self.port or 26500}"

    @property
    def gateway_address(self) -> str:
        """The host:port to dial: the explicit address, ZEEBE_HOSTNAME:ZEEBE_PORT, the SaaS address, or
        localhost:26500."""
        if self.address:
            return self.address
        if self.hostname_address:
            return self.hostname_address
        if self.cluster_id:
            return f"{self.cluster_id}.{self.cluster_region or SAAS_DEFAULT_REGION}.zeebe.camunda.io:443"
        return "localhost:26500"

    @property
    def uses_tls(self) -> bool:
        """Whether the channel is encrypted; TLS unless turned off, or unset on a loopback address."""
        if self.insecure_connection is None:
            return not _is_loopback(self.gateway_address) or self.ca_certificate_path is not None
        return not self.insecure_connection

    @property
    def uses_oauth(self) -> bool:
        return bool(self.client_id)

    @property
    def oauth_url(self) -> str:
        return self.authorization_server_url or SAAS_AUTHORIZATION_SERVER_URL

    @property
    def oauth_audience(self) -> str:
        """The token audience: explicit, the SaaS audience, or the gateway's host name."""
        if self.token_audience:
            return self.token_audience
        if self.cluster_id:
            return SAAS_TOKEN_AUDIENCE
        return self.gateway_address.rsplit(":", 1)[0]


def redact_url(url: str) -> str:
    """``url`` with the password of its user part masked (``redis://:***@host:6379/0``), for reprs and logs; each
    part of a ``;``-separated list (Sentinels, failover brokers) on its own."""
    if ";" in url:
        return ";".join(redact_url(part) for part in url.split(";"))
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<a URL that cannot be read>"
    if not password:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class BridgeSettings(BaseSettings):
    """The bridge's own options, read from ``ZEEBE_CELERY_*`` variables. Its repr masks the passwords in
    the broker and Redis URLs."""

    model_config = SettingsConfigDict(
        env_prefix="ZEEBE_CELERY_", env_file=".env", extra="ignore", populate_by_name=True
    )

    broker_url: str | None = Field(
        default=None, description="the Celery broker; defaults to the Celery app's own broker_url"
    )
    redis_url: str | None = Field(
        default=None, description="Redis for flow control; defaults to the Celery broker when it is Redis"
    )
    queue_prefix: str = Field(default="zeebe.", description="queue name = prefix + job type")

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, redact_url(value) if name in ("broker_url", "redis_url") and value else value

    max_jobs: int = Field(default=32, gt=0, description="per-type bound of jobs queued or running")
    job_timeout: Duration = Field(default=300.0, gt=0, description="default job activation timeout")
    retry_backoff: Duration = Field(default=0.0, description="default back-off when a handler fails")
    poll_timeout: Duration = Field(default=10.0, gt=0, description="ActivateJobs long-poll request timeout")
    worker_name: str | None = Field(default=None, description="worker name sent to Zeebe; host:pid if unset")
    stream: bool = Field(default=False, description="also take pushed jobs over StreamActivatedJobs")
    tenant_filter: Literal["provided", "assigned"] = Field(
        default="provided",
        description="activate the jobs of the listed tenants (provided) or of the client's assigned ones (8.9)",
    )
    http_port: int | None = Field(default=None, ge=0, le=65535, description="/healthz and /metrics port")
    http_host: str = Field(
        default="127.0.0.1", min_length=1, description="/healthz and /metrics address; 0.0.0.0 in a container"
    )
    log_format: Literal["text", "json"] = Field(default="text")
    log_level: str = Field(default="INFO")
    report_budget: Duration = Field(
        default=60.0, gt=0, description="longest time a worker retries one report (capped by the deadline)"
    )
    report_concurrency: int = Field(
        default=1,
        ge=1,
        le=256,
        description="reports a worker process keeps in flight; 1 reports before the task ends",
    )
    batch_size: int = Field(
        default=1,
        ge=1,
        le=1000,
        description="default jobs per Celery message (a type's batch= overrides it); 1 sends each job alone",
    )
    batch_concurrency: int = Field(
        default=32,
        ge=1,
        le=1000,
        description="async handlers of one batch running at once on a worker process's loop",
    )
    activation_threshold: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="share of a type's bound that must be free before the poller activates more jobs",
    )

    @model_validator(mode="after")
    def _consistent(self) -> BridgeSettings:
        if self.job_timeout < 1:
            raise ValueError("ZEEBE_CELERY_JOB_TIMEOUT must be at least 1s")
        if not self.queue_prefix.strip():
            raise ValueError("ZEEBE_CELERY_QUEUE_PREFIX must not be blank")
        if self.redis_url is not None and not is_redis_url(self.redis_url):
            raise ValueError(
                "ZEEBE_CELERY_REDIS_URL must be a redis://, rediss://, unix:// or sentinel:// URL "
                "(Redis Cluster cannot hold the flow-control sets)"
            )
        return self


def broker_url(bridge: BridgeSettings, app: Celery) -> str:
    """The Celery broker jobs are published to: ZEEBE_CELERY_BROKER_URL, else the app's own broker_url (a list
    of URLs, Celery's failover form, as its ``;``-separated text)."""
    configured = app.conf.broker_url
    if isinstance(configured, list | tuple):
        return bridge.broker_url or ";".join(str(url) for url in configured)
    return bridge.broker_url or str(configured or "")


def broker_redis_url(bridge: BridgeSettings, app: Celery) -> str | None:
    """The Celery broker's URL when that broker is Redis (or Redis behind Sentinel), else None."""
    url = broker_url(bridge, app)
    return url if is_redis_url(url) else None


def broker_redis(bridge: BridgeSettings, app: Celery) -> RedisLocation | None:
    """The Celery broker when it is Redis, with the app's transport options (a Sentinel's master name)."""
    url = broker_redis_url(bridge, app)
    if url is None:
        return None
    setting = "ZEEBE_CELERY_BROKER_URL" if bridge.broker_url else "the Celery app's broker_url"
    return RedisLocation(url, setting, dict(app.conf.broker_transport_options or {}))


def flow_control_redis(bridge: BridgeSettings, app: Celery) -> RedisLocation | None:
    """The Redis of the shared sets (flow control, activations): ZEEBE_CELERY_REDIS_URL, else the Celery
    broker when it is Redis; None when neither is."""
    if bridge.redis_url:
        return RedisLocation(bridge.redis_url)
    return broker_redis(bridge, app)


_S = TypeVar("_S", bound=BaseSettings)


def _name_like(field: str, sibling: str) -> str:
    """The variable of ZeebeSettings ``field`` to name: the one set, else the one of the family (ZEEBE_ or
    CAMUNDA_) the variable of ``sibling`` the user set belongs to."""
    names = env_names(ZeebeSettings, field)
    chosen = variable_name(ZeebeSettings, field, {})
    if chosen.upper() in {name.upper() for name in os.environ} | dotenv_names(ZeebeSettings, {}):
        return chosen
    family = variable_name(ZeebeSettings, sibling, {}).split("_", 1)[0] + "_"
    return next((name for name in names if name.startswith(family)), names[0])


def load_settings(cls: type[_S], **overrides: Any) -> _S:
    """Build ``cls`` from the environment, ``.env`` and ``overrides``.

    Raises ConfigurationError with one line per problem, each naming the variable to fix; the values
    themselves are never echoed, so a secret cannot leak into the message. Two spellings of one setting
    (ZEEBE_PORT and ZEBEE_PORT, ZEEBE_CLIENT_ID and CAMUNDA_CLIENT_ID) set to different values are such
    a problem.
    """
    contradictions = contradicting_aliases(cls, overrides)
    if contradictions:
        raise ConfigurationError("invalid settings:\n  " + "\n  ".join(contradictions))
    try:
        return cls(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_input=False, include_url=False):
            key = str(error["loc"][0]) if error["loc"] else ""
            if key:
                name = variable_name(cls, key, overrides)
                message = str(error["msg"]).removeprefix("Value error, ")
                lines.append(f"{name}: {message}")
            else:
                lines.append(str(error["msg"]).removeprefix("Value error, "))
        raise ConfigurationError("invalid settings:\n  " + "\n  ".join(lines)) from None
