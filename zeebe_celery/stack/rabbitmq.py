"""A real RabbitMQ node on 127.0.0.1 for tests, with its own node name, ports and data directory.

Stopping and starting again keeps the data directory, so durable queues (classic and quorum) come back with
their messages, as after a broker restart in production.

Each node gets an ``epmd`` (Erlang's port mapper) of its own, on a private port, started and stopped with the
node: the one ``rabbitmq-server`` would start by itself is a daemon that outlives the node, and a shared one on
port 4369 belongs to whoever started it first.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
import uuid
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Self

import amqp

from zeebe_celery.stack.process import (
    LOOPBACK,
    Launch,
    Service,
    StackError,
    await_ready,
    free_ports,
    launch,
    make_workdir,
    remove_workdir,
    terminate,
)

__all__ = ["RabbitMQServer"]

logger = logging.getLogger(__name__)

_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
_EPMD = "epmd"
_INSTALL_HINT = "install it with `apt-get install rabbitmq-server` (Debian/Ubuntu) or `brew install rabbitmq` (macOS)"


def _server_binary() -> str:
    # Debian's /usr/sbin/rabbitmq-server switches to the rabbitmq user, which drops the node's environment.
    if os.access(_SERVER, os.X_OK):
        return _SERVER
    found = shutil.which("rabbitmq-server")
    if found is None:
        raise StackError(f"rabbitmq-server not found; {_INSTALL_HINT}")
    return found


def _epmd_binary() -> str:
    found = shutil.which(_EPMD) or shutil.which(_EPMD, path="/usr/lib/erlang/bin")
    if found is None:
        raise StackError(f"epmd not found (it comes with Erlang, which rabbitmq-server needs); {_INSTALL_HINT}")
    return found


def _epmd_answers(port: int) -> Callable[[float], bool]:
    def answers(seconds_left: float) -> bool:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=max(0.1, min(1.0, seconds_left))):
                return True
        except OSError:
            return False

    return answers


class RabbitMQServer(Service):
    """A private RabbitMQ node bound to 127.0.0.1 (AMQP and Erlang distribution), user guest/guest.

    Its ports are picked free on the first :meth:`start` and kept, with its data directory, until
    :meth:`remove`: :meth:`stop` then :meth:`start` is a broker restart that keeps durable queues.
    """

    def __init__(self, *, startup_timeout: float = 120.0, stop_timeout: float = 30.0) -> None:
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout
        self._ports: tuple[int, int, int] | None = None
        self._home: Path | None = None
        self._node = f"zeebe-celery-{uuid.uuid4().hex[:8]}@localhost"
        self._launched: Launch | None = None

    @property
    def port(self) -> int:
        if self._ports is None:
            raise StackError("RabbitMQServer has no port yet: call start() first")
        return self._ports[0]

    @property
    def epmd_port(self) -> int:
        """The port of the node's own epmd."""
        if self._ports is None:
            raise StackError("RabbitMQServer has no port yet: call start() first")
        return self._ports[2]

    @property
    def pid(self) -> int:
        """The process id of the node's start script, whose descendants are the node."""
        if self._launched is None:
            raise StackError("RabbitMQServer is not running")
        return self._launched.pid

    @property
    def url(self) -> str:
        """``amqp://guest:guest@127.0.0.1:PORT//``, the URL Celery takes."""
        return f"amqp://guest:guest@{LOOPBACK}:{self.port}//"

    def start(self) -> Self:
        """Start the node and return once it takes AMQP connections; a running node is left as it is.

        Raises StackError if rabbitmq-server is missing, exits, or does not answer in time.
        """
        if self.running:
            return self
        self.stop()
        binary = _server_binary()
        if self._ports is None:
            amqp_port, dist_port, epmd_port = free_ports(3)
            self._ports = (amqp_port, dist_port, epmd_port)
        if self._home is None:
            self._home = make_workdir("zeebe-celery-rabbitmq-")
        amqp_port, dist_port, epmd_port = self._ports
        home = self._home
        (home / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = {LOOPBACK}:{amqp_port}\nloopback_users = none\n", encoding="utf-8"
        )
        (home / "enabled_plugins").write_text("[].\n", encoding="utf-8")
        env = {
            **os.environ,
            "HOME": str(home),  # the node's own Erlang cookie
            "RABBITMQ_NODENAME": self._node,
            "RABBITMQ_NODE_IP_ADDRESS": LOOPBACK,
            "RABBITMQ_NODE_PORT": str(amqp_port),
            "RABBITMQ_DIST_PORT": str(dist_port),
            "RABBITMQ_MNESIA_BASE": str(home / "mnesia"),
            "RABBITMQ_LOG_BASE": str(home / "log"),
            "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(home / "rabbitmq.pid"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_ADDRESS": LOOPBACK,
            "ERL_EPMD_PORT": str(epmd_port),
        }
        started = time.monotonic()
        run = home / f"run-{uuid.uuid4().hex[:6]}"
        run.mkdir()
        # The node's own epmd, not a daemon: it is in a process group of its own, stopped after the node.
        epmd = launch(
            [_epmd_binary(), "-port", str(epmd_port), "-address", LOOPBACK],
            env=env,
            workdir=run,
            log_path=run / "epmd.log",
        )
        launched: Launch | None = None
        try:
            await_ready(epmd, _epmd_answers(epmd_port), name="epmd", timeout=self._startup_timeout)
            launched = launch([binary], env=env, workdir=run, log_path=run / "rabbitmq.log")
        finally:
            if launched is None:
                _shut_down(None, epmd, self._stop_timeout)
        finalizer = weakref.finalize(self, _shut_down, launched, epmd, self._stop_timeout)
        try:
            await_ready(launched, self._answers, name="rabbitmq-server", timeout=self._startup_timeout)
        except BaseException:
            finalizer()
            raise
        self._launched, self._finalizer = launched, finalizer
        logger.info("rabbitmq-server ready at %s:%s in %.1fs", LOOPBACK, amqp_port, time.monotonic() - started)
        return self

    def _answers(self, seconds_left: float) -> bool:
        timeout = max(0.1, min(2.0, seconds_left))
        # guest/guest is RabbitMQ's own default user of a fresh node, reachable here on loopback only.
        connection = amqp.Connection(
            f"{LOOPBACK}:{self.port}",
            userid="guest",
            password="guest",  # noqa: S106
            connect_timeout=timeout,
        )
        try:
            connection.connect()
        except (OSError, amqp.exceptions.AMQPError):
            return False
        connection.close()
        return True

    def ctl(self, *args: str, timeout: float = 60.0) -> str:
        """Run ``rabbitmqctl`` against this node (``set_policy``, ``list_queues`` ...); returns its output.

        Raises StackError when it fails.
        """
        if not self.running or self._home is None or self._ports is None:
            raise StackError("RabbitMQServer is not running")
        ctl = str(Path(_server_binary()).with_name("rabbitmqctl"))
        env = {
            **os.environ,
            "HOME": str(self._home),
            "RABBITMQ_NODENAME": self._node,
            "ERL_EPMD_ADDRESS": LOOPBACK,
            "ERL_EPMD_PORT": str(self._ports[2]),
        }
        done = subprocess.run(
            [ctl, "-n", self._node, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise StackError(f"rabbitmqctl {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def remove(self) -> None:
        """Stop the node and delete its data directory."""
        self.stop()
        if self._home is not None:
            remove_workdir(self._home)
            self._home = None

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


def _shut_down(launched: Launch | None, epmd: Launch, grace: float) -> None:
    if launched is not None:
        terminate(launched, grace)
    terminate(epmd, grace)
    remove_workdir(epmd.workdir)
