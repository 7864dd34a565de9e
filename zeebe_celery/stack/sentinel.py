"""A Redis that fails over, on 127.0.0.1, for tests: a master, its replicas, and Sentinels watching them.

::

    with RedisSentinels() as group:
        app.conf.broker_url = group.url
        app.conf.broker_transport_options = {"master_name": group.master_name}
        ...
        group.fail_over()  # the master killed with SIGKILL; the Sentinels promote a replica

:attr:`RedisSentinels.url` is the ``sentinel://`` URL Celery takes; :attr:`RedisSentinels.bridge_url` carries
the master's name too, as ``ZEEBE_CELERY_REDIS_URL`` takes it.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import weakref
from types import TracebackType
from typing import Any, Self

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from zeebe_celery.stack.process import (
    LOOPBACK,
    Launch,
    StackError,
    await_ready,
    free_ports,
    launch,
    make_workdir,
    remove_workdir,
    terminate,
)
from zeebe_celery.stack.redis import RedisServer

__all__ = ["RedisSentinels"]

logger = logging.getLogger(__name__)

_PROBE_TIMEOUT = 1.0
_POLL = 0.1


def _client(port: int, timeout: float = _PROBE_TIMEOUT) -> redis.Redis:
    return redis.Redis(
        host=LOOPBACK, port=port, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )


def _sentinel_binary() -> str:
    """``redis-sentinel`` (Debian's package) when installed, else ``redis-server``, which runs one too."""
    for name in ("redis-sentinel", "redis-server"):
        found = shutil.which(name)
        if found is not None:
            return found
    raise StackError("neither redis-sentinel nor redis-server was found; install them: apt-get install redis-sentinel")


class _Sentinel:
    """One Sentinel process watching ``master_name``."""

    def __init__(self, port: int, master_name: str, master_port: int, *, quorum: int, down_after_ms: int) -> None:
        self.port = port
        workdir = make_workdir("zeebe-celery-sentinel-")
        config = workdir / "sentinel.conf"
        # Sentinel rewrites its configuration file as it learns the group, so it must be its own, writable.
        config.write_text(
            f"port {port}\nbind {LOOPBACK}\ndaemonize no\ndir {workdir}\n"
            f"sentinel monitor {master_name} {LOOPBACK} {master_port} {quorum}\n"
            f"sentinel down-after-milliseconds {master_name} {down_after_ms}\n"
            f"sentinel failover-timeout {master_name} {down_after_ms * 5}\n"
            f"sentinel parallel-syncs {master_name} 1\n",
            encoding="utf-8",
        )
        try:
            self._launched: Launch = launch(
                [_sentinel_binary(), str(config), "--sentinel"],
                env=os.environ,
                workdir=workdir,
                log_path=workdir / "sentinel.log",
            )
        except BaseException:
            remove_workdir(workdir)
            raise
        self._finalizer = weakref.finalize(self, _shut_down, self._launched)
        try:
            await_ready(self._launched, self._answers, name="redis-sentinel", timeout=30.0)
        except BaseException:
            self._finalizer()
            raise

    def _answers(self, seconds_left: float) -> bool:
        client = _client(self.port, max(0.01, min(_PROBE_TIMEOUT, seconds_left)))
        try:
            return bool(client.info("server").get("process_id") == self._launched.pid)
        except redis.RedisError:
            return False
        finally:
            client.close()

    def ask(self, *command: Any) -> Any:
        client = _client(self.port)
        try:
            return client.execute_command(*command)  # type: ignore[no-untyped-call]
        finally:
            client.close()

    def stop(self) -> None:
        self._finalizer()


def _shut_down(launched: Launch) -> None:
    terminate(launched, 10.0)
    remove_workdir(launched.workdir)


class RedisSentinels:
    """A master with ``replicas`` replicas and ``sentinels`` Sentinels, all on 127.0.0.1, without persistence.

    :meth:`start` returns once the replicas copy the master and every Sentinel knows the replicas and the
    other Sentinels, so a failover can happen at once. Raises StackError when a server cannot start.
    """

    def __init__(
        self,
        *,
        master_name: str = "zeebe-celery",
        replicas: int = 1,
        sentinels: int = 2,
        down_after_ms: int = 1000,
        startup_timeout: float = 60.0,
    ) -> None:
        if replicas < 1 or sentinels < 1:
            raise ValueError("a group that can fail over needs at least one replica and one Sentinel")
        self.master_name = master_name
        self._replica_count = replicas
        self._sentinel_count = sentinels
        self._down_after_ms = down_after_ms
        self._startup_timeout = startup_timeout
        self.servers: list[RedisServer] = []
        self._sentinels: list[_Sentinel] = []

    @property
    def url(self) -> str:
        """The ``sentinel://`` URL Celery takes, one part per Sentinel (the master's name goes in
        ``broker_transport_options``)."""
        if not self._sentinels:
            raise StackError("RedisSentinels has not started")
        return ";".join(f"sentinel://{LOOPBACK}:{s.port}" for s in self._sentinels)

    @property
    def bridge_url(self) -> str:
        """The URL as ``ZEEBE_CELERY_REDIS_URL`` takes it: with database 0 and the master's name."""
        return f"{self.url}/0?master_name={self.master_name}"

    @property
    def transport_options(self) -> dict[str, Any]:
        return {"master_name": self.master_name}

    def start(self) -> Self:
        started = time.monotonic()
        try:
            master = RedisServer().start()
            self.servers.append(master)
            for _ in range(self._replica_count):
                self.servers.append(RedisServer(args=["--replicaof", LOOPBACK, str(master.port)]).start())
            deadline = time.monotonic() + self._startup_timeout
            for replica in self.servers[1:]:
                self._await(deadline, lambda r=replica: _replication_up(r.port), "a replica to copy the master")
            quorum = self._sentinel_count // 2 + 1
            for port in free_ports(self._sentinel_count):
                self._sentinels.append(
                    _Sentinel(port, self.master_name, master.port, quorum=quorum, down_after_ms=self._down_after_ms)
                )
            for sentinel in self._sentinels:
                self._await(deadline, lambda s=sentinel: self._knows_the_group(s), "the Sentinels to know the group")
        except BaseException:
            self.stop()
            raise
        logger.info("Redis behind %d Sentinels ready in %.1fs", len(self._sentinels), time.monotonic() - started)
        return self

    def _knows_the_group(self, sentinel: _Sentinel) -> bool:
        try:
            replicas = sentinel.ask("SENTINEL", "REPLICAS", self.master_name)
            others = sentinel.ask("SENTINEL", "SENTINELS", self.master_name)
        except redis.RedisError:
            return False
        return len(replicas) >= self._replica_count and len(others) >= self._sentinel_count - 1

    @staticmethod
    def _await(deadline: float, condition: Any, what: str) -> None:
        while not condition():
            if time.monotonic() > deadline:
                raise StackError(f"timed out waiting for {what}")
            time.sleep(_POLL)

    def master_port(self) -> int:
        """The port of the master, as the first Sentinel that answers sees it."""
        for sentinel in self._sentinels:
            try:
                _host, port = sentinel.ask("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master_name)
            except (redis.RedisError, TypeError, ValueError):
                continue
            return int(port)
        raise StackError("no Sentinel answers")

    def master(self) -> RedisServer:
        port = self.master_port()
        return next(server for server in self.servers if server.port == port)

    def fail_over(self, *, timeout: float = 60.0) -> RedisServer:
        """Kill the master with SIGKILL and return the replica the Sentinels promote, once it serves as master.

        Raises StackError when no replica is promoted within ``timeout`` seconds.
        """
        old = self.master()
        old.kill()
        deadline = time.monotonic() + timeout
        self._await(deadline, lambda: self.master_port() != old.port, "the Sentinels to promote a replica")
        new = self.master()
        self._await(deadline, lambda: _role(new.port) == "master", "the promoted replica to serve as master")
        logger.info("Redis master failed over from port %s to %s", old.port, new.port)
        return new

    def stop(self) -> None:
        for sentinel in self._sentinels:
            sentinel.stop()
        for server in self.servers:
            server.stop()
        self._sentinels.clear()
        self.servers.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def _role(port: int) -> str | None:
    client = _client(port)
    try:
        return str(client.info("replication").get("role"))
    except redis.RedisError:
        return None
    finally:
        client.close()


def _replication_up(port: int) -> bool:
    client = _client(port)
    try:
        return client.info("replication").get("master_link_status") == "up"
    except redis.RedisError:
        return False
    finally:
        client.close()
