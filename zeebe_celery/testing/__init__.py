"""Real services for tests: a Zeebe broker and a Redis server on 127.0.0.1, and a pytest plugin.

::

    from zeebe_celery.testing import RedisServer, ZeebeBroker

    with ZeebeBroker() as broker, RedisServer() as redis:
        ...  # broker.address is "127.0.0.1:PORT", redis.url is "redis://127.0.0.1:PORT/0"

The plugin (:mod:`zeebe_celery.testing.plugin`, registered with pytest on install) offers the
session fixtures ``zeebe_broker``, ``zeebe_address``, ``redis_server`` and ``redis_url``.
"""

from zeebe_celery.stack.process import StackError
from zeebe_celery.stack.redis import RedisServer
from zeebe_celery.testing.zeebe import (
    MIN_JAVA_VERSION,
    ZEEBE_VERSION,
    ZeebeBroker,
    ensure_distribution,
    find_java_home,
    java_version,
)

__all__ = [
    "MIN_JAVA_VERSION",
    "ZEEBE_VERSION",
    "RedisServer",
    "StackError",
    "ZeebeBroker",
    "ensure_distribution",
    "find_java_home",
    "java_version",
]
