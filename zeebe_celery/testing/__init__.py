"""Real services for tests: the project's Zeebe-compatible engine and a Redis server on 127.0.0.1, and a
pytest plugin.

::

    from zeebe_celery.engine import ZeebeEngine
    from zeebe_celery.testing import RedisServer

    with ZeebeEngine() as engine, RedisServer() as redis:
        ...  # engine.address is "127.0.0.1:PORT", redis.url is "redis://127.0.0.1:PORT/0"

The plugin (:mod:`zeebe_celery.testing.plugin`, registered with pytest on install) offers the
session fixtures ``zeebe_engine``, ``zeebe_address``, ``zeebe_rest_address``, ``redis_server`` and ``redis_url``.
"""

from zeebe_celery.stack.process import StackError
from zeebe_celery.stack.redis import RedisServer

__all__ = ["RedisServer", "StackError"]
