"""Where one of the bridge's Redis is, and a client for it: a server, or a master behind Redis Sentinel.

A server is named by a ``redis://``, ``rediss://`` or ``unix://`` URL. A master behind Sentinel is named as
Celery names it, ``sentinel://[:password@]host:26379[/db];sentinel://host2:26379``, one part per Sentinel,
with the master's name in Celery's ``broker_transport_options["master_name"]`` (and the Sentinels' own
credentials, if any, in ``broker_transport_options["sentinel_kwargs"]``). A URL that is not the Celery
broker's, such as ``ZEEBE_CELERY_REDIS_URL``, gives the master's name as a ``master_name`` query parameter:
``sentinel://h1:26379;sentinel://h2:26379/0?master_name=mymaster``.

Redis Cluster cannot hold the bridge's lists and scripts (nor can Celery use it as a broker):
:func:`refuse_cluster` refuses it at start, naming the setting.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.sentinel import Sentinel

from zeebe_celery.errors import ConfigurationError

logger = logging.getLogger(__name__)

__all__ = ["SERVER_SCHEMES", "RedisLocation", "connect", "is_redis_url", "refuse_a_cluster", "refuse_cluster"]

SERVER_SCHEMES = ("redis", "rediss", "unix")
SENTINEL_SCHEME = "sentinel"


def is_redis_url(url: str) -> bool:
    """Whether ``url`` names a Redis server or a master behind Sentinel."""
    return url.partition("://")[0] in (*SERVER_SCHEMES, SENTINEL_SCHEME) and "://" in url


@dataclass(frozen=True)
class RedisLocation:
    """A Redis ``url``, the ``setting`` it came from (named in errors), and Celery's transport ``options``
    that go with it when it is the broker's (``master_name``, ``sentinel_kwargs``)."""

    url: str
    setting: str = "ZEEBE_CELERY_REDIS_URL"
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_sentinel(self) -> bool:
        return self.url.startswith(f"{SENTINEL_SCHEME}://")

    def connect(self, **client_options: Any) -> redis.Redis:
        """A client (it connects on first use); ``client_options`` are redis-py's (socket timeouts ...).

        Raises ConfigurationError, naming the setting, for a URL that names no Redis the bridge can use.
        """
        if not is_redis_url(self.url):
            scheme = self.url.partition("://")[0] if "://" in self.url else "no scheme"
            raise ConfigurationError(
                f"{self.setting}: {scheme} is not a Redis URL; use redis://, rediss://, unix:// or sentinel://"
            )
        if self.is_sentinel:
            return self._sentinel_master(client_options)
        try:
            return redis.Redis.from_url(self.url, **client_options)
        except ValueError as exc:
            raise ConfigurationError(f"{self.setting}: {exc}") from None

    def _sentinel_master(self, client_options: Mapping[str, Any]) -> redis.Redis:
        sentinels: list[tuple[str, int]] = []
        master: dict[str, Any] = {}
        query: dict[str, list[str]] = {}
        for part in self.url.split(";"):
            try:
                parts = urlsplit(part.strip())
                port = parts.port or 26379
            except ValueError as exc:
                raise ConfigurationError(f"{self.setting}: {exc}") from None
            if parts.scheme != SENTINEL_SCHEME or not parts.hostname:
                raise ConfigurationError(f"{self.setting}: each part must be sentinel://host:port, separated by ';'")
            sentinels.append((parts.hostname, port))
            if parts.password is not None and "password" not in master:
                master["password"] = unquote(parts.password)
                if parts.username:
                    master["username"] = unquote(parts.username)
            database = parts.path.strip("/")
            if database and "db" not in master:
                if not database.isdigit():
                    raise ConfigurationError(f"{self.setting}: the database must be a number, got {database!r}")
                master["db"] = int(database)
            for key, values in parse_qs(parts.query).items():
                query.setdefault(key, values)
        named = query.get("master_name")
        name = named[0] if named else self.options.get("master_name")
        if not name:
            raise ConfigurationError(
                f"{self.setting}: a sentinel:// URL needs the master's name: the master_name query parameter, "
                "or broker_transport_options['master_name'] for the Celery broker"
            )
        sentinel_kwargs = cast("dict[str, Any] | None", self.options.get("sentinel_kwargs"))
        manager = Sentinel(
            sentinels,
            min_other_sentinels=int(self.options.get("min_other_sentinels", 0)),
            sentinel_kwargs=dict(sentinel_kwargs) if sentinel_kwargs else None,
            **client_options,
        )
        return cast("redis.Redis", manager.master_for(str(name), redis_class=redis.Redis, **master))


def connect(where: str | RedisLocation, **client_options: Any) -> redis.Redis:
    """A client for ``where`` (a URL of ZEEBE_CELERY_REDIS_URL's, or a location); see :meth:`RedisLocation.connect`."""
    location = where if isinstance(where, RedisLocation) else RedisLocation(where)
    return location.connect(**client_options)


def refuse_cluster(client: redis.Redis, setting: str) -> None:
    """Raise ConfigurationError, naming ``setting``, when ``client``'s Redis is a node of a Redis Cluster.

    The bridge's scripts touch keys that a cluster spreads over nodes, and Celery cannot use a cluster as its
    broker. Raises redis.RedisError when the server cannot be reached.
    """
    info = client.info("cluster")
    if int(info.get("cluster_enabled", 0)):
        raise ConfigurationError(
            f"{setting}: this Redis is a Redis Cluster node, which the bridge cannot use (nor can Celery, as its "
            "broker); use a single Redis, or one behind Sentinel (sentinel://)"
        )


def refuse_a_cluster(location: RedisLocation) -> None:
    """At start: raise ConfigurationError, naming the setting, when ``location`` is a Redis Cluster node.

    A Redis that cannot be reached yet is only warned about: the poller and the workers wait for it as for any
    outage (and cannot tell a cluster node then). The connection is closed before returning, so nothing is
    shared with a worker's forked pool.
    """
    client = location.connect(socket_timeout=2, socket_connect_timeout=2)
    try:
        refuse_cluster(client, location.setting)
    except redis.RedisError as error:
        logger.warning("%s cannot be reached yet: %s", location.setting, error)
    finally:
        client.close()
