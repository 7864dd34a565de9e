"""The worker's Redis transport: kombu's own, with the bridge's queues guarded against poison messages.

kombu's Redis transport parses each message it pops in the worker's main process, and Celery then reads
its headers there; a malformed one raises out of the event loop and stops the worker ("Unrecoverable
error"), and some go back on the queue first, so every fresh worker dies on them. The worker of an app with
``@zeebe_task`` handlers therefore consumes through :class:`Transport`: every message popped from a bridge
queue is checked (:func:`zeebe_celery.poison.inspect`) before kombu parses it, and a poison one is moved to
the queue's dead-letter list, logged once and counted, instead of reaching kombu, Celery or a handler.
Other queues are left as kombu has them.

The check sits on the transport's Redis client: kombu pops with BRPOP (read with ``parse_response``) in the
worker's event loop and with RPOP when polled, and both return the popped message to it.
"""

from __future__ import annotations

import base64
import functools
import logging
import ssl
from collections.abc import Callable, Collection, Mapping
from queue import Empty
from typing import TYPE_CHECKING, Any, cast

import redis
from kombu.transport import redis as kombu_redis

from zeebe_celery import metrics
from zeebe_celery.broker import AMQP_SCHEMES, broker_scheme
from zeebe_celery.config import BridgeSettings, flow_control_redis
from zeebe_celery.deadletter import DeadLetters
from zeebe_celery.poison import Poison, PoisonKind, inspect
from zeebe_celery.spec import resolve, zeebe_task_specs

if TYPE_CHECKING:
    from celery import Celery

__all__ = ["GuardedChannel", "GuardedSentinelChannel", "QueueGuard", "SentinelTransport", "Transport", "install"]

logger = logging.getLogger(__name__)

TRANSPORT = "zeebe_celery.transport:Transport"
SENTINEL_TRANSPORT = "zeebe_celery.transport:SentinelTransport"
AMQP_TRANSPORT = "zeebe_celery.transport_amqp:Transport"
AMQP_SSL_TRANSPORT = "zeebe_celery.transport_amqp:SSLTransport"
# The transport option that names the Redis of the dead-letter lists when the broker is not Redis.
DEAD_LETTER_URL_OPTION = "zeebe_celery_dead_letter_url"
# Transport options that carry the guard's settings from the app to each channel.
QUEUES_OPTION = "zeebe_celery_queues"
OTHERS_OPTION = "zeebe_celery_other_tasks"
PREFIX_OPTION = "zeebe_celery_queue_prefix"
# A message that could not even be set aside is logged whole up to this size, so a person can recover it.
_LOGGED_MESSAGE = 64 * 1024


class QueueGuard:
    """Lets job messages of the bridge's queues through and sets poison ones aside.

    ``queues`` maps each ``@zeebe_task`` queue to the task names it takes; any other queue named with
    ``prefix`` is a bridge queue that takes none. ``others`` are the app's other tasks, which may use the
    bridge's queues too (the inbound connectors' runs do) with plain task messages. ``sep`` is what kombu
    appends to a queue's name for its priority lists. ``client`` opens a Redis client to set messages aside
    with.
    """

    def __init__(
        self,
        queues: Mapping[str, Collection[str]],
        *,
        others: Collection[str] = (),
        prefix: str,
        sep: str,
        client: Callable[[], redis.Redis],
    ) -> None:
        self._queues = {queue: frozenset(tasks) for queue, tasks in queues.items()}
        self._others = frozenset(others)
        self._prefix = prefix
        self._sep = sep
        self._client = client

    def tasks_of(self, queue: str) -> frozenset[str] | None:
        """The task names ``queue`` takes, or None when it is not a bridge queue."""
        tasks = self._queues.get(queue)
        if tasks is None and self._prefix and queue.startswith(self._prefix):
            return frozenset()
        return tasks

    def admit(self, key: bytes | str, message: bytes | str) -> bool:
        """Whether ``message``, popped from the list ``key``, may go on to kombu; if not, it is set aside.

        A poison message that cannot be set aside is logged whole (in base64); raises redis.ConnectionError or
        redis.TimeoutError when that is because Redis cannot be reached.
        """
        name = key.decode(errors="replace") if isinstance(key, bytes) else key
        queue = name.split(self._sep, 1)[0] if self._sep else name
        tasks = self.tasks_of(queue)
        if tasks is None:
            return True
        try:
            poison = inspect(message, tasks=tasks, others=self._others)
        except Exception as error:  # noqa: BLE001 - whatever the check trips on, the worker must live
            poison = Poison(PoisonKind.BAD_ENVELOPE, f"unreadable: {type(error).__name__}: {error}")
        if poison is None:
            return True
        self._set_aside(queue, message if isinstance(message, bytes) else message.encode(), poison)
        return False

    def _set_aside(self, queue: str, message: bytes, poison: Poison) -> None:
        try:
            dead = DeadLetters(self._client()).set_aside(queue, message, kind=poison.kind, reason=poison.reason)
        except redis.RedisError as error:
            # Popped, and not set aside: the log is the only copy left.
            logger.error(
                "poison message on queue %s (%s) could not be set aside (%s); it was, in base64: %s",
                queue,
                poison.reason,
                error,
                base64.b64encode(message[:_LOGGED_MESSAGE]).decode("ascii"),
            )
            if isinstance(error, redis.ConnectionError | redis.TimeoutError):
                raise  # kombu reconnects, as for any lost connection
            return
        metrics.MESSAGES_DEAD_LETTERED.labels(queue, poison.kind).inc()
        logger.error("poison message on queue %s set aside in %s: %s", queue, dead, poison.reason)


class _GuardedClient(redis.Redis):
    """A Redis client whose pops from a bridge queue go through a :class:`QueueGuard` (set per subclass)."""

    guard: QueueGuard

    def parse_response(self, connection: Any, command_name: str | bytes, **options: Any) -> Any:
        response = super().parse_response(connection, command_name, **options)  # type: ignore[no-untyped-call]
        if command_name == "BRPOP" and response:
            key, message = response
            if not self.guard.admit(key, message):
                return None  # to kombu, an empty pop
        return response

    def rpop(self, name: Any, count: int | None = None) -> Any:
        popped = super().rpop(name, count)
        if count is None and isinstance(popped, bytes | str) and popped and not self.guard.admit(name, popped):
            return None
        return popped


def _guarded(factory: Any, guard: QueueGuard) -> Callable[..., redis.Redis]:
    """kombu's client class (or its partial, with a key prefix) with pops going through ``guard``."""
    base, args, keywords = (
        (factory.func, factory.args, factory.keywords) if isinstance(factory, functools.partial) else (factory, (), {})
    )
    guarded = type(f"Guarded{base.__name__}", (_GuardedClient, cast(type, base)), {"guard": guard})
    return functools.partial(guarded, *args, **keywords)


_GUARD_OPTIONS = (QUEUES_OPTION, OTHERS_OPTION, PREFIX_OPTION)


class _Guarding:
    """What a guarded channel adds to kombu's: the guard's settings, and a client class that pops through it."""

    zeebe_celery_queues: Mapping[str, Collection[str]] = {}
    zeebe_celery_other_tasks: Collection[str] = ()
    zeebe_celery_queue_prefix = ""
    # kombu's channel provides these (annotations only: a definition here would shadow kombu's).
    sep: str
    _create_client: Callable[..., redis.Redis]

    def _guard(self) -> QueueGuard:
        return QueueGuard(
            self.zeebe_celery_queues,
            others=self.zeebe_celery_other_tasks,
            prefix=self.zeebe_celery_queue_prefix,
            sep=self.sep,
            client=self._create_client,
        )


class GuardedChannel(_Guarding, kombu_redis.Channel):
    """kombu's Redis channel with the bridge's queues guarded (settings from the transport options)."""

    from_transport_options = (*kombu_redis.Channel.from_transport_options, *_GUARD_OPTIONS)  # type: ignore[assignment]

    def _get_client(self) -> Callable[..., redis.Redis]:
        return _guarded(super()._get_client(), self._guard())  # type: ignore[no-untyped-call]


class GuardedSentinelChannel(_Guarding, kombu_redis.SentinelChannel):
    """kombu's Sentinel channel (the master it finds through Sentinel) with the bridge's queues guarded."""

    from_transport_options = (  # type: ignore[assignment]
        *kombu_redis.SentinelChannel.from_transport_options,
        *_GUARD_OPTIONS,
    )

    def _get_client(self) -> Callable[..., redis.Redis]:
        return _guarded(super()._get_client(), self._guard())  # type: ignore[no-untyped-call]


# How soon a worker without an event loop looks again for a message once a pool slot may be free.
PAUSED_RECHECK = 0.01


class _PromptPoller(kombu_redis.MultiChannelPoller):
    """kombu's poller, ending a wait early while every pool slot is busy.

    With ``worker_disable_prefetch`` (which the bridge's worker turns on, see
    :func:`zeebe_celery.worker.fetch_only_when_free`) kombu stops popping while the pool is full. A worker
    without an event loop (the gevent and eventlet pools) drains events with a 2 s timeout and counts a
    finished task's slot free only between drains; with nothing to wait on, kombu's poller slept out that
    whole timeout: with a 50 ms handler on 16 greenlets, 8 jobs/s instead of ~300. While its pops are held
    back it now waits :data:`PAUSED_RECHECK` and ends the drain (``socket.timeout``, which Celery's loop
    expects), so the worker frees its slots and pops again at once.
    """

    def _held_back(self) -> bool:
        """Whether a consumer may not pop now (its pool is full) and no command is on its way to answer."""
        if any(kind != "BRPOP" or getattr(channel, "_in_poll", None) for channel, kind in self.fds.values()):
            return False
        consuming = [channel for channel in getattr(self, "_channels", ()) if channel.active_queues]
        return any(not channel.qos.can_consume() for channel in consuming)

    def get(self, callback: Any, timeout: float | None = None) -> Any:
        if self._held_back():
            try:
                return super().get(callback, PAUSED_RECHECK)  # type: ignore[no-untyped-call]
            except Empty:
                raise TimeoutError from None
        return super().get(callback, timeout)  # type: ignore[no-untyped-call]


class Transport(kombu_redis.Transport):
    """kombu's Redis transport, consuming through :class:`GuardedChannel` and polling promptly while the
    pool is full (:class:`_PromptPoller`)."""

    Channel = GuardedChannel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
        self.cycle = _PromptPoller()  # type: ignore[no-untyped-call, assignment]


class SentinelTransport(kombu_redis.SentinelTransport):
    """kombu's Sentinel transport, consuming through :class:`GuardedSentinelChannel` and polling promptly
    while the pool is full."""

    Channel = GuardedSentinelChannel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
        self.cycle = _PromptPoller()  # type: ignore[no-untyped-call, assignment]


def install(app: Celery, bridge: BridgeSettings) -> bool:
    """Make ``app``'s worker consume through :class:`Transport`, guarding the queues of its ``@zeebe_task``
    handlers; returns whether it could (a Redis broker, and no transport of the app's own)."""
    read_url = app.conf.broker_read_url or app.conf.broker_url
    url = (read_url[0] if read_url else "") if isinstance(read_url, list | tuple) else str(read_url or "")
    scheme = broker_scheme(url)
    # On AMQP the poison messages are set aside in flow control's Redis (ZEEBE_CELERY_REDIS_URL).
    dead_letters = flow_control_redis(bridge, app) if scheme in AMQP_SCHEMES else None
    if (scheme not in ("redis", "rediss", "sentinel") and dead_letters is None) or app.conf.broker_transport:
        logger.warning(
            "the bridge's queues are guarded against poison messages on a redis://, rediss://, sentinel://, "
            "amqp:// or amqps:// broker (with ZEEBE_CELERY_REDIS_URL for the dead-letter lists) only, with kombu's own "
            "transport; this worker's broker is %s://...",
            scheme or app.conf.broker_transport or "unknown",
        )
        return False
    queues: dict[str, list[str]] = {}
    for settled in resolve(zeebe_task_specs(app), bridge).values():
        queues.setdefault(settled.queue, []).append(settled.task_name)
    jobs = {name for names in queues.values() for name in names}
    # Celery's own tasks (celery.chain, celery.chord_unlock ...) have no business on a bridge queue.
    others = sorted(name for name in app.tasks if name not in jobs and not name.startswith("celery."))
    app.conf.broker_transport = {
        "sentinel": SENTINEL_TRANSPORT,
        "redis": TRANSPORT,
        "rediss": TRANSPORT,
        "amqps": AMQP_SSL_TRANSPORT,
    }.get(scheme, AMQP_TRANSPORT)
    app.conf.broker_transport_options = {
        **(app.conf.broker_transport_options or {}),
        QUEUES_OPTION: queues,
        OTHERS_OPTION: others,
        PREFIX_OPTION: bridge.queue_prefix,
        **({DEAD_LETTER_URL_OPTION: dead_letters.url} if dead_letters is not None else {}),
    }
    if scheme == "rediss" and not app.conf.broker_use_ssl and "ssl_" not in url:
        # kombu turns certificate checks off for a bare rediss:// URL; named as a transport of our own it would
        # not use TLS at all. Verify, as redis-py (and so the poller) does for the same URL.
        app.conf.broker_use_ssl = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    return True
