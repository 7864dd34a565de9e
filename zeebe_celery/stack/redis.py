"""A real ``redis-server`` on 127.0.0.1 for tests, which can be stopped and started again on its port.

Stopping and starting again is how tests simulate a Redis outage under load: clients see the connection
refused, then the same URL works again.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote, urlencode

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from zeebe_celery.stack.process import (
    LOOPBACK,
    PORT_ATTEMPTS,
    Launch,
    PortClash,
    Service,
    StackError,
    await_ready,
    free_ports,
    launch,
    make_workdir,
    remove_workdir,
    terminate,
)

__all__ = ["RedisServer", "RedisTls"]

logger = logging.getLogger(__name__)

_INSTALL_HINT = (
    "install it with `apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS), "
    "or pass binary= the path of a redis-server"
)
# Per readiness probe; a local server that is up answers in microseconds.
_PING_TIMEOUT = 1.0


@dataclass(frozen=True)
class RedisTls:
    """PEM files for a Redis that serves TLS only: its certificate chain and key, and the CA clients trust."""

    certificate: Path
    private_key: Path
    ca: Path


class RedisServer(Service):
    """A private ``redis-server`` bound to 127.0.0.1, without persistence.

    With ``password`` it requires it (``requirepass``); with ``tls`` it serves TLS only on its port, and
    :attr:`url` is a ``rediss://`` URL that verifies the server against the CA.

    The port is picked free on the first :meth:`start` (or given as ``port``) and kept: after
    :meth:`stop`, :meth:`start` brings the server back on the same port, empty. A server that is left
    running is stopped when the object is collected or the interpreter exits.
    """

    def __init__(
        self,
        *,
        binary: str | os.PathLike[str] = "redis-server",
        port: int | None = None,
        startup_timeout: float = 30.0,
        stop_timeout: float = 10.0,
        args: Sequence[str] = (),
        password: str | None = None,
        tls: RedisTls | None = None,
    ) -> None:
        self._binary = binary
        self._password = password
        self._tls = tls
        self._port = port
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout
        self._args = tuple(args)
        self._launched: Launch | None = None
        self._finalizer: weakref.finalize[[Launch, float], RedisServer] | None = None

    @property
    def port(self) -> int:
        """The server's port; known once the server has started (or if it was given)."""
        if self._port is None:
            raise StackError("RedisServer has no port yet: call start() first")
        return self._port

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``, the URL Celery and redis-py take: with the password in it when one is
        required, and ``rediss://`` with the CA to verify against when the server serves TLS."""
        auth = f":{quote(self._password, safe='')}@" if self._password is not None else ""
        if self._tls is None:
            return f"redis://{auth}{LOOPBACK}:{self.port}/0"
        query = urlencode({"ssl_cert_reqs": "required", "ssl_ca_certs": str(self._tls.ca)})
        return f"rediss://{auth}{LOOPBACK}:{self.port}/0?{query}"

    def _server_args(self, port: int) -> list[str]:
        if self._tls is None:
            return ["--port", str(port)]
        return [
            "--port", "0",
            "--tls-port", str(port),
            "--tls-cert-file", str(self._tls.certificate),
            "--tls-key-file", str(self._tls.private_key),
            "--tls-ca-cert-file", str(self._tls.ca),
            "--tls-auth-clients", "no",
        ]  # fmt: skip

    def start(self) -> Self:
        """Start the server and return once it answers; a running server is left as it is.

        Raises StackError if redis-server is missing, exits, or does not answer in time.
        """
        if self.running:
            return self
        self.stop()  # reaps a server that died on its own
        binary = self._resolve_binary()
        # Once a port was given or used, it is kept: a restart must come back where clients expect it.
        attempts = 1 if self._port is not None else PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            port = self._port if self._port is not None else free_ports(1)[0]
            try:
                self._launch(binary, port)
            except PortClash:
                if attempt == attempts:
                    raise
                logger.info("Port %s was taken before redis-server bound it; drawing another", port)
                continue
            self._port = port
            return self
        raise AssertionError("unreachable: the last attempt returns or raises")

    @property
    def pid(self) -> int:
        """The running server's process id."""
        if self._launched is None:
            raise StackError("RedisServer is not running")
        return self._launched.pid

    def kill(self) -> None:
        """Kill the server with SIGKILL, as a crash would, losing what it held; :meth:`stop` then reaps it."""
        if self._launched is not None and self._launched.alive():
            os.kill(self._launched.pid, signal.SIGKILL)
            self._launched.process.wait()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<RedisServer {state} port={self._port}>"

    def _resolve_binary(self) -> str:
        found = shutil.which(os.fspath(self._binary))
        if found is None:
            raise StackError(f"redis-server not found (looked for {os.fspath(self._binary)!r}); {_INSTALL_HINT}")
        return found

    def _launch(self, binary: str, port: int) -> None:
        started = time.monotonic()
        workdir = make_workdir("zeebe-celery-redis-")
        # The password goes in a file of the server's own, not on its command line (which ps shows).
        config: list[str] = []
        if self._password is not None:
            secrets = workdir / "secrets.conf"
            secrets.touch(mode=0o600)
            quoted = self._password.replace("\\", "\\\\").replace('"', '\\"')
            secrets.write_text(f'requirepass "{quoted}"\n', encoding="utf-8")
            config = [str(secrets)]
        argv = [
            binary,
            *config,
            *self._server_args(port),
            "--bind", LOOPBACK,
            "--daemonize", "no",
            "--dir", str(workdir),
            # A test server keeps nothing: no snapshots, no append-only file.
            "--save", "",
            "--appendonly", "no",
            *self._args,
        ]  # fmt: skip
        try:
            launched = launch(argv, env=os.environ, workdir=workdir, log_path=workdir / "redis.log")
        except BaseException:
            remove_workdir(workdir)
            raise
        finalizer = weakref.finalize(self, _shut_down, launched, self._stop_timeout)
        try:
            probe = _Probe(port, launched.pid, password=self._password, tls=self._tls)
            await_ready(launched, probe, name="redis-server", timeout=self._startup_timeout)
        except BaseException:
            finalizer()
            raise
        self._launched, self._finalizer = launched, finalizer
        logger.info("redis-server ready at %s:%s in %.1fs", LOOPBACK, port, time.monotonic() - started)


class _Probe:
    """Answers whether the redis-server with process id ``pid`` serves ``port``."""

    def __init__(self, port: int, pid: int, *, password: str | None = None, tls: RedisTls | None = None) -> None:
        self._port = port
        self._pid = pid
        self._password = password
        self._tls = tls

    def __call__(self, seconds_left: float) -> bool:
        timeout = max(0.01, min(_PING_TIMEOUT, seconds_left))
        secure: dict[str, Any] = (
            {"ssl": True, "ssl_ca_certs": str(self._tls.ca), "ssl_cert_reqs": "required"} if self._tls else {}
        )
        client = redis.Redis(
            host=LOOPBACK,
            port=self._port,
            password=self._password,
            **secure,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            # One try per probe: the readiness loop is the retry.
            retry=Retry(NoBackoff(), 0),
        )
        try:
            # Another server may hold the port; only ours counts as ready.
            info = client.info("server")
        except redis.RedisError:
            return False
        finally:
            client.close()
        return bool(info.get("process_id") == self._pid)


def _shut_down(launched: Launch, grace: float) -> None:
    terminate(launched, grace)
    remove_workdir(launched.workdir)
    logger.debug("redis-server pid %s stopped", launched.pid)
