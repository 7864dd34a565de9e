"""A TCP proxy on loopback that can cut the network: the link between the bridge and the engine.

It runs an asyncio loop in a thread of its own. :meth:`CutProxy.cut` blackholes the link for a while, the
way a failed switch or a router that lost its connection table does: every connection open at that moment
is dead for good (bytes sent either way vanish, and nobody is told: no FIN, no reset), and connections made
during the cut reach nobody until the link is back. Only the client can find out that its connection is
dead, by a keepalive ping that gets no answer; it must then give the connection up and dial again.

Each connection's life is recorded, so a test can tell when the client gave a dead connection up.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field

from zeebe_celery.stack.process import LOOPBACK

__all__ = ["Connection", "CutProxy"]

_CHUNK = 65536


@dataclass
class Connection:
    """One proxied connection: when it opened, when the cut killed it, and when its client closed it."""

    opened: float
    killed: float | None = None
    client_closed: float | None = None


@dataclass
class CutProxy:
    """Listens on 127.0.0.1 (a free port) and forwards every connection to ``target_port``."""

    target_port: int
    port: int = 0
    connections: list[Connection] = field(default_factory=list)
    cuts: list[tuple[float, float]] = field(default_factory=list)
    """(start, end) of every cut, in epoch seconds."""
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _link_up: asyncio.Event | None = None
    _server: asyncio.Server | None = None

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def start(self) -> CutProxy:
        ready = threading.Event()
        loop = self._loop = asyncio.new_event_loop()

        async def serve() -> None:
            self._link_up = asyncio.Event()
            self._link_up.set()
            self._server = await asyncio.start_server(self._accept, LOOPBACK, self.port)
            self.port = int(self._server.sockets[0].getsockname()[1])
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(serve())
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="cut-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the proxy did not start")
        return self

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return

        async def close() -> None:
            if self._server is not None:
                self._server.close()
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        loop.close()

    def cut(self, seconds: float) -> None:
        """Blackhole the link now, for ``seconds``; returns at once. Open connections stay dead."""
        assert self._loop is not None
        now = time.time()
        self.cuts.append((now, now + seconds))
        self._loop.call_soon_threadsafe(self._go_down, now, seconds)

    def _go_down(self, now: float, seconds: float) -> None:
        assert self._link_up is not None
        assert self._loop is not None
        for connection in self.connections:
            if connection.client_closed is None and connection.killed is None:
                connection.killed = now
        self._link_up.clear()
        self._loop.call_later(seconds, self._link_up.set)

    def killed(self) -> list[Connection]:
        """The connections a cut killed."""
        return [c for c in self.connections if c.killed is not None]

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        record = Connection(opened=time.time())
        self.connections.append(record)
        assert self._link_up is not None
        writers = [client_writer]
        try:
            # A connection made during a cut reaches nobody until the link is back.
            await self._link_up.wait()
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(LOOPBACK, self.target_port)
            except OSError:
                record.client_closed = time.time()
                return
            writers.append(upstream_writer)
            pumps = {
                asyncio.create_task(self._pump(client_reader, upstream_writer, record, upward=True)),
                asyncio.create_task(self._pump(upstream_reader, client_writer, record, upward=False)),
            }
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in pumps:
                    task.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        except asyncio.CancelledError:
            pass  # the proxy stops
        finally:
            for writer in writers:
                with contextlib.suppress(Exception):
                    writer.close()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: Connection, *, upward: bool
    ) -> None:
        while True:
            try:
                data = await reader.read(_CHUNK)
            except OSError:
                data = b""
            if not data:
                if upward:
                    record.client_closed = time.time()
                    return
                if record.killed is None:
                    return
                # The engine closed a dead connection: its client is not told, and learns it by keepalive.
                await asyncio.Future()
            if record.killed is not None:
                continue  # read and dropped, so the client's giving up is seen at once
            try:
                writer.write(data)
                await writer.drain()
            except OSError:
                return
