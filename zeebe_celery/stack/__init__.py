"""The services that shipped code starts: Redis, the demo fleet, the engine, and the process helpers.

The dev stack (``zeebe-celery dev``), the demo, the pytest plugin and the benchmarks start them; the bridge
itself never does. :mod:`zeebe_celery.stack.process` holds what every launcher shares: free ports, a
process in its own session with its log, readiness probes and stopping.
"""

from zeebe_celery.errors import StackError
from zeebe_celery.stack.fleet import CeleryWorker, PollerProcess, stack_env
from zeebe_celery.stack.redis import RedisServer

__all__ = ["CeleryWorker", "PollerProcess", "RedisServer", "StackError", "stack_env"]
